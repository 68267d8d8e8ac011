"""Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms"): the sign of an interpolated
momentum, as ``keras.optimizers.Lion``::

    w -= learning_rate * sign(beta_1 * m + (1 - beta_1) * g)
    m  = beta_2 * m + (1 - beta_2) * g

Example:
    >>> import torch
    >>> from loom.optimizers import Lion
    >>> w = torch.nn.Parameter(torch.tensor([1.0, 1.0]))
    >>> _ = Lion(learning_rate=0.1).apply_gradients([(torch.tensor([3.0, -0.5]), w)])
    >>> w.detach()
    tensor([0.9000, 1.1000])
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.optimizers.optimizer import Optimizer


class Lion(Optimizer):
    """Sign-momentum optimizer, as ``keras.optimizers.Lion`` (use a 3-10x smaller rate than AdamW).

    Args:
        learning_rate: Defaults to 0.001.
        beta_1: Interpolation of the update direction, in ``(0, 1]``. Defaults to 0.9.
        beta_2: Decay of the momentum. Defaults to 0.99.
        **kwargs: The base arguments (weight_decay, clipnorm, use_ema, gradient_accumulation_steps, ...).

    Raises:
        ConfigError: ``beta_1`` is not in ``(0, 1]``.

    Example:
        >>> Lion(beta_2=0.98).get_config()["beta_2"]
        0.98
    """

    _slots = {"momentum": 0.0}

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.99, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        if not 0 < beta_1 <= 1:
            raise ConfigError("Lion: argument `beta_1` must be in the (0, 1] range. Otherwise, the optimizer "
                              f"degenerates to SignSGD. Received: beta_1={beta_1}.")
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def _update(self, params, grads, states, lr):
        momentums = states["momentum"]
        directions = torch._foreach_mul(momentums, self.beta_1)
        torch._foreach_add_(directions, grads, alpha=1 - self.beta_1)
        directions = torch._foreach_sign(directions)
        self._add_scaled_(params, directions, -lr)
        torch._foreach_mul_(momentums, self.beta_2)
        torch._foreach_add_(momentums, grads, alpha=1 - self.beta_2)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2}
