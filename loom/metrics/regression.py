"""Regression metrics: running means of Keras's per-sample errors, plus RMSE and cosine similarity.

Example:
    >>> import torch
    >>> from loom.metrics import RootMeanSquaredError
    >>> m = RootMeanSquaredError()
    >>> m.update_state(torch.zeros(2, 1), torch.tensor([[3.0], [4.0]]))
    >>> m.result()
    tensor(3.5355)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.losses import functions as fns
from loom.losses.loss import squeeze_or_expand_to_same_rank
from loom.metrics.metric import FunctionMean, Mean, MeanMetricWrapper


class MeanSquaredError(FunctionMean):
    """Running mean of squared errors (name ``'mean_squared_error'``).

    Example:
        >>> MeanSquaredError()(torch.zeros(2, 1), torch.tensor([[1.0], [3.0]]))
        tensor(5.)
    """
    _fn = staticmethod(fns.mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(FunctionMean):
    """Running mean of absolute errors (name ``'mean_absolute_error'``).

    Example:
        >>> MeanAbsoluteError()(torch.zeros(2, 1), torch.tensor([[1.0], [3.0]]))
        tensor(2.)
    """
    _fn = staticmethod(fns.mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(FunctionMean):
    """Running mean absolute percentage error (name ``'mean_absolute_percentage_error'``).

    Example:
        >>> MeanAbsolutePercentageError()(torch.tensor([[2.0]]), torch.tensor([[1.0]]))
        tensor(50.)
    """
    _fn = staticmethod(fns.mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(FunctionMean):
    """Running mean squared logarithmic error (name ``'mean_squared_logarithmic_error'``).

    Example:
        >>> MeanSquaredLogarithmicError()(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCoshError(FunctionMean):
    """Running mean of ``log(cosh(error))`` (name ``'logcosh'``).

    Example:
        >>> LogCoshError()(torch.tensor([[1.0]]), torch.tensor([[1.0]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.log_cosh)
    _default_name = "logcosh"


class RootMeanSquaredError(Mean):
    """Square root of the running (weighted) mean of squared errors (name ``'root_mean_squared_error'``).

    Example:
        >>> RootMeanSquaredError()(torch.zeros(1, 2), torch.tensor([[3.0, 4.0]]))
        tensor(3.5355)
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = backend.to_tensor(y_pred, dtype=self._dtype)
        y_true = backend.to_tensor(y_true, dtype=self._dtype, device=y_pred.device)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(torch.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self) -> torch.Tensor:
        return torch.sqrt(super().result())


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Cosine similarity along ``axis`` (default -1): +1 for identical directions (the metric's sign)."""
    return -fns.cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(MeanMetricWrapper):
    """Running mean of the cosine similarity along ``axis`` (default -1) (name ``'cosine_similarity'``).

    Example:
        >>> CosineSimilarity()(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]]))
        tensor(1.)
    """

    def __init__(self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "axis": self.axis}
