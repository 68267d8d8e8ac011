"""Metrics with Keras 3's names and semantics, accumulating on device without host synchronisation.

:func:`get` resolves names, configs, classes and instances as ``keras.metrics.get``; :func:`resolve` is
what ``compile(metrics=[...])`` needs: it also turns ``'accuracy'``/``'acc'`` and ``'crossentropy'``/
``'ce'`` into the binary, sparse or categorical variant from the target/output shapes (and the loss),
keeping the user's string as the metric's name (``'acc'`` reports as ``acc``).

Example:
    >>> from loom import metrics
    >>> m = metrics.resolve("acc", y_true_shape=(None,), y_pred_shape=(None, 10))
    >>> type(m).__name__, m.name
    ('SparseCategoricalAccuracy', 'acc')
    >>> metrics.get("mae").name
    'mean_absolute_error'
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from loom import backend
from loom.errors import ConfigError
from loom.losses import functions as _loss_fns
from loom.losses.loss import target_kind
from loom.metrics.accuracy import (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    TopKCategoricalAccuracy, accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
    sparse_top_k_categorical_accuracy, top_k_categorical_accuracy)
from loom.metrics.auc import AUC
from loom.metrics.confusion import (
    FalseNegatives, FalsePositives, Precision, Recall, TrueNegatives, TruePositives)
from loom.metrics.metric import Mean, MeanMetricWrapper, Metric, Sum
from loom.metrics.probabilistic import (
    BinaryCrossentropy, CategoricalCrossentropy, CategoricalHinge, Hinge, KLDivergence, Poisson,
    SparseCategoricalCrossentropy, SquaredHinge)
from loom.metrics.regression import (
    CosineSimilarity, LogCoshError, MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredError,
    MeanSquaredLogarithmicError, RootMeanSquaredError)
from loom.metrics.at_constraint import (
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity)
from loom.metrics.correlation import (
    ConcordanceCorrelation, PearsonCorrelation, concordance_correlation, pearson_correlation)
from loom.metrics.f_score import F1Score, FBetaScore
from loom.metrics.iou import BinaryIoU, IoU, MeanIoU, OneHotIoU, OneHotMeanIoU
from loom.metrics.r2_score import R2Score
from loom.losses.focal import binary_focal_crossentropy, categorical_focal_crossentropy
from loom.losses.functions import (
    binary_crossentropy, categorical_crossentropy, categorical_hinge, hinge, huber, kl_divergence, log_cosh,
    mean_absolute_error, mean_absolute_percentage_error, mean_squared_error, mean_squared_logarithmic_error,
    poisson, sparse_categorical_crossentropy, squared_hinge)
_LOSSOPT_CLASSES = (F1Score, FBetaScore, IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU, R2Score,
                    PearsonCorrelation, ConcordanceCorrelation, PrecisionAtRecall, RecallAtPrecision,
                    SensitivityAtSpecificity, SpecificityAtSensitivity)
_LOSSOPT_FUNCTIONS = (binary_focal_crossentropy, categorical_focal_crossentropy, pearson_correlation,
                      concordance_correlation)
_LOSSOPT_NAMES = ["binary_crossentropy", "categorical_crossentropy", "categorical_hinge", "hinge", "huber",
                  "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
                  "mean_squared_error", "mean_squared_logarithmic_error", "poisson",
                  "sparse_categorical_crossentropy", "squared_hinge", "binary_focal_crossentropy",
                  "categorical_focal_crossentropy", "pearson_correlation", "concordance_correlation"]

_CLASSES = (Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
            SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, AUC, Precision,
            Recall, TruePositives, FalsePositives, TrueNegatives, FalseNegatives, MeanSquaredError,
            MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, RootMeanSquaredError,
            CosineSimilarity, LogCoshError, BinaryCrossentropy, CategoricalCrossentropy,
            SparseCategoricalCrossentropy, KLDivergence, Poisson, Hinge, SquaredHinge, CategoricalHinge,
            *_LOSSOPT_CLASSES)
ALL_OBJECTS: dict[str, type] = {c.__name__: c for c in _CLASSES}
ALL_OBJECTS.update({backend.snake_case(c.__name__): c for c in _CLASSES})
ALL_OBJECTS.update({"bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError,
                    "MSE": MeanSquaredError, "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
                    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
                    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError})

_FUNCTIONS = {f.__name__: f for f in (
    accuracy, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
    sparse_top_k_categorical_accuracy, _loss_fns.mean_squared_error, _loss_fns.mean_absolute_error,
    _loss_fns.mean_absolute_percentage_error, _loss_fns.mean_squared_logarithmic_error, _loss_fns.log_cosh,
    _loss_fns.binary_crossentropy, _loss_fns.categorical_crossentropy, _loss_fns.sparse_categorical_crossentropy,
    _loss_fns.kl_divergence, _loss_fns.poisson, _loss_fns.hinge, _loss_fns.squared_hinge,
    _loss_fns.categorical_hinge, _loss_fns.huber, *_LOSSOPT_FUNCTIONS)}
_SPECIAL = ("accuracy", "acc", "crossentropy", "ce")

__all__ = [c.__name__ for c in _CLASSES] + [
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "get", "resolve", "serialize",
    "deserialize", *_LOSSOPT_NAMES]


def _valid_names() -> list[str]:
    return sorted(set(ALL_OBJECTS) | set(_SPECIAL), key=str.lower)


def functions_by_name(name: str) -> Callable:
    """A built-in per-sample metric/loss function by name (used to rebuild ``MeanMetricWrapper`` configs)."""
    if name not in _FUNCTIONS:
        raise ConfigError(f"Unknown metric function '{name}'. Valid: {sorted(_FUNCTIONS)}")
    return _FUNCTIONS[name]


def serialize(metric: Metric) -> dict[str, Any]:
    """``{'class_name': ..., 'config': ...}`` for a metric, as ``keras.metrics.serialize``."""
    from loom.registry import registered_name
    if not isinstance(metric, Metric):
        raise ConfigError(f"serialize() expects a loom Metric. Received: {metric!r}")
    return {"class_name": registered_name(type(metric)), "config": metric.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Metric:
    """Rebuild a metric from :func:`serialize`'s output (Keras-written configs too).

    Raises:
        ConfigError: unknown class name; UnsafeLoadError: unregistered custom class.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"A metric config must be a dict with 'class_name' and 'config'. Received: {config!r}")
    name = config["class_name"]
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
    elif name in ALL_OBJECTS:
        cls = ALL_OBJECTS[name]
    elif ">" in name:
        from loom.registry import get_registered
        cls = get_registered(name, custom_objects)
    else:
        raise ConfigError(f"Unknown metric '{name}'. Valid names: {_valid_names()}")
    return cls.from_config(dict(config.get("config", {})))


def get(identifier: Any) -> Metric | Callable | None:
    """A metric from a name (``'mae'``, ``'AUC'``, ``'binary_accuracy'``...), a config dict, a class or an instance.

    Names and classes give a new instance with its default name; functions pass through.

    Raises:
        ConfigError: the identifier is not recognised; the message lists the valid names.
    """
    if identifier is None:
        return None
    obj = identifier
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier not in ALL_OBJECTS:
            raise ConfigError(f"Unknown metric '{identifier}'. Valid names: {_valid_names()}")
        obj = ALL_OBJECTS[identifier]
    if inspect.isclass(obj):
        obj = obj()
    if callable(obj) or isinstance(obj, Metric):
        return obj
    raise ConfigError(f"Could not interpret metric identifier: {identifier!r}. Valid names: {_valid_names()}")


def _is_binary_crossentropy(loss: Any) -> bool:
    from loom import losses
    if isinstance(loss, str):
        return loss in ("binary_crossentropy", "bce", "BCE", "BinaryCrossentropy")
    if isinstance(loss, (losses.BinaryCrossentropy, BinaryCrossentropy)) and not isinstance(
            loss, losses.CategoricalCrossentropy):
        return True
    fn = getattr(loss, "fn", loss)
    return fn is _loss_fns.binary_crossentropy


def resolve(identifier: Any, y_true_shape: tuple | None = None, y_pred_shape: tuple | None = None,
            loss: Any = None) -> Metric:
    """The :class:`Metric` ``compile`` uses for ``identifier`` (as Keras's ``compile_utils.get_metric``).

    ``'accuracy'``/``'acc'`` become :class:`BinaryAccuracy` when the output's last dimension is 1 or
    ``loss`` is binary crossentropy, :class:`SparseCategoricalAccuracy` when ``y_true`` has lower rank (or a
    last dimension of 1 against several classes), else :class:`CategoricalAccuracy`.
    ``'crossentropy'``/``'ce'`` pick the crossentropy metric the same way. A string identifier becomes the
    metric's name; a function is wrapped in :class:`MeanMetricWrapper` named after it.

    Raises:
        ConfigError: unknown name, or a shape-dependent name without shapes.
    """
    if identifier is None:
        raise ConfigError("Expected a metric, received None.")
    special = str(identifier).lower() if isinstance(identifier, str) else None
    if special in _SPECIAL:
        if y_true_shape is None or y_pred_shape is None:
            raise ConfigError(f"metric '{identifier}' needs the target and output shapes to pick its variant.")
        is_binary, is_sparse = target_kind(tuple(y_true_shape), tuple(y_pred_shape))
        is_binary = is_binary or _is_binary_crossentropy(loss)
        if special in ("accuracy", "acc"):
            cls = BinaryAccuracy if is_binary else SparseCategoricalAccuracy if is_sparse else CategoricalAccuracy
        else:
            cls = (BinaryCrossentropy if is_binary else
                   SparseCategoricalCrossentropy if is_sparse else CategoricalCrossentropy)
        return cls(name=identifier)
    metric = get(identifier)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric, name=getattr(metric, "__name__", None))
    if isinstance(identifier, str):
        metric.name = identifier
    return metric
