"""Learning-rate schedules with Keras's names and formulas (``keras.optimizers.schedules``).

A schedule is a callable ``schedule(step) -> float``. Pass one as an optimizer's ``learning_rate`` and the
optimizer evaluates it at its iteration count before each update. Everything here is plain Python
arithmetic on the host: computing the rate costs no device work and no synchronisation.

Example:
    >>> from loom import schedules
    >>> lr = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    >>> round(lr(20), 6)
    0.025
    >>> schedules.deserialize(schedules.serialize(lr))(20) == lr(20)
    True
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from loom.errors import ConfigError

__all__ = [
    "LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "PolynomialDecay",
    "InverseTimeDecay", "CosineDecay", "CosineDecayRestarts", "serialize", "deserialize", "get",
]


def _step_value(step: Any) -> float:
    """The step as a Python float (a tensor step is read once; optimizers pass Python ints)."""
    return float(step)


def _check_positive(name: str, value: Any) -> None:
    if value <= 0:
        raise ConfigError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    Example:
        >>> class Halving(LearningRateSchedule):
        ...     def __init__(self, rate):
        ...         self.rate = rate
        ...     def __call__(self, step):
        ...         return self.rate / 2 ** step
        ...     def get_config(self):
        ...         return {"rate": self.rate}
        >>> Halving(1.0)(3)
        0.125
    """

    def __call__(self, step: Any) -> float:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override __call__(step).")

    def get_config(self) -> dict:
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override get_config().")

    @classmethod
    def from_config(cls, config: dict) -> "LearningRateSchedule":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _RateDecay(LearningRateSchedule):
    """What ExponentialDecay and InverseTimeDecay share: their arguments, config and ``step / decay_steps``."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool,
                 name: str):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step: Any) -> float:
        """``step / decay_steps``, floored when ``staircase`` is True."""
        p = _step_value(step) / self.decay_steps
        return math.floor(p) if self.staircase else p

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """``initial_learning_rate * decay_rate ** (step / decay_steps)``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps per multiplication by ``decay_rate``; must be > 0.
        decay_rate: The decay factor.
        staircase: If True (default False), ``step / decay_steps`` is floored, so the rate drops in steps.
        name: Defaults to ``"ExponentialDecay"``.

    Example:
        >>> ExponentialDecay(1.0, decay_steps=2, decay_rate=0.5, staircase=True)(3)
        0.5
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "ExponentialDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> float:
        return float(self.initial_learning_rate * self.decay_rate ** self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``step <= boundaries[0]``, ``values[1]`` up to ``boundaries[1]``, ... ``values[-1]``.

    Args:
        boundaries: Strictly increasing step numbers.
        values: One more value than boundaries.
        name: Defaults to ``"PiecewiseConstant"``.

    Example:
        >>> lr = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
        >>> lr(10), lr(11), lr(21)
        (1.0, 0.5, 0.1)
    """

    def __init__(self, boundaries: list, values: list, name: str = "PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ConfigError(
                "The length of boundaries should be 1 less than the length of values. Received: "
                f"boundaries={boundaries} of length {len(boundaries)}, and values={values} of length {len(values)}.")
        if any(b1 >= b2 for b1, b2 in zip(boundaries, boundaries[1:])):
            raise ConfigError(f"`boundaries` must be strictly increasing. Received: boundaries={boundaries}")
        self.boundaries = list(boundaries)
        self.values = list(values)
        self.name = name

    def __call__(self, step: Any) -> float:
        return float(self.values[bisect.bisect_left(self.boundaries, _step_value(step))])

    def get_config(self) -> dict:
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Polynomial decay from ``initial_learning_rate`` to ``end_learning_rate`` over ``decay_steps``.

    ``(initial - end) * (1 - step / decay_steps) ** power + end``, with ``step`` capped at ``decay_steps``,
    or, when ``cycle`` is True, ``decay_steps`` stretched to the first multiple above ``step``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Must be > 0.
        end_learning_rate: Defaults to 0.0001.
        power: Defaults to 1.0 (linear).
        cycle: Defaults to False.
        name: Defaults to ``"PolynomialDecay"``.

    Example:
        >>> PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0)(5)
        0.5
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False, name: str = "PolynomialDecay"):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step: Any) -> float:
        step = _step_value(step)
        decay_steps = float(self.decay_steps)
        if self.cycle:
            decay_steps *= 1.0 if step == 0 else math.ceil(step / self.decay_steps)
        else:
            step = min(step, decay_steps)
        p = step / decay_steps
        return float((self.initial_learning_rate - self.end_learning_rate) * (1 - p) ** self.power
                     + self.end_learning_rate)

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}


class InverseTimeDecay(_RateDecay):
    """``initial_learning_rate / (1 + decay_rate * step / decay_steps)``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Must be > 0.
        decay_rate: The decay rate.
        staircase: If True (default False), ``step / decay_steps`` is floored.
        name: Defaults to ``"InverseTimeDecay"``.

    Example:
        >>> InverseTimeDecay(1.0, decay_steps=1, decay_rate=0.5)(2)
        0.5
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float,
                 staircase: bool = False, name: str = "InverseTimeDecay"):
        super().__init__(initial_learning_rate, decay_steps, decay_rate, staircase, name)

    def __call__(self, step: Any) -> float:
        return float(self.initial_learning_rate / (1 + self.decay_rate * self._progress(step)))


def _cosine_decay(step: float, decay_steps: float, decay_from: float, alpha: float) -> float:
    cosine = 0.5 * (1.0 + math.cos(math.pi * step / decay_steps))
    return decay_from * ((1 - alpha) * cosine + alpha)


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup, then cosine decay (SGDR, Loshchilov & Hutter 2016).

    Without ``warmup_target`` the rate decays from ``initial_learning_rate`` to
    ``initial_learning_rate * alpha`` over ``decay_steps``. With it, the rate first rises linearly from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps``, then decays from ``warmup_target``.

    Args:
        initial_learning_rate: The rate at step 0.
        decay_steps: Steps to decay over; must be > 0.
        alpha: Final rate as a fraction of the decay's start rate. Defaults to 0.0.
        name: Defaults to ``"CosineDecay"``.
        warmup_target: Rate reached at the end of warmup; ``None`` (default) means no warmup.
        warmup_steps: Warmup length in steps. Defaults to 0.

    Example:
        >>> CosineDecay(1.0, decay_steps=10)(5)
        0.5
    """

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0,
                 name: str = "CosineDecay", warmup_target: float | None = None, warmup_steps: int = 0):
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step: Any) -> float:
        step = _step_value(step)
        if self.warmup_target is None:
            step = min(step, self.decay_steps)
            return float(_cosine_decay(step, self.decay_steps, self.initial_learning_rate, self.alpha))
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            delta = self.warmup_target - self.initial_learning_rate
            return float(delta * (step / self.warmup_steps) + self.initial_learning_rate)
        return float(_cosine_decay(step - self.warmup_steps, self.decay_steps, self.warmup_target, self.alpha))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): each period is ``t_mul`` times longer, ``m_mul`` times lower.

    Args:
        initial_learning_rate: The rate at step 0.
        first_decay_steps: Length of the first period; must be > 0.
        t_mul: Period length multiplier. Defaults to 2.0.
        m_mul: Rate multiplier per restart. Defaults to 1.0.
        alpha: Minimum rate as a fraction of the period's start rate. Defaults to 0.0.
        name: Defaults to ``"SGDRDecay"``.

    Example:
        >>> CosineDecayRestarts(1.0, first_decay_steps=10)(10)
        1.0
    """

    def __init__(self, initial_learning_rate: float, first_decay_steps: int, t_mul: float = 2.0,
                 m_mul: float = 1.0, alpha: float = 0.0, name: str = "SGDRDecay"):
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step: Any) -> float:
        fraction = _step_value(step) / self.first_decay_steps
        t_mul = float(self._t_mul)
        if t_mul == 1.0:
            i_restart = math.floor(fraction)
            fraction -= i_restart
        else:
            i_restart = math.floor(math.log(1.0 - fraction * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - t_mul ** i_restart) / (1.0 - t_mul)
            fraction = (fraction - sum_r) / t_mul ** i_restart
        cosine = 0.5 * self._m_mul ** i_restart * (1.0 + math.cos(math.pi * fraction))
        return float(self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha))

    def get_config(self) -> dict:
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(schedule: LearningRateSchedule) -> dict:
    """``{'class_name': ..., 'config': ...}``, as ``keras.optimizers.schedules.serialize`` (minus module)."""
    from loom.registry import registered_name
    return {"class_name": registered_name(type(schedule)), "config": schedule.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> LearningRateSchedule:
    """Rebuild a schedule from :func:`serialize`'s output (or a Keras-written one).

    Raises:
        ConfigError: the dict has no ``class_name``.
        UnsafeLoadError: the class is neither built in nor registered.
    """
    from loom.registry import get_registered
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"A schedule config must be a dict with 'class_name' and 'config'. Received: {config!r}")
    name = config["class_name"]
    cls = _SCHEDULES.get(name) if not (custom_objects and name in custom_objects) else None
    if cls is None:
        cls = get_registered(name, custom_objects)
    return cls.from_config(dict(config.get("config", {})))


def get(identifier: Any) -> Any:
    """A schedule from a schedule instance, a config dict, or ``None``; any other callable passes through."""
    if identifier is None or isinstance(identifier, LearningRateSchedule) or callable(identifier):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ConfigError(f"Could not interpret learning rate schedule identifier: {identifier!r}. "
                      f"Valid: a LearningRateSchedule, a config dict, or one of {sorted(_SCHEDULES)} instances.")
