"""Watching one logged quantity: should it go down or up, and did it improve? Decided once, here.

``EarlyStopping``, ``ModelCheckpoint`` and ``ReduceLROnPlateau`` (and the tuner) all ask the same two
questions about a metric such as ``'val_loss'`` or ``'val_acc'``:

* :func:`infer_mode`: ``'min'`` or ``'max'`` for ``mode='auto'``. Losses go down. A compiled metric object of
  the model decides by its class (accuracies, AUC, precision, recall... go up; errors, crossentropies, hinges
  go down; a custom metric may set ``_direction = 'up'`` or ``'down'``, as Keras 3). Otherwise the name
  decides (``'acc'``, ``'accuracy'``, ``'auc'``, ``'precision'``... go up). A name that says neither raises.
* :func:`is_improvement`: ``current`` beats ``reference`` by more than ``min_delta`` in that direction
  (any value beats ``None``), exactly Keras's rule.

:class:`MonitorCallback` packages both for callbacks, with the best value so far in its state dict.

Example:
    >>> infer_mode("val_loss"), infer_mode("val_acc"), infer_mode("auc")
    ('min', 'max', 'max')
    >>> is_improvement(0.50, 0.52, "min", min_delta=0.01), is_improvement(0.515, 0.52, "min", min_delta=0.01)
    (True, False)
    >>> is_improvement(0.9, None, "max")
    True
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Iterable, Mapping

from loom.callbacks.callback import Callback
from loom.errors import ConfigError

MODES = ("auto", "min", "max")

#: Metric classes whose value should go up; every other built-in metric class should go down.
_UP_CLASSES = {"Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
               "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "AUC", "Precision", "Recall",
               "TruePositives", "TrueNegatives", "CosineSimilarity", "F1Score", "FBetaScore", "R2Score",
               "IoU", "MeanIoU", "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
               "SpecificityAtSensitivity", "PearsonCorrelation", "ConcordanceCorrelation"}
#: Words in a metric's name that say it should go up / down (checked in this order: up first).
_UP_WORDS = re.compile(r"(^|_)(acc|accuracy|auc|precision|recall|f1|f1_score|fbeta|fbeta_score|iou|r2|r2_score|"
                       r"true_positives|true_negatives|cosine_similarity|correlation|top_k)($|_)")
_DOWN_WORDS = re.compile(r"(^|_)(loss|error|mse|mae|mape|msle|rmse|crossentropy|ce|hinge|kl_divergence|kld|"
                         r"poisson|logcosh|log_cosh|false_positives|false_negatives|huber)($|_)")


def infer_mode(monitor: str, mode: str = "auto", metrics: Iterable[Any] = ()) -> str:
    """``'min'`` or ``'max'``: how ``monitor`` should move (see the module docstring).

    Args:
        monitor: the log key, e.g. ``'val_loss'``, ``'acc'``, ``'val_output_a_auc'``.
        mode: ``'auto'`` (default), ``'min'`` or ``'max'``; the last two are returned as they are.
        metrics: the model's compiled metric objects (default none), consulted by name for ``'auto'``.

    Raises:
        ConfigError: ``mode`` is not one of ``'auto'``, ``'min'``, ``'max'``, or ``'auto'`` cannot tell.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {list(MODES)}; got {mode!r}.")
    if mode != "auto":
        return mode
    name = monitor[4:] if monitor.startswith("val_") else monitor
    if name == "loss" or name.endswith("_loss"):
        return "min"
    for metric in metrics:
        metric_name = getattr(metric, "name", None)
        if metric_name and (name == metric_name or name.endswith("_" + metric_name)):
            direction = getattr(metric, "_direction", None)
            if direction in ("up", "down"):
                return "max" if direction == "up" else "min"
            return "max" if type(metric).__name__ in _UP_CLASSES else "min"
    if _UP_WORDS.search(name):
        return "max"
    if _DOWN_WORDS.search(name):
        return "min"
    raise ConfigError(f"Cannot tell whether monitor={monitor!r} should be minimized or maximized. Pass "
                      f"mode='min' (lower is better) or mode='max' (higher is better).")


def is_improvement(current: float, reference: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``current`` beats ``reference`` by more than ``|min_delta|`` (``mode`` ``'min'`` or ``'max'``).

    Any ``current`` beats ``reference=None``. NaN never improves on a number.
    """
    if reference is None:
        return True
    delta = abs(min_delta)
    if mode == "min":
        return current + delta < reference
    if mode == "max":
        return current - delta > reference
    raise ConfigError(f"mode must be 'min' or 'max' here (resolve 'auto' with infer_mode); got {mode!r}.")


def monitored_value(logs: Mapping | None, monitor: str, owner: str) -> float | None:
    """``logs[monitor]`` as a float, or ``None`` with a warning that lists the keys that exist."""
    logs = logs or {}
    value = logs.get(monitor)
    if value is None:
        warnings.warn(f"{owner} is conditioned on metric `{monitor}` which is not available. Available metrics "
                      f"are: {','.join(logs.keys())}", stacklevel=3)
        return None
    return float(value)


class MonitorCallback(Callback):
    """Base of callbacks that watch ``monitor`` and keep the best value so far in :attr:`best`.

    Args:
        monitor: the log key to watch (default ``'val_loss'``).
        mode: ``'auto'`` (default), ``'min'`` or ``'max'`` (see :func:`infer_mode`).
        baseline: initial best value (default ``None``: the first value seen).
        min_delta: how much better a value must be to count as an improvement (default 0).

    Example:
        >>> cb = MonitorCallback(monitor="val_acc", min_delta=0.01)
        >>> cb.best = 0.80
        >>> cb.improves(0.805), cb.improves(0.82)
        (False, True)
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", baseline: float | None = None,
                 min_delta: float = 0.0):
        super().__init__()
        if mode not in MODES:
            raise ConfigError(f"{type(self).__name__}: mode must be one of {list(MODES)}; got {mode!r}.")
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self._direction: str | None = None

    @property
    def direction(self) -> str:
        """``'min'`` or ``'max'``, resolved on first use (the model's metrics exist by then)."""
        if self._direction is None:
            metrics = getattr(self.model, "metrics", None) or ()
            self._direction = infer_mode(self.monitor, self.mode, metrics)
        return self._direction

    def improves(self, current: float, reference: Any = "best") -> bool:
        """Whether ``current`` improves on ``reference`` (default: :attr:`best`)."""
        return is_improvement(current, self.best if reference == "best" else reference, self.direction,
                              self.min_delta)

    def get_monitor_value(self, logs: Mapping | None) -> float | None:
        """The monitored value in ``logs`` (a float), or ``None`` with a warning listing the keys."""
        return monitored_value(logs, self.monitor, type(self).__name__)

    def state_dict(self) -> dict[str, Any]:
        return {"best": None if self.best is None else float(self.best)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best = state.get("best")

