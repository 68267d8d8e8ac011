"""An optimizer's hyperparameters: :class:`Hyperparameters`, a mixin of :class:`~loom.optimizers.Optimizer`.

What concerns the values an optimizer is made with rather than the update that uses them: checking them
(unknown arguments, numbers, the kinds of learning rate), the two that can change during training
(``learning_rate``, copied into every param group so that torch's LR schedulers and callbacks see it, and
``weight_decay`` with :meth:`Hyperparameters.exclude_from_weight_decay`), and the Keras config that records
them all (``get_config`` / ``from_config``).

It is separate from the base class so that :mod:`loom.optimizers.optimizer` reads as the lifecycle and the
update.

Example:
    >>> from loom.optimizers import SGD
    >>> opt = SGD(learning_rate=0.1, weight_decay=0.01)
    >>> opt.learning_rate = 0.05
    >>> config = opt.get_config()
    >>> config["learning_rate"], config["weight_decay"]
    (0.05, 0.01)
    >>> SGD.from_config(config).learning_rate
    0.05
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Iterable

import torch

from loom.errors import ConfigError
from loom.schedules import LearningRateSchedule
from loom import schedules

if TYPE_CHECKING:
    from loom.optimizers.optimizer import Optimizer

_BASE_ARGS = ["learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
              "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name"]


def _as_float(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ConfigError(f"Argument `{name}` must be a number or None. Received: {name}={value!r}")
    return float(value)


class Hyperparameters:
    """Mixin: checking, changing and recording an optimizer's hyperparameters (see the module docstring)."""

    def _check_unknown(self, kwargs: dict) -> None:
        if kwargs:
            valid = sorted(set(_BASE_ARGS) | set(self._hyperparameters_names()))
            raise ConfigError(f"Argument(s) not recognized by {type(self).__name__}: {sorted(kwargs)}. "
                              f"Valid arguments: {valid}")

    @classmethod
    def _hyperparameters_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "kwargs")]

    @staticmethod
    def _check_learning_rate(value: Any) -> Any:
        if isinstance(value, LearningRateSchedule) or callable(value):
            return value
        if isinstance(value, dict):
            return schedules.deserialize(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
            raise ConfigError("Argument `learning_rate` should be a float, a LearningRateSchedule or a callable. "
                              f"Received: learning_rate={value!r}")
        return float(value)

    # ------------------------------------------------------------------ settable during training

    def _scheduled_or(self, lr: Any) -> float:
        if isinstance(lr, LearningRateSchedule):
            return float(lr(self._iterations))  # Keras: the call count, even when accumulating
        if callable(lr):
            return float(lr())
        return lr

    @property
    def learning_rate(self) -> float:
        """The rate the next update uses; settable with a float or a schedule."""
        if callable(self._learning_rate) or not self._built:
            return self._scheduled_or(self._learning_rate)
        return float(self.param_groups[0]["lr"])

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        value = self._check_learning_rate(value)
        if not callable(value) and isinstance(self._learning_rate, LearningRateSchedule):
            raise ConfigError(
                f"Optimizer '{self.name}' was created with a LearningRateSchedule as its learning_rate, so its "
                "learning rate is not settable. Create it with a float learning_rate to set it during training.")
        self._learning_rate = value
        if self._built:
            current = self._scheduled_or(value)
            for group in self.param_groups:
                group["lr"] = current

    @property
    def weight_decay(self) -> float | None:
        return self._weight_decay

    @weight_decay.setter
    def weight_decay(self, value: float | None) -> None:
        self._weight_decay = _as_float("weight_decay", value)
        if self._built:
            for group in self.param_groups:
                group["weight_decay"] = self._weight_decay

    def exclude_from_weight_decay(self, var_list: Iterable[torch.Tensor] | None = None,
                                  var_names: Iterable[str] | None = None) -> None:
        """Exempt parameters from weight decay, as Keras: by object, or by a substring of their name.

        Names are the ones given with ``build(model.named_parameters())`` (torch's named param groups) or a
        parameter's ``name`` attribute. Call before the first update.
        """
        self._no_decay_vars = list(var_list or ())  # the tensors, not their ids: copies of the optimizer map them
        self._no_decay_names = tuple(var_names or ())

    def _decayed(self, group: dict, params: list) -> list:
        ids = {id(p) for p in getattr(self, "_no_decay_vars", ())}
        names = getattr(self, "_no_decay_names", ())
        if not ids and not names:
            return params
        by_id = dict(zip(map(id, group["params"]), group.get("param_names", ())))
        return [p for p in params if id(p) not in ids and not any(
            n in (by_id.get(id(p)) or getattr(p, "name", None) or "") for n in names)]

    # ------------------------------------------------------------------ config

    def _hyperparameters(self) -> dict[str, Any]:
        """The algorithm's own config entries (overridden by subclasses)."""
        return {}

    def get_config(self) -> dict[str, Any]:
        """Keras's config keys, so ``from_config`` (here or in Keras) rebuilds an equivalent optimizer."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr = schedules.serialize(lr)
        else:
            lr = self.learning_rate
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self._weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                  "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency, "loss_scale_factor": self.loss_scale_factor,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps}
        config.update(self._hyperparameters())
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Optimizer":
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects)
        return cls(**config)
