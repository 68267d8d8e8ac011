"""Confusion-matrix metrics: TP/FP/TN/FN counts, Precision, Recall and AUC, with Keras 3's semantics.

Counts are accumulated per threshold on the data's device. With evenly spaced thresholds (AUC's default)
each prediction falls in one bucket and a reversed cumulative sum gives every threshold's counts in
O(n + thresholds), as Keras's optimized path; other thresholds compare every prediction with every
threshold. A prediction counts as positive when it is strictly greater than the threshold.

Example:
    >>> import torch
    >>> from loom.metrics import AUC, Precision
    >>> y_true, y_pred = torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.1, 0.6, 0.4, 0.9])
    >>> Precision()(y_true, y_pred)
    tensor(0.5000)
    >>> round(float(AUC()(y_true, y_pred)), 4)
    0.75
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom import backend
from loom.errors import ConfigError
from loom.losses.loss import squeeze_or_expand_to_same_rank
from loom.metrics.metric import Metric, _divide_no_nan

EPSILON = 1e-7
NEG_INF = -1e10
_KINDS = ("tp", "fp", "tn", "fn")


def parse_thresholds(thresholds: Any, default: float) -> list[float]:
    """A list of thresholds in [0, 1] (``default`` when None)."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    bad = [t for t in values if t is None or t < 0 or t > 1]
    if bad:
        raise ConfigError(f"Threshold values must be in [0, 1]. Received: {bad}")
    return [float(t) for t in values]


def is_evenly_distributed(thresholds: list[float]) -> bool:
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=EPSILON))


def _filter_top_k(x: torch.Tensor, k: int) -> torch.Tensor:
    top = torch.topk(x, k, dim=-1).indices
    keep = torch.zeros_like(x).scatter_(-1, top, 1.0)
    return x * keep + NEG_INF * (1 - keep)


def _prepare(y_true: Any, y_pred: Any, sample_weight: Any, dtype: torch.dtype, top_k: int | None,
             class_id: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    y_pred = backend.to_tensor(y_pred, dtype=dtype)
    y_true = backend.to_tensor(y_true, dtype=dtype, device=y_pred.device)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = backend.to_tensor(sample_weight, dtype=dtype, device=y_pred.device).unsqueeze(-1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.dim() == 1:
            raise ConfigError("When class_id is provided, y_pred must be a 2D array with shape "
                              f"(num_samples, num_classes), found shape: {tuple(y_pred.shape)}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    return y_true, y_pred, sample_weight


def _bucketed_counts(y_true, y_pred, weights, num_thresholds, with_epsilon, multi_label):
    """Keras's optimized path: counts for evenly spaced thresholds via buckets and a reversed cumsum."""
    if not multi_label:
        y_true, y_pred, weights = y_true.reshape(-1), y_pred.reshape(-1), weights.reshape(-1)
    y_true = y_true.bool().to(y_pred.dtype)
    true_labels, false_labels = y_true * weights, (1.0 - y_true) * weights
    buckets = torch.ceil(torch.clamp(y_pred, 0.0, 1.0) * (num_thresholds - 1)) - 1
    if with_epsilon:
        buckets = torch.relu(buckets)
    # Bucket -1 (a prediction of exactly 0 without epsilon thresholds) goes to a spare row that is dropped.
    buckets = torch.where(buckets < 0, num_thresholds, buckets).long()
    shape = (num_thresholds + 1,) + tuple(y_pred.shape[1:])
    tp = torch.zeros(shape, dtype=y_pred.dtype, device=y_pred.device).scatter_add_(0, buckets, true_labels)
    fp = torch.zeros(shape, dtype=y_pred.dtype, device=y_pred.device).scatter_add_(0, buckets, false_labels)
    tp, fp = tp[:-1].flip(0).cumsum(0).flip(0), fp[:-1].flip(0).cumsum(0).flip(0)
    return {"tp": tp, "fp": fp, "tn": false_labels.sum(0) - fp, "fn": true_labels.sum(0) - tp}


def _tiled_counts(y_true, y_pred, weights, thresholds, multi_label, kinds):
    """Compare every prediction with every threshold (any thresholds)."""
    if multi_label:
        preds, labels, w = y_pred.unsqueeze(0), y_true.bool().unsqueeze(0), weights.unsqueeze(0)
        thresholds = thresholds.reshape(-1, 1, 1)
    else:
        preds, labels, w = y_pred.reshape(1, -1), y_true.bool().reshape(1, -1), weights.reshape(1, -1)
        thresholds = thresholds.reshape(-1, 1)
    pred_pos = preds > thresholds
    conditions = {"tp": (labels, pred_pos), "fp": (~labels, pred_pos), "tn": (~labels, ~pred_pos),
                  "fn": (labels, ~pred_pos)}
    zero = torch.zeros((), dtype=y_pred.dtype, device=y_pred.device)
    return {k: torch.where(conditions[k][0] & conditions[k][1], w, zero).sum(1) for k in kinds}


def confusion_counts(y_true: torch.Tensor, y_pred: torch.Tensor, sample_weight: torch.Tensor | None,
                     thresholds: torch.Tensor, evenly: bool, with_epsilon: bool = False, kinds: tuple = _KINDS,
                     multi_label: bool = False, label_weights: torch.Tensor | None = None
                     ) -> dict[str, torch.Tensor]:
    """Weighted TP/FP/TN/FN per threshold (shape ``(num_thresholds,)``, or ``(num_thresholds, labels)``).

    ``evenly`` selects the bucketed path; ``with_epsilon`` says the outer thresholds lie just outside
    [0, 1] (AUC's), so predictions of exactly 0 still land in the first bucket.
    """
    weights = torch.ones((), dtype=y_pred.dtype, device=y_pred.device)
    if sample_weight is not None:
        weights = torch.broadcast_to(sample_weight.to(y_pred.dtype), y_pred.shape)
    if label_weights is not None:
        weights = weights * torch.broadcast_to(label_weights.unsqueeze(0), y_pred.shape)
    weights = torch.broadcast_to(weights, y_pred.shape)
    if evenly:
        return _bucketed_counts(y_true, y_pred, weights, thresholds.shape[0], with_epsilon, multi_label)
    return _tiled_counts(y_true, y_pred, weights, thresholds, multi_label, kinds)


class _ThresholdMetric(Metric):
    """Shared state handling: one counter per requested kind and threshold."""

    _kinds: tuple = ()
    _state_of = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives", "fn": "false_negatives"}

    def _init_thresholds(self, thresholds: list[float]) -> None:
        self.thresholds = thresholds
        self._evenly = is_evenly_distributed(thresholds)
        self._with_epsilon = thresholds[0] < 0.0 or thresholds[-1] > 1.0
        self.add_constant("_threshold_tensor", torch.tensor(thresholds, dtype=self._dtype))
        for kind in self._kinds:
            self.add_state(self._state_of[kind], (len(thresholds),), variable_name=self._variable_name(kind))

    def _variable_name(self, kind: str) -> str:
        """The Keras name of the ``kind`` counter's variable."""
        return self._state_of[kind]

    def _accumulate(self, y_true: Any, y_pred: Any, sample_weight: Any, top_k=None, class_id=None) -> None:
        y_true, y_pred, sample_weight = _prepare(y_true, y_pred, sample_weight, self._dtype, top_k, class_id)
        self._place(y_pred)
        counts = confusion_counts(y_true, y_pred, sample_weight, self._threshold_tensor, self._evenly,
                                  self._with_epsilon, self._kinds)
        for kind in self._kinds:
            getattr(self, self._state_of[kind]).add_(counts[kind])

    def _single_or_all(self, value: torch.Tensor) -> torch.Tensor:
        return value[0] if len(self.thresholds) == 1 else value


class _Count(_ThresholdMetric):
    def _variable_name(self, kind: str) -> str:
        return "accumulator"  # Keras's one counter

    def __init__(self, thresholds: Any = None, name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self._init_thresholds(parse_thresholds(thresholds, 0.5))

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._accumulate(y_true, y_pred, sample_weight)

    def result(self) -> torch.Tensor:
        return self._single_or_all(getattr(self, self._state_of[self._kinds[0]])).clone()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_Count):
    """Weighted count of true positives at ``thresholds`` (default 0.5).

    Example:
        >>> TruePositives()(torch.tensor([1.0, 1.0]), torch.tensor([0.9, 0.2]))
        tensor(1.)
    """
    _kinds = ("tp",)


class FalsePositives(_Count):
    """Weighted count of false positives at ``thresholds`` (default 0.5).

    Example:
        >>> FalsePositives()(torch.tensor([0.0, 1.0]), torch.tensor([0.9, 0.2]))
        tensor(1.)
    """
    _kinds = ("fp",)


class TrueNegatives(_Count):
    """Weighted count of true negatives at ``thresholds`` (default 0.5).

    Example:
        >>> TrueNegatives()(torch.tensor([0.0, 1.0]), torch.tensor([0.1, 0.2]))
        tensor(1.)
    """
    _kinds = ("tn",)


class FalseNegatives(_Count):
    """Weighted count of false negatives at ``thresholds`` (default 0.5).

    Example:
        >>> FalseNegatives()(torch.tensor([0.0, 1.0]), torch.tensor([0.1, 0.2]))
        tensor(1.)
    """
    _kinds = ("fn",)


class _PrecisionRecall(_ThresholdMetric):
    def __init__(self, thresholds: Any = None, top_k: int | None = None, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        self._init_thresholds(parse_thresholds(thresholds, 0.5 if top_k is None else NEG_INF))

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._accumulate(y_true, y_pred, sample_weight, self.top_k, self.class_id)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """``TP / (TP + FP)`` at ``thresholds`` (default 0.5), as ``keras.metrics.Precision``.

    Args:
        thresholds: A float or list of floats in [0, 1]; a list gives one precision per threshold.
            Defaults to None (0.5, or "any" with ``top_k``).
        top_k: Only the ``top_k`` highest predictions per sample count as positive. Defaults to None.
        class_id: Only this class column is considered. Defaults to None.
        name: Defaults to ``'precision'``.
        dtype: Defaults to floatx.

    Example:
        >>> Precision()(torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.7, 0.8, 0.1]))
        tensor(0.5000)
    """
    _kinds = ("tp", "fp")

    def result(self) -> torch.Tensor:
        return self._single_or_all(_divide_no_nan(self.true_positives, self.true_positives + self.false_positives))


class Recall(_PrecisionRecall):
    """``TP / (TP + FN)`` at ``thresholds`` (default 0.5), as ``keras.metrics.Recall``.

    Args:
        thresholds: A float or list of floats in [0, 1]. Defaults to None (0.5).
        top_k: Only the ``top_k`` highest predictions per sample count as positive. Defaults to None.
        class_id: Only this class column is considered. Defaults to None.
        name: Defaults to ``'recall'``.
        dtype: Defaults to floatx.

    Example:
        >>> Recall()(torch.tensor([0.0, 1.0, 1.0]), torch.tensor([0.7, 0.8, 0.1]))
        tensor(0.5000)
    """
    _kinds = ("tp", "fn")

    def result(self) -> torch.Tensor:
        return self._single_or_all(_divide_no_nan(self.true_positives, self.true_positives + self.false_negatives))
