"""``HyperParameters``: the search space, declared where it is used, inside a model-building function.

``build(hp)`` asks ``hp`` for each value it needs (``hp.Int``, ``hp.Float``, ``hp.Choice``, ``hp.Boolean``)
and returns a compiled model. The same function serves three purposes:

* **inside a search**, the tuner passes an ``hp`` backed by an Optuna trial: each call *samples* a value;
* **standalone**, ``HyperParameters()`` returns each parameter's default (``default=``, else ``low`` /
  the first choice / ``False``), so ``build(HyperParameters())`` is the baseline model;
* **with fixed values**, ``HyperParameters(values=tuner.best_params)`` rebuilds a chosen configuration
  (parameters missing from ``values`` take their defaults).

Spaces are *define-by-run*: a parameter exists in a trial only if ``build`` asked for it, so a conditional
space is plain Python (``for i in range(hp.Int("layers", 1, 3)): hp.Int(f"units_{i}", ...)``). KerasTuner's
explicit form works too: under ``with hp.conditional_scope("model", ["cnn"]):`` (or with ``parent_name=`` /
``parent_values=``), a parameter is declared but returns ``None`` unless the parent has one of those values.

The signatures are KerasTuner's (``hp.Int(name, min_value, max_value, step=None, sampling="linear")``...);
loom's earlier keywords ``low=``, ``high=`` and ``log=True`` remain aliases. With ``sampling="log"``, a
``step`` multiplies (``hp.Int("batch", 16, 128, step=2, sampling="log")`` is one of 16, 32, 64, 128); a linear
``step`` need not divide the range (``hp.Int("n", 6, 13, step=3)`` is one of 6, 9, 12).

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

import contextlib
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from loom.errors import ConfigError

KINDS = ("int", "float", "choice", "boolean", "fixed")
SAMPLINGS = ("linear", "log")
_CHOICE_TYPES = (type(None), bool, int, float, str)
MAX_GRID_SIZE = 100_000


@dataclass(frozen=True)
class Param:
    """One declared hyperparameter: its kind, range or values, default, and the conditions that activate it.

    ``step`` adds between values on a linear scale and multiplies on a log scale (``log=True``); ``conditions``
    is a tuple of ``(parent name, parent values)`` pairs, all of which must hold for the parameter to be active.
    """

    name: str
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    step: float | int | None = None
    log: bool = False
    values: tuple = ()
    default: Any = None
    conditions: tuple = ()

    @property
    def multiplicative(self) -> bool:
        """Whether the values are ``low * step ** i`` (a log scale with a step)."""
        return self.log and self.step is not None and self.kind in ("int", "float")

    def top(self) -> float | int:
        """The largest legal value: ``high``, or the last point of the step grid below it."""
        if self.multiplicative:
            return self.grid()[-1]
        if self.step is None:
            return self.high
        count = math.floor((self.high - self.low) / self.step + 1e-9)
        return self.low + count * self.step if self.kind == "int" else round(self.low + count * self.step, 12)

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is a legal value of this parameter."""
        if self.kind in ("choice", "boolean", "fixed"):
            return any(_same(value, v) for v in self.values)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and int(value) != value:
            return False
        if self.multiplicative:
            return any(math.isclose(value, v, rel_tol=1e-9) for v in self.grid())
        if self.step is not None:
            offset = (value - self.low) / self.step
            if abs(offset - round(offset)) > 1e-9:
                return False
        return self.low <= value <= self.high

    def grid(self) -> list:
        """Every value, for grid search (a ``Float`` needs ``step``)."""
        if self.kind in ("choice", "boolean", "fixed"):
            return list(self.values)
        if self.multiplicative:
            count = int(math.floor(math.log(self.high / self.low, self.step) + 1e-9)) + 1
            points = [self.low * self.step ** i for i in range(count)]
            return [int(round(v)) for v in points] if self.kind == "int" else [round(v, 12) for v in points]
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
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
        values: ``{name: value}`` of every active parameter asked so far, in the order asked.
        space: ``{name: Param}`` of every parameter declared so far, active or not.

    Example:
        >>> def build_units(hp):
        ...     return [hp.Int(f"units_{i}", 8, 64, step=8) for i in range(hp.Int("layers", 1, 3))]
        >>> build_units(HyperParameters())
        [8]
        >>> build_units(HyperParameters(values={"layers": 2, "units_1": 16}))
        [8, 16]
        >>> hp = HyperParameters(values={"model": "cnn"})
        >>> kind = hp.Choice("model", ["mlp", "cnn"])
        >>> with hp.conditional_scope("model", ["mlp"]):
        ...     hp.Int("hidden", 16, 64) is None  # declared, but inactive: the model is a cnn
        True
    """

    def __init__(self, values: Mapping[str, Any] | None = None, trial: Any = None):
        if values is not None and not isinstance(values, Mapping):
            raise ConfigError(f"HyperParameters(values=...) must be a dict {{name: value}}; got "
                              f"{type(values).__name__}.")
        self._fixed = dict(values or {})
        self._trial = trial
        self._conditions: list[tuple[str, tuple]] = []
        self.values: dict[str, Any] = {}
        self.space: dict[str, Param] = {}

    # ------------------------------------------------------------------------------------------ declaring
    def Int(self, name: str, min_value: int | None = None, max_value: int | None = None, step: int | None = None,
            sampling: str | bool = "linear", default: int | None = None, parent_name: str | None = None,
            parent_values: Any = None, *, low: int | None = None, high: int | None = None,
            log: bool | None = None) -> int | None:
        """An integer in ``[min_value, max_value]`` (both included when on the step grid).

        Args:
            name: the parameter's name, unique in the space.
            min_value: smallest value (also the default default); ``low=`` is an alias.
            max_value: largest value; ``high=`` is an alias.
            step: spacing of the values (default ``None``: 1, or any integer with ``sampling="log"``); with
                ``sampling="log"``, the factor between values (> 1).
            sampling: ``"linear"`` (default) or ``"log"``; ``log=True`` is an alias of ``"log"``.
            default: value outside a search (default ``None``: ``min_value``).
            parent_name: a declared parameter this one depends on (default ``None``), with ``parent_values``:
                the values of the parent that make this one active (see :meth:`conditional_scope`).
        """
        low, high = _alias("Int", name, min_value, low, "min_value"), _alias("Int", name, max_value, high, "max_value")
        log = _is_log("Int", name, sampling, log)
        for label, v in (("min_value", low), ("max_value", high), ("step", step)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int)):
                raise ConfigError(f"hp.Int({name!r}): {label} must be an int; got {v!r}.")
        if step is None and not log:
            step = 1
        elif step == 1 and log:
            step = None  # every integer, on a log scale
        _check_range(name, "Int", low, high, step, log)
        param = Param(name, "int", low, high, step, log, default=low if default is None else default)
        if param.multiplicative:
            suggest = lambda t: t.suggest_categorical(name, param.grid())  # noqa: E731
        else:
            suggest = lambda t: t.suggest_int(name, low, param.top(), step=step or 1, log=log)  # noqa: E731
        return self._declare(param, suggest, parent_name, parent_values)

    def Float(self, name: str, min_value: float | None = None, max_value: float | None = None,
              step: float | None = None, sampling: str | bool = "linear", default: float | None = None,
              parent_name: str | None = None, parent_values: Any = None, *, low: float | None = None,
              high: float | None = None, log: bool | None = None) -> float | None:
        """A float in ``[min_value, max_value]``.

        Args:
            name: the parameter's name, unique in the space.
            min_value: smallest value (also the default default); ``low=`` is an alias.
            max_value: largest value; ``high=`` is an alias.
            step: spacing of the values (default ``None``: continuous); with ``sampling="log"``, the factor
                between values (> 1).
            sampling: ``"linear"`` (default) or ``"log"`` (for learning rates; needs ``min_value > 0``);
                ``log=True`` is an alias of ``"log"``.
            default: value outside a search (default ``None``: ``min_value``).
            parent_name: a declared parameter this one depends on (default ``None``), with ``parent_values``
                (see :meth:`conditional_scope`).
        """
        low, high = _alias("Float", name, min_value, low, "min_value"), _alias("Float", name, max_value, high,
                                                                              "max_value")
        log = _is_log("Float", name, sampling, log)
        for label, v in (("min_value", low), ("max_value", high)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"hp.Float({name!r}): {label} must be a number; got {v!r}.")
        _check_range(name, "Float", low, high, step, log)
        low, high = float(low), float(high)
        if default is None:
            default = low
        elif isinstance(default, int) and not isinstance(default, bool):
            default = float(default)
        param = Param(name, "float", low, high, step, log, default=default)
        if param.multiplicative:
            suggest = lambda t: t.suggest_categorical(name, param.grid())  # noqa: E731
        elif step is not None:
            suggest = lambda t: t.suggest_float(name, low, param.top(), step=step)  # noqa: E731
        else:
            suggest = lambda t: t.suggest_float(name, low, high, log=log)  # noqa: E731
        return self._declare(param, suggest, parent_name, parent_values)

    def Choice(self, name: str, values: list | tuple, ordered: bool | None = None, default: Any = None,
               parent_name: str | None = None, parent_values: Any = None) -> Any:
        """One of ``values`` (``None``, bools, ints, floats or strings).

        Args:
            name: the parameter's name, unique in the space.
            values: the options, a non-empty list without duplicates.
            ordered: accepted for KerasTuner's signature (default ``None``); the samplers treat choices as
                categories.
            default: value outside a search (default ``None``: ``None`` if it is an option, else the first).
            parent_name: a declared parameter this one depends on (default ``None``), with ``parent_values``
                (see :meth:`conditional_scope`).
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
        if default is None and not any(v is None for v in values):
            default = values[0]
        param = Param(name, "choice", values=tuple(values), default=default)
        return self._declare(param, lambda t: t.suggest_categorical(name, list(values)), parent_name, parent_values)

    def Boolean(self, name: str, default: bool = False, parent_name: str | None = None,
                parent_values: Any = None) -> bool | None:
        """``True`` or ``False`` (default: ``default``, ``False`` unless given); ``parent_name`` /
        ``parent_values`` as :meth:`conditional_scope`."""
        param = Param(name, "boolean", values=(False, True), default=bool(default))
        return self._declare(param, lambda t: t.suggest_categorical(name, [False, True]), parent_name, parent_values)

    def Fixed(self, name: str, value: Any, parent_name: str | None = None, parent_values: Any = None) -> Any:
        """A constant recorded with the others (shown in results and TensorBoard); returns ``value``."""
        if not isinstance(value, _CHOICE_TYPES):
            raise ConfigError(f"hp.Fixed({name!r}): value must be None, bool, int, float or str; got {value!r}.")
        return self._declare(Param(name, "fixed", values=(value,), default=value), None, parent_name, parent_values)

    @contextlib.contextmanager
    def conditional_scope(self, parent_name: str, parent_values: Any) -> Iterator[None]:
        """Parameters declared inside are active only while ``parent_name`` has one of ``parent_values``.

        An inactive parameter is recorded in :attr:`space` but returns ``None`` (and is not sampled); code
        under the scope runs either way. Scopes nest: all their conditions must hold.

        Args:
            parent_name: a parameter declared before the scope.
            parent_values: a list of its values (or one value) that activate the scope.
        """
        if parent_name not in self.space:
            raise ConfigError(f"hp.conditional_scope({parent_name!r}, ...): the parent hyperparameter must be "
                              f"declared first. Declared: {list(self.space)}.")
        values = tuple(parent_values) if isinstance(parent_values, (list, tuple)) else (parent_values,)
        parent = self.space[parent_name]
        illegal = [v for v in values if not parent.contains(v)]
        if illegal:
            raise ConfigError(f"hp.conditional_scope({parent_name!r}, ...): {illegal} are not values of "
                              f"{parent_name!r} ({_describe(parent)}).")
        self._conditions.append((parent_name, values))
        try:
            yield
        finally:
            self._conditions.pop()

    def is_active(self, name: str) -> bool:
        """Whether parameter ``name`` is declared and its conditions hold."""
        return name in self.values

    def get(self, name: str) -> Any:
        """The value of an active parameter already asked for."""
        if name in self.values:
            return self.values[name]
        if name in self.space:
            raise ConfigError(f"Hyperparameter {name!r} is currently inactive (its conditional_scope's parent "
                              f"value does not select it).")
        raise ConfigError(f"Hyperparameter {name!r} has not been declared yet. Declared: {list(self.values)}.")

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self.values

    # ------------------------------------------------------------------------------------------ resolving
    def _declare(self, param: Param, suggest, parent_name: str | None, parent_values: Any) -> Any:
        if parent_name is None:
            if parent_values is not None:
                raise ConfigError(f"Hyperparameter {param.name!r}: parent_values needs parent_name.")
            return self._resolve(param, suggest)
        with self.conditional_scope(parent_name, parent_values):
            return self._resolve(param, suggest)

    def _resolve(self, param: Param, suggest) -> Any:
        if not isinstance(param.name, str) or not param.name:
            raise ConfigError(f"A hyperparameter name must be a non-empty string; got {param.name!r}.")
        if not param.contains(param.default):
            raise ConfigError(f"Hyperparameter {param.name!r}: default={param.default!r} is not a legal value "
                              f"({_describe(param)}).")
        param = dataclasses.replace(param, conditions=tuple(self._conditions))
        known = self.space.get(param.name)
        if known is not None and dataclasses.replace(known, conditions=()) != dataclasses.replace(param, conditions=()):
            raise ConfigError(f"Hyperparameter {param.name!r} was declared twice with different settings: "
                              f"{_describe(known)} and {_describe(param)}. Use two names.")
        self.space.setdefault(param.name, param)
        if not self._active(param.conditions):
            return None
        if param.name not in self.values:
            self.values[param.name] = self._value_of(param, suggest)
        return self.values[param.name]

    def _active(self, conditions: tuple) -> bool:
        return all(parent in self.values and any(_same(self.values[parent], v) for v in values)
                   for parent, values in conditions)

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


def _alias(what: str, name: str, value: Any, alias: Any, label: str) -> Any:
    """``min_value`` / ``max_value``, given by KerasTuner's name or loom's ``low`` / ``high``."""
    other = {"min_value": "low", "max_value": "high"}[label]
    if value is not None and alias is not None:
        raise ConfigError(f"hp.{what}({name!r}): pass {label} or {other}, not both.")
    if value is None and alias is None:
        raise ConfigError(f"hp.{what}({name!r}): {label} is required.")
    return alias if value is None else value


def _is_log(what: str, name: str, sampling: Any, log: bool | None) -> bool:
    """``sampling`` (``"linear"`` / ``"log"``, or a bool passed where loom's ``log`` was) and ``log=`` as one flag."""
    if isinstance(sampling, bool):
        sampling = "log" if sampling else "linear"
    if isinstance(sampling, str):
        sampling = sampling.lower()
    if sampling == "reverse_log":
        raise ConfigError(f"hp.{what}({name!r}): sampling='reverse_log' is not supported by loom's Optuna samplers; "
                          f"use 'linear' or 'log'.")
    if sampling not in SAMPLINGS:
        raise ConfigError(f"hp.{what}({name!r}): sampling must be one of {list(SAMPLINGS)}; got {sampling!r}.")
    return bool(log) or sampling == "log"


def _check_range(name: str, what: str, low: float, high: float, step: float | None, log: bool) -> None:
    if low > high:
        raise ConfigError(f"hp.{what}({name!r}): min_value ({low}) must not exceed max_value ({high}).")
    if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float)) or step <= 0):
        raise ConfigError(f"hp.{what}({name!r}): step must be a positive number; got {step!r}.")
    if log and low <= 0:
        raise ConfigError(f"hp.{what}({name!r}): sampling='log' needs min_value > 0; got min_value={low}.")
    if log and step is not None and step <= 1:
        raise ConfigError(f"hp.{what}({name!r}): with sampling='log', step is the factor between values and must "
                          f"be > 1; got step={step}.")


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
    if param.multiplicative:
        return f"one of {param.grid()}"
    extra = (f", step={param.step}" if param.step not in (None, 1) else "") + (", log" if param.log else "")
    return f"{param.kind} in [{param.low}, {param.high}]{extra}"
