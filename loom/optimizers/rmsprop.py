"""RMSprop (Hinton, Coursera lecture 6e) with Keras's epsilon inside the square root.

Example:
    >>> import torch
    >>> from loom.optimizers import RMSprop
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = RMSprop(learning_rate=0.01)
    >>> _ = opt.apply_gradients([(torch.tensor([2.0]), w)])
    >>> round(w.item(), 5)  # 1 - 0.01 * 2 / sqrt(0.1 * 4 + 1e-7)
    0.96838
"""

from __future__ import annotations

from typing import Any

import torch

from loom.optimizers.optimizer import Optimizer


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square of recent gradients, as ``keras.optimizers.RMSprop``.

    ::

        velocity = rho * velocity + (1 - rho) * g**2
        denominator = sqrt(velocity + epsilon)                        # centered=False
        denominator = sqrt(velocity - average_gradient**2 + epsilon)  # centered=True
        increment = learning_rate * g / denominator
        w -= increment                     # or, with momentum: m = momentum * m + increment; w -= m

    Args:
        learning_rate: Defaults to 0.001.
        rho: Decay of the squared-gradient average. Defaults to 0.9.
        momentum: Defaults to 0.0.
        epsilon: Added inside the square root. Defaults to 1e-7.
        centered: Normalise by the gradient's estimated variance. Defaults to False.
        **kwargs: The base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
        >>> RMSprop(centered=True).get_config()["rho"]
        0.9
    """

    _slots = {"velocity": 0.0, "momentum": 0.0, "average_gradient": 0.0}

    def __init__(self, learning_rate: Any = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def _active_slots(self) -> dict[str, float]:
        slots = {"velocity": 0.0}
        if self.momentum > 0:
            slots["momentum"] = 0.0
        if self.centered:
            slots["average_gradient"] = 0.0
        return slots

    def _update(self, params, grads, states, lr):
        rho = self.rho
        velocities = states["velocity"]
        self._average_squares_(velocities, grads, rho)
        denominators = torch._foreach_add(velocities, self.epsilon)
        if self.centered:
            averages = states["average_gradient"]
            torch._foreach_mul_(averages, rho)
            torch._foreach_add_(averages, grads, alpha=1 - rho)
            torch._foreach_addcmul_(denominators, averages, averages, value=-1)
        torch._foreach_sqrt_(denominators)
        if self.momentum > 0:
            momentums = states["momentum"]
            torch._foreach_mul_(momentums, self.momentum)
            self._addcdiv_scaled_(momentums, grads, denominators, lr)
            torch._foreach_add_(params, momentums, alpha=-1)
        else:
            self._addcdiv_scaled_(params, grads, denominators, -lr)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered}
