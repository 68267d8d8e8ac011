"""Losses with Keras 3's names, aliases, defaults and numerics, written in torch.

Functions (``mean_squared_error``, ``binary_crossentropy``, ...) return per-sample values; classes
(``MeanSquaredError``, ``BinaryCrossentropy``, ...) add sample weighting and reduction. :func:`get`
resolves what ``compile(loss=...)`` accepts; :func:`resolve` also handles ``'crossentropy'``/``'ce'``
from the target and output shapes, as Keras's ``compile`` does.

Example:
    >>> import torch
    >>> from loom import losses
    >>> losses.get("mse") is losses.mean_squared_error
    True
    >>> loss = losses.resolve("ce", y_true_shape=(None,), y_pred_shape=(None, 10))
    >>> loss.name, loss.fn.__name__
    ('ce', 'sparse_categorical_crossentropy')
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from loom.errors import ConfigError
from loom.losses.classes import (
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, CosineSimilarity, Hinge, Huber, KLDivergence,
    LogCosh, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError, MeanSquaredLogarithmicError,
    Poisson, SparseCategoricalCrossentropy, SquaredHinge)
from loom.losses.functions import (
    binary_crossentropy, categorical_crossentropy, categorical_hinge, cosine_similarity, hinge, huber,
    kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error, mean_squared_error,
    mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge)
from loom.losses.loss import Loss, LossFunctionWrapper, reduce_weighted_values, target_kind
from loom.losses.circle import Circle, circle
from loom.losses.ctc import CTC, ctc
from loom.losses.focal import (
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy,
    binary_focal_crossentropy, categorical_focal_crossentropy, categorical_generalized_cross_entropy)
from loom.losses.overlap import Dice, Tversky, dice, tversky

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence

_CLASSES = (Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
            MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge,
            KLDivergence, Poisson, BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy,
            BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy, Circle, CTC,
            Dice, Tversky)
_FUNCTIONS = (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
              mean_squared_logarithmic_error, cosine_similarity, huber, log_cosh, hinge, squared_hinge,
              categorical_hinge, kl_divergence, poisson, binary_crossentropy, categorical_crossentropy,
              sparse_categorical_crossentropy, binary_focal_crossentropy, categorical_focal_crossentropy,
              categorical_generalized_cross_entropy, circle, ctc, dice, tversky)
_ALIASES = {"mse": mean_squared_error, "MSE": mean_squared_error, "mae": mean_absolute_error,
            "MAE": mean_absolute_error, "mape": mean_absolute_percentage_error,
            "MAPE": mean_absolute_percentage_error, "msle": mean_squared_logarithmic_error,
            "MSLE": mean_squared_logarithmic_error, "kld": kl_divergence, "KLD": kl_divergence,
            "bce": binary_crossentropy, "BCE": binary_crossentropy, "logcosh": log_cosh,
            "kullback_leibler_divergence": kl_divergence}
ALL_OBJECTS: dict[str, Any] = {**{c.__name__: c for c in _CLASSES}, **{f.__name__: f for f in _FUNCTIONS}, **_ALIASES}

__all__ = ["Loss", "LossFunctionWrapper", *(c.__name__ for c in _CLASSES[2:]), *(f.__name__ for f in _FUNCTIONS),
           "mse", "mae", "mape", "msle", "kld", "get", "resolve", "serialize", "deserialize",
           "reduce_weighted_values", "target_kind"]


def serialize(loss: Any) -> Any:
    """A loss object as ``{'class_name', 'config'}``; a built-in function as its name."""
    if isinstance(loss, Loss):
        from loom.registry import registered_name
        return {"class_name": registered_name(type(loss)), "config": loss.get_config()}
    name = getattr(loss, "__name__", None)
    if name in ALL_OBJECTS and ALL_OBJECTS[name] is loss:
        return name
    raise ConfigError(f"Cannot serialize loss {loss!r}: only loom Loss objects and built-in loss functions "
                      "can be saved. Subclass loom.losses.Loss and register it instead.")


def deserialize(config: Any, custom_objects: dict | None = None) -> Any:
    """Inverse of :func:`serialize` (a name or a ``{'class_name', 'config'}`` dict).

    Raises:
        ConfigError: unknown name; UnsafeLoadError: unregistered custom class.
    """
    if isinstance(config, str):
        return _lookup(config, custom_objects)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"A loss config must be a name or a dict with 'class_name'. Received: {config!r}")
    name = config["class_name"]
    if name == "function":  # Keras writes functions as {'class_name': 'function', 'config': name}
        return _lookup(config["config"], custom_objects)
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
    elif name in ALL_OBJECTS and inspect.isclass(ALL_OBJECTS[name]):
        cls = ALL_OBJECTS[name]
    else:
        from loom.registry import get_registered
        cls = get_registered(name, custom_objects) if ">" in name else _lookup(name, custom_objects)
    return cls.from_config(dict(config.get("config", {})))


def _lookup(name: str, custom_objects: dict | None = None) -> Any:
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if name in ALL_OBJECTS:
        return ALL_OBJECTS[name]
    raise ConfigError(f"Unknown loss '{name}'. Valid names: {sorted(ALL_OBJECTS, key=str.lower)}")


def get(identifier: Any) -> Loss | Callable | None:
    """A loss from a name, a config dict, a class, an instance or a function, as ``keras.losses.get``.

    Names of functions give the function (``'mse'`` -> :func:`mean_squared_error`); class names and
    classes give a default instance.

    Raises:
        ConfigError: the identifier is not recognised; the message lists the valid names.
    """
    if identifier is None:
        return None
    obj = identifier
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _lookup(identifier)
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj):
        return obj
    raise ConfigError(f"Could not interpret loss identifier: {identifier!r}. "
                      f"Valid names: {sorted(ALL_OBJECTS, key=str.lower)}")


def resolve(identifier: Any, y_true_shape: tuple | None = None, y_pred_shape: tuple | None = None) -> Loss | None:
    """The :class:`Loss` object ``compile`` uses for ``identifier``, as Keras's ``compile_utils.get_loss``.

    ``'crossentropy'`` / ``'ce'`` pick binary (output last dim 1), sparse categorical (``y_true`` of lower
    rank, or last dim 1 against several classes) or categorical crossentropy. Functions are wrapped in a
    :class:`LossFunctionWrapper` named after the string the user gave (or the function's name).
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        if y_true_shape is None or y_pred_shape is None:
            raise ConfigError(f"loss='{identifier}' needs the target and output shapes to pick a crossentropy.")
        is_binary, is_sparse = target_kind(tuple(y_true_shape), tuple(y_pred_shape))
        obj = (binary_crossentropy if is_binary else
               sparse_categorical_crossentropy if is_sparse else categorical_crossentropy)
    else:
        obj = get(identifier)
    if isinstance(obj, Loss):
        return obj
    name = identifier if isinstance(identifier, str) else getattr(obj, "__name__", type(obj).__name__)
    return LossFunctionWrapper(obj, name=name)
