"""Nadam: Adam with Nesterov momentum (Dozat, 2015), with Keras's momentum-decay schedule.

Example:
    >>> import torch
    >>> from loom.optimizers import Nadam
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> _ = Nadam(learning_rate=0.1).apply_gradients([(torch.tensor([1.0]), w)])
    >>> w.item() < 1.0
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.optimizers.adaptive_moments import AdaptiveMomentOptimizer

_MOMENTUM_DECAY = 0.96


class Nadam(AdaptiveMomentOptimizer):
    """Nesterov-accelerated Adam, as ``keras.optimizers.Nadam``.

    With ``u_t = beta_1 * (1 - 0.5 * 0.96**t)`` and ``U_t`` the product of ``u_1 ... u_t``::

        m_hat = u_{t+1} * m / (1 - U_{t+1}) + (1 - u_t) * g / (1 - U_t)
        v_hat = v / (1 - beta_2**t)
        w -= learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Args:
        learning_rate: Defaults to 0.001.
        beta_1: Defaults to 0.9.
        beta_2: Defaults to 0.999.
        epsilon: Defaults to 1e-7.
        **kwargs: The base arguments (weight_decay, clipnorm, clipvalue, global_clipnorm, name, ...).

    Example:
        >>> Nadam().get_config()["beta_1"]
        0.9
    """

    _slots = {"momentum": 0.0, "velocity": 0.0}

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, **kwargs)
        self._u_product = 1.0

    def _momentum_at(self, step: int) -> np.float32:
        f = np.float32  # Keras keeps the running product in a float32 variable.
        return f(self.beta_1) * (f(1) - f(0.5) * f(_MOMENTUM_DECAY) ** f(step))

    def _rates(self, lr, step, f):
        f = np.float32  # as Keras: the momentum schedule and its product in float32, whatever the weights' dtype
        u_t, u_next = self._momentum_at(step), self._momentum_at(step + 1)
        u_product = f(self._u_product) * u_t
        return (lr, float(u_next), float(f(1) - u_product * u_next), float(f(1) - u_t), float(f(1) - u_product),
                float(f(1) - f(self.beta_2) ** f(step)))

    def _commit_update(self) -> None:
        self._u_product = float(np.float32(self._u_product) * self._momentum_at(self._update_count + 1))

    def _update(self, params, grads, states, lr, u_next, one_minus_product_next, one_minus_u, one_minus_product,
                velocity_correction):
        momentums, velocities = states["momentum"], states["velocity"]
        torch._foreach_lerp_(momentums, grads, 1 - self.beta_1)
        self._average_squares_(velocities, grads, self.beta_2)
        m_hat = torch._foreach_mul(momentums, u_next)
        torch._foreach_div_(m_hat, one_minus_product_next)
        scaled_grads = torch._foreach_mul(grads, one_minus_u)
        torch._foreach_div_(scaled_grads, one_minus_product)
        torch._foreach_add_(m_hat, scaled_grads)
        denominators = torch._foreach_div(velocities, velocity_correction)
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        self._addcdiv_scaled_(params, m_hat, denominators, -lr)

    def _extra_state(self) -> dict[str, float]:
        return {"u_product": self._u_product}

    def _set_extra_state(self, values: dict[str, float]) -> None:
        if "u_product" in values:
            self._u_product = float(values["u_product"])
