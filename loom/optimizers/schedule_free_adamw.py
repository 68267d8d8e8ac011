"""Schedule-free AdamW (Defazio et al., 2024, "The Road Less Scheduled"), as
``keras.optimizers.ScheduleFreeAdamW``: no learning-rate schedule is needed; the weights ``y`` interpolate
between a fast iterate ``z`` (the ``momentum`` slot, starting at the weights) and a running average ``x``::

    v = lerp(v, g**2, 1 - beta_2);  z -= lr * g / (sqrt(v / (1 - beta_2**t)) + epsilon)
    x = (y - (1 - beta_1) * z_old) / beta_1;  x = (1 - 1/t) * x + (1/t) * z
    y = (1 - beta_1) * z + beta_1 * x

(``lr`` ramps up linearly over ``warmup_steps``.)

Example:
    >>> import torch
    >>> from loom.optimizers import ScheduleFreeAdamW
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> _ = ScheduleFreeAdamW(learning_rate=0.1).apply_gradients([(torch.tensor([2.0]), w)])
    >>> round(w.item(), 4)  # z moved by about -lr; with 1/t = 1, y = z
    0.9
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.optimizers.adaptive_moments import AdaptiveMomentOptimizer


class ScheduleFreeAdamW(AdaptiveMomentOptimizer):
    """Schedule-free AdamW, as ``keras.optimizers.ScheduleFreeAdamW``.

    Args:
        learning_rate: Defaults to 0.0025.
        beta_1: Interpolation between ``z`` and ``x``. Defaults to 0.9.
        beta_2: Decay of the second moment. Defaults to 0.999.
        epsilon: Defaults to 1e-8.
        warmup_steps: Steps of linear learning-rate warmup. Defaults to 0.
        **kwargs: The base arguments (weight_decay, clipnorm, use_ema, gradient_accumulation_steps, ...).

    Example:
        >>> ScheduleFreeAdamW(warmup_steps=10).get_config()["warmup_steps"]
        10
    """

    _slots = {"momentum": 0.0, "velocity": 0.0}

    def __init__(self, learning_rate: Any = 0.0025, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, warmup_steps: int = 0, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self.warmup_steps = warmup_steps

    def _new_slot(self, name: str, param: torch.Tensor, fill: float) -> torch.Tensor:
        if name == "momentum":
            return param.detach().clone()  # z starts at the weights
        return super()._new_slot(name, param, fill)

    def _rates(self, lr, step, f):
        t = f(step)
        lr = f(lr)
        if self.warmup_steps > 0:
            lr = lr * np.minimum(t / f(self.warmup_steps), f(1.0))
        return (float(lr), float(f(1) - f(self.beta_2) ** t), float(f(1.0) / t))

    def _update(self, params, grads, states, lr, correction_2, weight):
        z, velocities = states["momentum"], states["velocity"]
        self._average_squares_(velocities, grads, self.beta_2)
        denominators = torch._foreach_div(velocities, correction_2)
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        self._addcdiv_scaled_(z, grads, denominators, -lr)
        b1 = self.beta_1
        for y, z_new in zip(params, z):
            x = (y - (1 - b1) * z_new) / b1  # as Keras 3 computes it: x is recovered with the *updated* z
            x = (1 - weight) * x + weight * z_new
            y.copy_((1 - b1) * z_new + b1 * x)

    def _hyperparameters(self) -> dict[str, Any]:
        return {**super()._hyperparameters(), "warmup_steps": self.warmup_steps}
