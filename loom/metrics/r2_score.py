"""The coefficient of determination, as ``keras.metrics.R2Score``: per-output sums kept on the device.

Example:
    >>> import torch
    >>> from loom.metrics import R2Score
    >>> R2Score()(torch.tensor([[1.0], [2.0], [3.0]]), torch.tensor([[1.0], [2.0], [4.0]]))
    tensor(0.5000)
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from loom import backend
from loom.errors import ConfigError, InputError
from loom.losses.loss import squeeze_or_expand_to_same_rank
from loom.metrics.metric import Metric

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """``1 - SS_res / SS_tot`` per output column, then aggregated.

    Args:
        class_aggregation: ``'uniform_average'`` (default), ``'variance_weighted_average'`` or None (one
            score per output).
        num_regressors: For the adjusted R2 (``>= 0``; 0, the default, means plain R2).
        name: Defaults to ``'r2_score'``.
        dtype: Defaults to floatx.

    Raises:
        ConfigError: an invalid ``class_aggregation`` or a negative ``num_regressors``.

    Example:
        >>> R2Score(class_aggregation=None)(torch.tensor([[1.0, 0.0], [3.0, 1.0]]),
        ...                                 torch.tensor([[1.0, 0.0], [2.0, 1.0]]))
        tensor([0.5000, 1.0000])
    """

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str = "r2_score", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        if class_aggregation not in _AGGREGATIONS:
            raise ConfigError(f"Invalid value for argument `class_aggregation`. Expected one of {_AGGREGATIONS}. "
                              f"Received: class_aggregation={class_aggregation!r}")
        if num_regressors < 0:
            raise ConfigError("Invalid value for argument `num_regressors`. Expected a value >= 0. "
                              f"Received: num_regressors={num_regressors}")
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.add_state("num_samples")
        self._built = False

    def _build(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise InputError("R2Score expects 2D inputs with shape (batch_size, output_dim). Received input "
                             f"shapes: y_pred.shape={tuple(y_pred.shape)} and y_true.shape={tuple(y_true.shape)}.")
        for name in ("squared_sum", "sum", "residual", "count"):
            self.add_state(name, (y_pred.shape[-1],))
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = backend.to_tensor(y_pred, dtype=self._dtype)
        y_true = backend.to_tensor(y_true, dtype=self._dtype, device=y_pred.device)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true, y_pred)
        self._place(y_pred)
        weight = torch.ones((), dtype=self._dtype, device=y_pred.device)
        if sample_weight is not None:
            weight = backend.to_tensor(sample_weight, dtype=self._dtype, device=y_pred.device)
            if weight.dim() == 1:
                weight = weight.unsqueeze(1)
        weight = torch.broadcast_to(weight, y_true.shape)
        weighted = y_true * weight
        self.sum.add_(weighted.sum(dim=0))
        self.squared_sum.add_((y_true * weighted).sum(dim=0))
        self.residual.add_((torch.square(y_true - y_pred) * weight).sum(dim=0))
        self.count.add_(weight.sum(dim=0))
        self.num_samples.add_(y_true.numel())

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._dtype)
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        scores = 1 - self.residual / total
        scores = torch.where(torch.isinf(scores), torch.zeros_like(scores), scores)
        if self.class_aggregation == "uniform_average":
            score = scores.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * scores).sum() / total.sum()
        else:
            score = scores
        return self._adjusted(score) if self.num_regressors else score

    def _adjusted(self, score: torch.Tensor) -> torch.Tensor:
        n = float(self.num_samples)  # read once, when the result is asked for
        if self.num_regressors >= n - 1:
            warnings.warn("More independent predictors than datapoints in adjusted R2 score. Falling back to "
                          "standard R2 score." if self.num_regressors > n - 1 else "Division by zero in Adjusted "
                          "R2 score. Falling back to standard R2 score.", stacklevel=3)
            return score
        return 1.0 - (1.0 - score) * (n - 1.0) / (n - self.num_regressors - 1.0)

    def reset_state(self) -> None:
        super().reset_state()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
