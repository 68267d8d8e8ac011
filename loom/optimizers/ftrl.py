"""FTRL-Proximal (McMahan et al., 2013, "Ad Click Prediction: a View from the Trenches"), as
``keras.optimizers.Ftrl``, with L1, L2 and L2-shrinkage regularisation::

    g' = g + 2 * l2_shrinkage * w;  n' = n + g**2
    z += g' - (n'**-p - n**-p) / learning_rate * w          (p = learning_rate_power)
    w  = (clip(z, -l1, l1) - z) / (n'**-p / learning_rate + 2 * (l2 + beta / (2 * learning_rate)))

Example:
    >>> import torch
    >>> from loom.optimizers import Ftrl
    >>> w = torch.nn.Parameter(torch.tensor([1.0]))
    >>> _ = Ftrl(learning_rate=0.1, l1_regularization_strength=0.01).apply_gradients([(torch.tensor([0.5]), w)])
    >>> round(w.item(), 4)
    0.3793
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.optimizers.optimizer import Optimizer


class Ftrl(Optimizer):
    """Follow-the-regularized-leader, as ``keras.optimizers.Ftrl``.

    Args:
        learning_rate: Defaults to 0.001.
        learning_rate_power: ``<= 0``; how the rate decays with the accumulator. Defaults to -0.5.
        initial_accumulator_value: ``>= 0``; starting value of the accumulators. Defaults to 0.1.
        l1_regularization_strength: ``>= 0``. Defaults to 0.0.
        l2_regularization_strength: ``>= 0``. Defaults to 0.0.
        l2_shrinkage_regularization_strength: ``>= 0``; an L2 penalty on the gradient. Defaults to 0.0.
        beta: Defaults to 0.0.
        **kwargs: The base arguments (weight_decay, clipnorm, use_ema, gradient_accumulation_steps, ...).

    Raises:
        ConfigError: a value outside the ranges above.

    Example:
        >>> Ftrl(l1_regularization_strength=0.1).get_config()["learning_rate_power"]
        -0.5
    """

    _slots = {"accumulator": 0.1, "linear": 0.0}

    def __init__(self, learning_rate: Any = 0.001, learning_rate_power: float = -0.5,
                 initial_accumulator_value: float = 0.1, l1_regularization_strength: float = 0.0,
                 l2_regularization_strength: float = 0.0, l2_shrinkage_regularization_strength: float = 0.0,
                 beta: float = 0.0, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        checks = {"initial_accumulator_value": initial_accumulator_value,
                  "l1_regularization_strength": l1_regularization_strength,
                  "l2_regularization_strength": l2_regularization_strength,
                  "l2_shrinkage_regularization_strength": l2_shrinkage_regularization_strength}
        for key, value in checks.items():
            if value < 0.0:
                raise ConfigError(f"Ftrl: `{key}` needs to be positive or zero. Received: {key}={value}.")
        if learning_rate_power > 0.0:
            raise ConfigError("Ftrl: `learning_rate_power` needs to be negative or zero. Received: "
                              f"learning_rate_power={learning_rate_power}.")
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def _active_slots(self) -> dict[str, float]:
        return {"accumulator": self.initial_accumulator_value, "linear": 0.0}

    def _update(self, params, grads, states, lr):
        power, l1 = -self.learning_rate_power, self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        shrinkage = 2 * self.l2_shrinkage_regularization_strength
        for w, g, accum, linear in zip(params, grads, states["accumulator"], states["linear"]):
            new_accum = accum + torch.square(g)
            new_power = torch.pow(new_accum, power)
            linear.add_((g + shrinkage * w) - (new_power - torch.pow(accum, power)) / lr * w)
            quadratic = new_power / lr + 2 * l2
            w.copy_((torch.clamp(linear, -l1, l1) - linear) / quadratic)
            accum.copy_(new_accum)

    def _hyperparameters(self) -> dict[str, Any]:
        return {"learning_rate_power": self.learning_rate_power,
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
                "beta": self.beta}
