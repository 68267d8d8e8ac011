"""KerasTuner's ``HyperModel`` (a model-building object) and ``Objective`` (a metric and its direction).

Both are plain descriptions the tuners of :mod:`loom.tuning.kerastuner` read: ``build(hp)`` (and optionally
``fit(hp, model, ...)``) from a ``HyperModel``, the metric's name and direction from an ``Objective``.

Example:
    >>> as_hypermodel(lambda hp: "a model", "demo").build(None)
    'a model'
    >>> objective_of(Objective("val_auc", "max"), "demo"), objective_of("val_accuracy", "demo")
    (('val_auc', 'max'), ('val_accuracy', None))
"""

from __future__ import annotations

from typing import Any, Callable

from loom.errors import ConfigError
from loom.tuning.space import HyperParameters

_DIRECTIONS = ("min", "max")


class Objective:
    """A metric to optimize and its direction, as KerasTuner's ``kt.Objective``.

    Args:
        name: a logged metric, e.g. ``"val_accuracy"``.
        direction: ``"min"`` or ``"max"``.

    Example:
        >>> print(Objective("val_accuracy", direction="max"))
        Objective(name="val_accuracy", direction="max")
    """

    def __init__(self, name: str, direction: str):
        if not isinstance(name, str) or not name:
            raise ConfigError(f"kt.Objective: name must be a metric name such as 'val_accuracy'; got {name!r}.")
        if direction not in _DIRECTIONS:
            raise ConfigError(f"kt.Objective({name!r}): direction must be 'min' or 'max'; got {direction!r}.")
        self.name = name
        self.direction = direction

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Objective) and (self.name, self.direction) == (other.name, other.direction)

    def __hash__(self) -> int:
        return hash((self.name, self.direction))

    def __str__(self) -> str:
        return f'Objective(name="{self.name}", direction="{self.direction}")'

    __repr__ = __str__


class HyperModel:
    """A model-building object, as KerasTuner's ``kt.HyperModel``: subclass it and define ``build(self, hp)``.

    Override ``fit(self, hp, model, *args, **kwargs)`` to tune training itself (it must call ``model.fit`` with
    the ``callbacks`` it receives, which score the trial). A subclass need not call ``super().__init__``.

    Args:
        name: a name for the hypermodel (default ``None``).
        tunable: accepted for KerasTuner's signature (default ``True``).

    Example:
        >>> import loom as keras
        >>> class SimpleMLP(HyperModel):
        ...     def __init__(self, num_classes):
        ...         self.num_classes = num_classes
        ...     def build(self, hp):
        ...         model = keras.Sequential([keras.Input((8,)),
        ...                                   keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
        ...                                   keras.layers.Dense(self.num_classes, activation="softmax")])
        ...         model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        ...         return model
        >>> SimpleMLP(num_classes=10).build(HyperParameters()).count_params()
        314
    """

    name: str | None = None
    tunable: bool = True

    def __init__(self, name: str | None = None, tunable: bool = True):
        self.name = name
        self.tunable = tunable

    def build(self, hp: HyperParameters) -> Any:
        """Return a compiled model for the hyperparameters ``hp``."""
        raise NotImplementedError(f"{type(self).__name__} must define build(self, hp) returning a compiled model.")

    def fit(self, hp: HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        """Train ``model``; by default ``model.fit(*args, **kwargs)``."""
        return model.fit(*args, **kwargs)


class _FunctionHyperModel(HyperModel):
    """A ``build(hp)`` function as a :class:`HyperModel`."""

    def __init__(self, build: Callable[[HyperParameters], Any]):
        super().__init__(name=getattr(build, "__name__", None))
        self._build = build

    def build(self, hp: HyperParameters) -> Any:
        return self._build(hp)


def as_hypermodel(hypermodel: Any, owner: str) -> HyperModel:
    """``hypermodel`` as a :class:`HyperModel` (a ``build(hp)`` function is wrapped); ``owner`` names the caller."""
    if isinstance(hypermodel, HyperModel):
        return hypermodel
    if callable(hypermodel):
        return _FunctionHyperModel(hypermodel)
    raise ConfigError(f"{owner}: hypermodel must be a build(hp) function or a kt.HyperModel; got {hypermodel!r}.")


def objective_of(objective: Any, owner: str) -> tuple[str, str | None]:
    """``(metric name, direction or None to infer it)``."""
    if objective is None:
        return "val_loss", "min"
    if isinstance(objective, Objective):
        return objective.name, objective.direction
    if isinstance(objective, str):
        return objective, None
    if isinstance(objective, (list, tuple)):
        raise ConfigError(f"{owner}: several objectives are not supported (loom's study optimizes one metric); "
                          f"got {objective!r}. Pass one name or kt.Objective.")
    raise ConfigError(f"{owner}: objective must be a metric name or kt.Objective(name, direction); got "
                      f"{objective!r}.")
