"""Adam (Kingma & Ba, 2014) and AdamW (Loshchilov & Hutter, 2017) in Keras's bias-correction form.

Keras folds both bias corrections into the step size and adds epsilon to ``sqrt(v)`` *uncorrected*,
which differs from ``torch.optim.Adam`` (epsilon added to ``sqrt(v_hat)``)::

    alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
    w -= alpha * m / (sqrt(v) + epsilon)

Example:
    >>> import torch
    >>> from loom.optimizers import Adam
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> _ = Adam(learning_rate=0.1).apply_gradients([(torch.tensor([3.0]), w)])
    >>> round(w.item(), 4)  # the first Adam step moves by about learning_rate
    0.9
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.errors import ConfigError
from loom.optimizers.adaptive_moments import AdaptiveMomentOptimizer


class Adam(AdaptiveMomentOptimizer):
    """Adaptive moment estimation, as ``keras.optimizers.Adam``.

    Args:
        learning_rate: Defaults to 0.001.
        beta_1: Decay of the first-moment average. Defaults to 0.9.
        beta_2: Decay of the second-moment average. Defaults to 0.999.
        epsilon: Added to ``sqrt(v)``. Defaults to 1e-7.
        amsgrad: Use the running maximum of ``v`` (Reddi et al., 2018). Defaults to False.
        **kwargs: The base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
        >>> Adam(amsgrad=True).get_config()["beta_2"]
        0.999
    """

    _slots = {"momentum": 0.0, "velocity": 0.0, "velocity_hat": 0.0}

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.amsgrad = amsgrad

    def _active_slots(self) -> dict[str, float]:
        slots = {"momentum": 0.0, "velocity": 0.0}
        if self.amsgrad:
            slots["velocity_hat"] = 0.0
        return slots

    def _rates(self, lr, step, f):
        t = f(step)
        return (float(f(lr) * np.sqrt(f(1) - f(self.beta_2) ** t) / (f(1) - f(self.beta_1) ** t)),)

    def _update(self, params, grads, states, alpha):
        momentums, velocities = states["momentum"], states["velocity"]
        torch._foreach_lerp_(momentums, grads, 1 - self.beta_1)
        self._average_squares_(velocities, grads, self.beta_2)
        if self.amsgrad:
            torch._foreach_maximum_(states["velocity_hat"], velocities)
            velocities = states["velocity_hat"]
        denominators = torch._foreach_sqrt(velocities)
        torch._foreach_add_(denominators, self.epsilon)
        self._addcdiv_scaled_(params, momentums, denominators, -alpha)

    def _hyperparameters(self) -> dict[str, Any]:
        return {**super()._hyperparameters(), "amsgrad": self.amsgrad}


class AdamW(Adam):
    """Adam with decoupled weight decay (``w *= 1 - weight_decay * lr`` before each update), as Keras.

    Args:
        learning_rate: Defaults to 0.001.
        weight_decay: Required float. Defaults to 0.004.
        beta_1, beta_2, epsilon, amsgrad: As :class:`Adam`.
        **kwargs: The other base arguments.

    Example:
        >>> AdamW().weight_decay
        0.004
    """

    def __init__(self, learning_rate: Any = 0.001, weight_decay: float = 0.004, beta_1: float = 0.9,
                 beta_2: float = 0.999, epsilon: float = 1e-7, amsgrad: bool = False, **kwargs: Any):
        if weight_decay is None:
            raise ConfigError("Argument `weight_decay` must be a float for AdamW. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, **kwargs)
