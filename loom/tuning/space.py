"""``HyperParameters``: the search space, declared where it is used, inside a model-building function.

``build(hp)`` asks ``hp`` for each value it needs (``hp.Int``, ``hp.Float``, ``hp.Choice``, ``hp.Boolean``)
and returns a compiled model. The same function serves three purposes:

* **inside a search**, the tuner passes an ``hp`` backed by an Optuna trial: each call *samples* a value;
* **standalone**, ``HyperParameters()`` returns each parameter's default (``default=``, else ``low`` /
  the first choice / ``False``), so ``build(HyperParameters())`` is the baseline model;
* **with fixed values**, ``HyperParameters(values=tuner.best_params)`` rebuilds a chosen configuration
  (parameters missing from ``values`` take their defaults).

Spaces are *define-by-run*: a parameter exists in a trial only if ``build`` asked for it, so a conditional
space is plain Python (``for i in range(hp.Int("layers", 1, 3)): hp.Int(f"units_{i}", ...)``).

Example:
    >>> hp = HyperParameters()
    >>> hp.Int("units", 32, 256, step=32), hp.Float("lr", 1e-4, 1e-2, log=True), hp.Choice("act", ["relu", "tanh"])
    (32, 0.0001, 'relu')
    >>> HyperParameters(values={"units": 128}).Int("units", 32, 256, step=32)
    128
    >>> hp.values
    {'units': 32, 'lr': 0.0001, 'act': 'relu'}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from loom.errors import ConfigError

KINDS = ("int", "float", "choice", "boolean", "fixed")
_CHOICE_TYPES = (type(None), bool, int, float, str)
MAX_GRID_SIZE = 100_000


@dataclass(frozen=True)
class Param:
    """One declared hyperparameter: its kind, range or values, and default."""

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    values: tuple = ()
    default: Any = None

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a legal value of this parameter."""
        if self.kind in ("choice", "boolean", "fixed"):
            return any(_same(value, v) for v in self.values)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and int(value) != value:
            return False
        if self.step is not None:
            offset = (value - self.low) / self.step
            if abs(offset - round(offset)) > 1e-9:
                return False
        return self.low <= value <= self.high

    def grid(self) -> list:
        """Every value, for grid search (a ``Float`` needs ``step``)."""
        if self.kind in ("choice", "boolean", "fixed"):
            return list(self.values)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step)))
        if self.step is None:
            raise ConfigError(f"Grid search needs every Float to have a step: hp.Float({self.name!r}, {self.low}, "
                              f"{self.high}) has none. Add step=..., or use hp.Choice({self.name!r}, [...]).")
        count = int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1
        return [round(self.low + i * self.step, 12) for i in range(count)]


class HyperParameters:
    """The values a model-building function asks for (see the module docstring).

    Args:
        values: ``{name: value}`` returned instead of defaults when not in a search (default ``None``).
        trial: an ``optuna.trial.Trial`` that samples the values (the tuner passes it; default ``None``).

    Attributes:
        values: ``{name: value}`` of every parameter asked so far, in the order asked.
        space: ``{name: Param}`` of every parameter declared so far.

    Example:
        >>> def build_units(hp):
        ...     return [hp.Int(f"units_{i}", 8, 64, step=8) for i in range(hp.Int("layers", 1, 3))]
        >>> build_units(HyperParameters())
        [8]
        >>> build_units(HyperParameters(values={"layers": 2, "units_1": 16}))
        [8, 16]
    """

    def __init__(self, values: Mapping[str, Any] | None = None, trial: Any = None):
        if values is not None and not isinstance(values, Mapping):
            raise ConfigError(f"HyperParameters(values=...) must be a dict {{name: value}}; got "
                              f"{type(values).__name__}.")
        self._fixed = dict(values or {})
        self._trial = trial
        self.values: dict[str, Any] = {}
        self.space: dict[str, Param] = {}

    # ------------------------------------------------------------------------------------------ declaring
    def Int(self, name: str, low: int, high: int, step: int = 1, log: bool = False,
            default: int | None = None) -> int:
        """An integer in ``[low, high]`` (both included) on a grid of ``step``.

        Args:
            name: the parameter's name, unique in the space.
            low: smallest value (also the default default).
            high: largest value; ``high - low`` must be a multiple of ``step``.
            step: spacing of the values (default 1).
            log: sample on a log scale (default ``False``; needs ``low > 0`` and ``step=1``).
            default: value outside a search (default ``None``: ``low``).
        """
        for label, v in (("low", low), ("high", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ConfigError(f"hp.Int({name!r}): {label} must be an int; got {v!r}.")
        _check_range(name, "Int", low, high, step, log)
        if (high - low) % step:
            raise ConfigError(f"hp.Int({name!r}): high - low ({high} - {low}) must be a multiple of step={step}.")
        if log and step != 1:
            raise ConfigError(f"hp.Int({name!r}): log=True needs step=1; got step={step}.")
        param = Param(name, "int", low, high, step, bool(log), default=low if default is None else default)
        return self._resolve(param, lambda t: t.suggest_int(name, low, high, step=step, log=log))

    def Float(self, name: str, low: float, high: float, step: float | None = None, log: bool = False,
              default: float | None = None) -> float:
        """A float in ``[low, high]``.

        Args:
            name: the parameter's name, unique in the space.
            low: smallest value (also the default default).
            high: largest value.
            step: spacing of the values (default ``None``: continuous); not with ``log``.
            log: sample on a log scale, for learning rates (default ``False``; needs ``low > 0``).
            default: value outside a search (default ``None``: ``low``).
        """
        for label, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"hp.Float({name!r}): {label} must be a number; got {v!r}.")
        _check_range(name, "Float", low, high, step, log)
        if log and step is not None:
            raise ConfigError(f"hp.Float({name!r}): use either step or log=True, not both.")
        low, high = float(low), float(high)
        if default is None:
            default = low
        elif isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        param = Param(name, "float", low, high, step, bool(log), default=default)
        return self._resolve(param, lambda t: t.suggest_float(name, low, high, step=step, log=log))

    def Choice(self, name: str, values: list | tuple, default: Any = None) -> Any:
        """One of ``values`` (``None``, bools, ints, floats or strings).

        Args:
            name: the parameter's name, unique in the space.
            values: the options, a non-empty list without duplicates.
            default: value outside a search (default ``None``: the first option).
        """
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"hp.Choice({name!r}): values must be a non-empty list; got {values!r}.")
        bad = [v for v in values if not isinstance(v, _CHOICE_TYPES)]
        if bad:
            raise ConfigError(f"hp.Choice({name!r}): options must be None, bool, int, float or str (they are stored "
                              f"in the study database); got {bad[0]!r}. Choose an index or a name and map it in "
                              f"build().")
        if len({(type(v), v) for v in values}) != len(values):
            raise ConfigError(f"hp.Choice({name!r}): values has duplicates: {list(values)}.")
        param = Param(name, "choice", values=tuple(values), default=values[0] if default is None else default)
        return self._resolve(param, lambda t: t.suggest_categorical(name, list(values)))

    def Boolean(self, name: str, default: bool = False) -> bool:
        """``True`` or ``False`` (default: ``default``, ``False`` unless given)."""
        param = Param(name, "boolean", values=(False, True), default=bool(default))
        return self._resolve(param, lambda t: t.suggest_categorical(name, [False, True]))

    def Fixed(self, name: str, value: Any) -> Any:
        """A constant recorded with the others (shown in results and TensorBoard); returns ``value``."""
        if not isinstance(value, _CHOICE_TYPES):
            raise ConfigError(f"hp.Fixed({name!r}): value must be None, bool, int, float or str; got {value!r}.")
        return self._resolve(Param(name, "fixed", values=(value,), default=value), None)

    def get(self, name: str) -> Any:
        """The value of a parameter already asked for."""
        if name not in self.values:
            raise ConfigError(f"Hyperparameter {name!r} has not been declared yet. Declared: {list(self.values)}.")
        return self.values[name]

    # ------------------------------------------------------------------------------------------ resolving
    def _resolve(self, param: Param, suggest) -> Any:
        if not isinstance(param.name, str) or not param.name:
            raise ConfigError(f"A hyperparameter name must be a non-empty string; got {param.name!r}.")
        if not param.contains(param.default):
            raise ConfigError(f"Hyperparameter {param.name!r}: default={param.default!r} is not a legal value "
                              f"({_describe(param)}).")
        known = self.space.get(param.name)
        if known is not None:
            if known != param:
                raise ConfigError(f"Hyperparameter {param.name!r} was declared twice with different settings: "
                                  f"{_describe(known)} and {_describe(param)}. Use two names.")
            return self.values[param.name]
        value = self._value_of(param, suggest)
        self.space[param.name] = param
        self.values[param.name] = value
        return value

    def _value_of(self, param: Param, suggest) -> Any:
        if self._trial is not None and suggest is not None:
            return _on_grid(param, suggest(self._trial))
        if param.name in self._fixed:
            value = self._fixed[param.name]
            if isinstance(value, float) and param.kind == "int" and value.is_integer():
                value = int(value)
            if not param.contains(value):
                raise ConfigError(f"Hyperparameter {param.name!r}: value {value!r} is not legal ({_describe(param)}).")
            return _on_grid(param, value)
        return param.default

    def __repr__(self) -> str:
        return f"HyperParameters({self.values})"


def grid_space(space: Mapping[str, Param]) -> dict[str, list]:
    """``{name: all values}`` for Optuna's ``GridSampler``; refuses grids over ``MAX_GRID_SIZE`` points."""
    grid = {name: param.grid() for name, param in space.items()}
    size = math.prod(len(v) for v in grid.values())
    if size > MAX_GRID_SIZE:
        raise ConfigError(f"The grid has {size} points (more than {MAX_GRID_SIZE}); use algorithm='tpe' or "
                          f"'random', or coarser steps.")
    return grid


def _check_range(name: str, what: str, low: float, high: float, step: float | None, log: bool) -> None:
    if low > high:
        raise ConfigError(f"hp.{what}({name!r}): low ({low}) must not exceed high ({high}).")
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
        raise ConfigError(f"hp.{what}({name!r}): step must be a positive number; got {step!r}.")
    if log and low <= 0:
        raise ConfigError(f"hp.{what}({name!r}): log=True needs low > 0; got low={low}.")


def _on_grid(param: Param, value: Any) -> Any:
    """A stepped float without its rounding noise (``0.30000000000000004`` -> ``0.3``)."""
    if param.kind == "float" and param.step is not None:
        return round(value, 12)
    return value


def _same(a: Any, b: Any) -> bool:
    """``a == b`` without confusing ``True`` with ``1`` or ``'1'`` with ``1``."""
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, numbers) and isinstance(b, numbers)):
        return type(a) is type(b) and a == b
    return a == b


def _describe(param: Param) -> str:
    if param.kind in ("choice", "boolean", "fixed"):
        return f"one of {list(param.values)}"
    extra = (f", step={param.step}" if param.step not in (None, 1) else "") + (", log" if param.log else "")
    return f"{param.kind} in [{param.low}, {param.high}]{extra}"
