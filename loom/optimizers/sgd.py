"""Stochastic gradient descent with Keras's momentum ("velocity") formulation.

Example:
    >>> import torch
    >>> from loom.optimizers import SGD
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = torch.tensor([1.0])
    ...     _ = opt.apply_gradients([(w.grad, w)])
    >>> round(w.item(), 4)  # 1 - 0.1 - (0.9 * 0.1 + 0.1)
    0.71
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.optimizers.optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum, as ``keras.optimizers.SGD``.

    Update with ``velocity`` starting at 0::

        velocity = momentum * velocity - learning_rate * g
        w = w + velocity                                      # nesterov=False
        w = w + momentum * velocity - learning_rate * g       # nesterov=True

    Args:
        learning_rate: Defaults to 0.01.
        momentum: In [0, 1]. Defaults to 0.0 (plain gradient descent, no state).
        nesterov: Defaults to False.
        **kwargs: The base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
        >>> opt = SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
        >>> opt.get_config()["nesterov"]
        True
    """

    _slots = {"momentum": 0.0}

    def __init__(self, learning_rate: Any = 0.01, momentum: float = 0.0, nesterov: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise ConfigError(f"`momentum` must be a float between [0, 1]. Received: momentum={momentum!r}")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _active_slots(self) -> dict[str, float]:
        return dict(self._slots) if self.momentum != 0 else {}

    def _update(self, params, grads, states, lr):
        if self.momentum == 0:
            self._add_scaled_(params, grads, -lr)
            return
        velocities = states["momentum"]
        torch._foreach_mul_(velocities, self.momentum)
        self._add_scaled_(velocities, grads, -lr)
        if self.nesterov:
            self._add_scaled_(params, grads, -lr)
            torch._foreach_add_(params, velocities, alpha=self.momentum)
        else:
            torch._foreach_add_(params, velocities)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"momentum": self.momentum, "nesterov": self.nesterov}
