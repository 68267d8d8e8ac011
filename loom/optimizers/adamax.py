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

import torch

from loom.optimizers.adaptive_moments import AdaptiveMomentOptimizer


class Adamax(AdaptiveMomentOptimizer):
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
