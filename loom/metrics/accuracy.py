"""Accuracy metrics: per-sample functions and the running-mean classes, with Keras 3's semantics.

Example:
    >>> import torch
    >>> from loom.metrics import SparseCategoricalAccuracy, sparse_categorical_accuracy
    >>> sparse_categorical_accuracy(torch.tensor([1, 0]), torch.tensor([[0.2, 0.8], [0.3, 0.7]]))
    tensor([1., 0.])
    >>> m = SparseCategoricalAccuracy()
    >>> m.update_state(torch.tensor([1, 0]), torch.tensor([[0.2, 0.8], [0.3, 0.7]]))
    >>> m.result()
    tensor(0.5000)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.losses.loss import squeeze_or_expand_to_same_rank, to_prediction
from loom.metrics.metric import MeanMetricWrapper

_FLOAT = torch.float32


def _pair(y_true: Any, y_pred: Any, true_dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, dtype=true_dtype, device=y_pred.device)
    return y_true, y_pred


def accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where ``y_true == y_pred`` exactly, else 0.0."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true.to(y_pred.dtype), y_pred)
    return (y_true == y_pred).to(_FLOAT)


def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> torch.Tensor:
    """1.0 where ``(y_pred > threshold)`` equals ``y_true`` (default threshold 0.5)."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return (y_true == (y_pred > threshold).to(y_true.dtype)).to(_FLOAT)


def categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where ``argmax(y_true) == argmax(y_pred)`` over the last axis (one-hot targets)."""
    y_true, y_pred = _pair(y_true, y_pred)
    labels = torch.argmax(y_true, dim=-1)
    original_shape = labels.shape
    reshape = labels.dim() == y_pred.dim()
    if reshape:
        labels = labels.squeeze(-1)
    matches = (labels == torch.argmax(y_pred, dim=-1)).to(_FLOAT)
    return matches.reshape(original_shape) if reshape else matches


def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> torch.Tensor:
    """1.0 where the integer label equals ``argmax(y_pred)`` over the last axis."""
    y_true, y_pred = _pair(y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    original_shape = y_true.shape
    reshape = y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1
    if reshape:
        y_true = y_true.squeeze(-1)
    matches = (y_true == torch.argmax(y_pred, dim=-1).to(y_true.dtype)).to(_FLOAT)
    if reshape:
        matches = matches.reshape(original_shape)
    if matches.dim() > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(targets: torch.Tensor, predictions: torch.Tensor, k: int) -> torch.Tensor:
    k = min(k, predictions.shape[-1])
    kth_largest = torch.topk(predictions, k, dim=-1).values[..., -1:]
    target_values = torch.take_along_dim(predictions, targets.long()[:, None], dim=-1)
    return (target_values >= kth_largest).squeeze(-1)


def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> torch.Tensor:
    """1.0 where the one-hot target's class is among the ``k`` (default 5) highest predictions."""
    y_true, y_pred = _pair(y_true, y_pred)
    labels = torch.argmax(y_true, dim=-1)
    original_shape = labels.shape
    if y_pred.dim() > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    matches = _in_top_k(labels.reshape(-1), y_pred, k).to(_FLOAT)
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


def sparse_top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5,
                                      from_sorted_ids: bool = False) -> torch.Tensor:
    """1.0 where the integer label is among the ``k`` (default 5) highest predictions.

    With ``from_sorted_ids=True``, ``y_pred`` already holds class ids sorted by score.
    """
    y_pred = backend.to_tensor(y_pred)
    y_true = backend.to_tensor(y_true, device=y_pred.device)
    y_true = y_true.to(y_pred.dtype) if from_sorted_ids else y_true.long()
    original_shape = y_true.shape
    if y_pred.dim() > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    flat = y_true.reshape(-1)
    if from_sorted_ids:
        matches = (flat[:, None] == y_pred[:, :k]).any(dim=1)
    else:
        matches = _in_top_k(flat, to_prediction(y_pred), k)
    matches = matches.to(_FLOAT)
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly (name ``'accuracy'``).

    Example:
        >>> Accuracy()(torch.tensor([1, 2]), torch.tensor([1.0, 0.0]))
        tensor(0.5000)
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class BinaryAccuracy(MeanMetricWrapper):
    """How often ``y_pred > threshold`` matches the 0/1 label (name ``'binary_accuracy'``).

    Args:
        name: Defaults to ``'binary_accuracy'``.
        dtype: Defaults to floatx.
        threshold: Defaults to 0.5.

    Example:
        >>> BinaryAccuracy()(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.9], [0.6]]))
        tensor(0.5000)
    """

    def __init__(self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction matches the one-hot label (name ``'categorical_accuracy'``).

    Example:
        >>> CategoricalAccuracy()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.2, 0.8]]))
        tensor(1.)
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of the prediction matches the integer label (name ``'sparse_categorical_accuracy'``).

    Example:
        >>> SparseCategoricalAccuracy()(torch.tensor([1]), torch.tensor([[0.2, 0.8]]))
        tensor(1.)
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot target is in the top ``k`` (default 5) predictions.

    Example:
        >>> TopKCategoricalAccuracy(k=2)(torch.tensor([[0.0, 0.0, 1.0]]), torch.tensor([[0.5, 0.2, 0.3]]))
        tensor(1.)
    """

    def __init__(self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is in the top ``k`` (default 5) predictions.

    Example:
        >>> SparseTopKCategoricalAccuracy(k=1)(torch.tensor([0]), torch.tensor([[0.5, 0.2, 0.3]]))
        tensor(1.)
    """

    def __init__(self, k: int = 5, name: str = "sparse_top_k_categorical_accuracy", dtype: Any = None,
                 from_sorted_ids: bool = False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
