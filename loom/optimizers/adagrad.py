"""Adagrad (Duchi et al., 2011): per-coordinate rates from the sum of squared gradients.

Example:
    >>> import torch
    >>> from loom.optimizers import Adagrad
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> _ = Adagrad(learning_rate=0.1).apply_gradients([(torch.tensor([1.0]), w)])
    >>> round(w.item(), 4)  # 1 - 0.1 * 1 / sqrt(0.1 + 1)
    0.9047
"""

from __future__ import annotations

from typing import Any

import torch

from loom.optimizers.optimizer import Optimizer


class Adagrad(Optimizer):
    """As ``keras.optimizers.Adagrad``: ``acc += g**2; w -= learning_rate * g / sqrt(acc + epsilon)``.

    Args:
        learning_rate: Defaults to 0.001.
        initial_accumulator_value: Starting value of the accumulators. Defaults to 0.1.
        epsilon: Defaults to 1e-7.
        **kwargs: The base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
        >>> Adagrad().get_config()["initial_accumulator_value"]
        0.1
    """

    _slots = {"accumulator": 0.1}

    def __init__(self, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def _active_slots(self) -> dict[str, float]:
        return {"accumulator": float(self.initial_accumulator_value)}

    def _update(self, params, grads, states, lr):
        accumulators = states["accumulator"]
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominators = torch._foreach_add(accumulators, self.epsilon)
        torch._foreach_sqrt_(denominators)
        self._addcdiv_scaled_(params, grads, denominators, -lr)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon}
