"""Adamax: Adam with the infinity norm (Kingma & Ba, 2014, section 7).

Example:
    >>> import torch
    >>> from loom.optimizers import Adamax
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> _ = Adamax(learning_rate=0.1).apply_gradients([(torch.tensor([2.0]), w)])
    >>> round(w.item(), 4)
    0.9
"""

from __future__ import annotations

from typing import Any

import torch

from loom.optimizers.optimizer import Optimizer


class Adamax(Optimizer):
    """Adam's variant based on the infinity norm, as ``keras.optimizers.Adamax``.

    ::

        m = beta_1 * m + (1 - beta_1) * g
        u = max(beta_2 * u, |g|)
        w -= learning_rate * m / ((1 - beta_1**t) * (u + epsilon))

    Args:
        learning_rate: Defaults to 0.001.
        beta_1: Defaults to 0.9.
        beta_2: Defaults to 0.999.
        epsilon: Defaults to 1e-7.
        **kwargs: The base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
        >>> Adamax().get_config()["epsilon"]
        1e-07
    """

    _slots = {"momentum": 0.0, "norm": 0.0}

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _rates(self, lr, step, f):
        return (lr, float(f(1) - f(self.beta_1) ** f(step)))

    def _update(self, params, grads, states, lr, bias_correction):
        momentums, norms = states["momentum"], states["norm"]
        torch._foreach_lerp_(momentums, grads, 1 - self.beta_1)
        torch._foreach_mul_(norms, self.beta_2)
        torch._foreach_maximum_(norms, torch._foreach_abs(grads))
        denominators = torch._foreach_add(norms, self.epsilon)
        torch._foreach_mul_(denominators, bias_correction)
        self._addcdiv_scaled_(params, momentums, denominators, -lr)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
