"""Pearson and concordance correlation coefficients per sample (over ``axis``), averaged over batches, as
``keras.metrics.PearsonCorrelation`` / ``ConcordanceCorrelation`` and their functions.

Example:
    >>> import torch
    >>> from loom.metrics import pearson_correlation
    >>> pearson_correlation(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[2.0, 4.0, 7.0]]))
    tensor([0.9934])
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.losses.loss import squeeze_or_expand_to_same_rank, to_prediction
from loom.metrics.metric import MeanMetricWrapper

EPSILON = 1e-7


def _prepare(y_true: Any, y_pred: Any) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def pearson_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Pearson's r between ``y_true`` and ``y_pred`` along ``axis`` (default -1)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    t = y_true - y_true.mean(dim=axis, keepdim=True)
    p = y_pred - y_pred.mean(dim=axis, keepdim=True)
    t = t / t.std(dim=axis, keepdim=True, correction=0)
    p = p / p.std(dim=axis, keepdim=True, correction=0)
    return (t * p).mean(dim=axis)


def concordance_correlation(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Lin's concordance correlation along ``axis`` (default -1), written as Keras 3 computes it."""
    y_true, y_pred = _prepare(y_true, y_pred)
    true_mean = y_true.mean(dim=axis, keepdim=True)
    pred_mean = y_pred.mean(dim=axis, keepdim=True)
    true_var = (y_true - true_mean).var(dim=axis, keepdim=True, correction=0)
    pred_var = (y_pred - pred_mean).var(dim=axis, keepdim=True, correction=0)
    covariance = (y_true - pred_mean) * (y_pred - pred_mean)
    norm = true_var + pred_var + torch.square(true_mean - pred_mean)
    return (2 * covariance / (norm + EPSILON)).mean(dim=axis)


class PearsonCorrelation(MeanMetricWrapper):
    """Mean per-sample Pearson correlation, as ``keras.metrics.PearsonCorrelation``.

    Args:
        name: Defaults to ``'pearson_correlation'``.
        dtype: Defaults to floatx.
        axis: The axis correlated over. Defaults to -1.

    Example:
        >>> round(PearsonCorrelation()(torch.tensor([[1.0, 2.0, 3.0]]), torch.tensor([[3.0, 2.0, 1.0]])).item(), 4)
        -1.0
    """

    def __init__(self, name: str = "pearson_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}


class ConcordanceCorrelation(MeanMetricWrapper):
    """Mean per-sample concordance correlation, as ``keras.metrics.ConcordanceCorrelation``.

    Args:
        name: Defaults to ``'concordance_correlation'``.
        dtype: Defaults to floatx.
        axis: The axis correlated over. Defaults to -1.

    Example:
        >>> ConcordanceCorrelation().get_config()
        {'name': 'concordance_correlation', 'dtype': 'float32', 'axis': -1}
    """

    def __init__(self, name: str = "concordance_correlation", dtype: Any = None, axis: int = -1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}
