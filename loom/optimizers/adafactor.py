"""Adafactor (Shazeer & Stern, 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost"), as
``keras.optimizers.Adafactor``.

For weights of rank >= 2 the second moment is kept factored over the last two axes (a row average ``r``
and a column average ``c``), so the state is ``O(n + m)`` instead of ``O(n * m)``; smaller weights keep a full
average ``v``. With ``t`` the step::

    rho = min(learning_rate, 1 / sqrt(t));  alpha = max(epsilon_2, rms(w)) * rho
    beta = 1 - t**beta_2_decay;             v ~ (beta-average of g**2 + epsilon_1)
    u = g / sqrt(v);  w -= alpha * u / max(1, rms(u) / clip_threshold)

Example:
    >>> import torch
    >>> from loom.optimizers import Adafactor
    >>> w = torch.nn.Parameter(torch.ones(2, 3))
    >>> _ = Adafactor(learning_rate=0.1).apply_gradients([(torch.ones(2, 3), w)])
    >>> w.detach()[0]
    tensor([0.9000, 0.9000, 0.9000])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.optimizers.optimizer import Optimizer


def _rms(x: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(torch.mean(torch.square(x)))


class Adafactor(Optimizer):
    """Memory-efficient adaptive optimizer, as ``keras.optimizers.Adafactor``.

    Args:
        learning_rate: Defaults to 0.001 (capped at ``1 / sqrt(step)``).
        beta_2_decay: Exponent of the second-moment decay schedule. Defaults to -0.8.
        epsilon_1: Added to the squared gradients. Defaults to 1e-30.
        epsilon_2: Lower bound of the weights' RMS in the step size. Defaults to 1e-3.
        clip_threshold: Bound on the RMS of the normalised update. Defaults to 1.0.
        relative_step: Cap a constant rate at ``1 / sqrt(step)`` (as Keras, it always is). Defaults to True.
        **kwargs: The base arguments (weight_decay, clipnorm, use_ema, gradient_accumulation_steps, ...).

    Example:
        >>> Adafactor().get_config()["beta_2_decay"]
        -0.8
    """

    _slots = {"r": 0.0, "c": 0.0, "velocity": 0.0}

    def __init__(self, learning_rate: Any = 0.001, beta_2_decay: float = -0.8, epsilon_1: float = 1e-30,
                 epsilon_2: float = 1e-3, clip_threshold: float = 1.0, relative_step: bool = True, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def _slot_shape(self, name: str, param: torch.Tensor) -> tuple | None:
        shape = tuple(param.shape)
        if name not in ("r", "c"):
            return None
        if len(shape) < 2:
            return ()  # a placeholder, as Keras: small weights keep only the full average
        return shape[:-1] if name == "r" else shape[:-2] + shape[-1:]

    def _rates(self, lr, step, f):
        t = f(step)
        rho = min(f(lr), f(1) / np.sqrt(t))
        return (float(rho), float(f(1) - t ** f(self.beta_2_decay)))

    def _update(self, params, grads, states, rho, beta):
        for w, g, r, c, v in zip(params, grads, states["r"], states["c"], states["velocity"]):
            alpha = torch.clamp_min(_rms(w), self.epsilon_2) * rho
            squares = torch.square(g) + self.epsilon_1
            if w.dim() >= 2:
                r.mul_(beta).add_((1 - beta) * squares.mean(dim=-1))
                c.mul_(beta).add_((1 - beta) * squares.mean(dim=-2))
                v.copy_((r / r.mean(dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
            else:
                v.mul_(beta).add_((1 - beta) * squares)
            u = g / torch.sqrt(v)
            u = u / torch.clamp_min(_rms(u) / self.clip_threshold, 1.0)
            w.sub_(alpha * u)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1, "epsilon_2": self.epsilon_2,
                "clip_threshold": self.clip_threshold, "relative_step": self.relative_step}
