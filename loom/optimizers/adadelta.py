"""Adadelta (Zeiler, 2012): step sizes from running averages of squared gradients and squared updates.

Example:
    >>> import torch
    >>> from loom.optimizers import Adadelta
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> _ = Adadelta(learning_rate=1.0).apply_gradients([(torch.tensor([1.0]), w)])
    >>> w.item() < 1.0
    True
"""

from __future__ import annotations

from typing import Any

import torch

from loom.optimizers.optimizer import Optimizer


class Adadelta(Optimizer):
    """As ``keras.optimizers.Adadelta``::

        acc_grad = rho * acc_grad + (1 - rho) * g**2
        delta = -sqrt(acc_delta + epsilon) * g / sqrt(acc_grad + epsilon)
        acc_delta = rho * acc_delta + (1 - rho) * delta**2
        w += learning_rate * delta

    Args:
        learning_rate: Defaults to 0.001 (Keras's default; the paper uses 1.0).
        rho: Decay rate of both averages. Defaults to 0.95.
        epsilon: Defaults to 1e-7.
        **kwargs: The base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
        >>> Adadelta().get_config()["rho"]
        0.95
    """

    _slots = {"accumulated_grad": 0.0, "accumulated_delta_var": 0.0}

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.95, epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.epsilon = epsilon

    def _update(self, params, grads, states, lr):
        rho = self.rho
        acc_grads, acc_deltas = states["accumulated_grad"], states["accumulated_delta_var"]
        self._average_squares_(acc_grads, grads, rho)
        numerators = torch._foreach_add(acc_deltas, self.epsilon)
        torch._foreach_sqrt_(numerators)
        denominators = torch._foreach_add(acc_grads, self.epsilon)
        torch._foreach_sqrt_(denominators)
        deltas = torch._foreach_mul(numerators, grads)
        torch._foreach_div_(deltas, denominators)
        self._average_squares_(acc_deltas, deltas, rho)
        self._add_scaled_(params, deltas, -lr)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"rho": self.rho, "epsilon": self.epsilon}
