"""F-beta and F1 scores, as ``keras.metrics.FBetaScore`` / ``F1Score``: per-class (or micro) counts of true
positives, false positives and false negatives kept on the device.

Predictions become 0/1 by ``threshold`` (``y_pred > threshold``), or, when it is None, by marking each row's
largest value(s). ``average``: None (one score per class), ``'micro'`` (counts pooled over classes),
``'macro'`` (mean of class scores) or ``'weighted'`` (mean weighted by each class's true count).

Example:
    >>> import torch
    >>> from loom.metrics import F1Score
    >>> m = F1Score(threshold=0.5)
    >>> m.update_state(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[0.9, 0.2], [0.6, 0.7]]))
    >>> m.result()
    tensor([0.6667, 1.0000])
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.errors import ConfigError, InputError
from loom.metrics.metric import Metric

EPSILON = 1e-7
_AVERAGES = (None, "micro", "macro", "weighted")
_STATES = ("true_positives", "false_positives", "false_negatives", "intermediate_weights")


class FBetaScore(Metric):
    """The F-beta score ``(1 + beta**2) * P * R / (beta**2 * P + R)`` for 2-D multi-label/one-hot inputs.

    Args:
        average: None (default), ``'micro'``, ``'macro'`` or ``'weighted'``.
        beta: A float > 0 (recall counts ``beta`` times as much as precision). Defaults to 1.0.
        threshold: A float in ``(0, 1]``, or None (default): the row maximum is the prediction.
        name: Defaults to ``'fbeta_score'``.
        dtype: Defaults to floatx.

    Raises:
        ConfigError: an invalid ``average``, ``beta`` or ``threshold``.

    Example:
        >>> m = FBetaScore(beta=2.0, average="micro", threshold=0.5)
        >>> round(float(m(torch.tensor([[1.0, 1.0]]), torch.tensor([[0.9, 0.1]]))), 4)
        0.5556
    """

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str = "fbeta_score", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        if average not in _AVERAGES:
            raise ConfigError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                              f"'weighted'}}. Received: average={average!r}")
        if not isinstance(beta, float) or beta <= 0.0:
            raise ConfigError(f"Invalid `beta` argument value: it should be a Python float > 0. Received: "
                              f"beta={beta!r} of type '{type(beta).__name__}'")
        if threshold is not None and (not isinstance(threshold, float) or not 0.0 < threshold <= 1.0):
            raise ConfigError("Invalid `threshold` argument value: it should be a Python float with "
                              f"0 < threshold <= 1. Received: threshold={threshold!r}")
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
        if y_pred.dim() != 2 or y_true.dim() != 2:
            raise InputError(f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). "
                             f"Received input shapes: y_pred.shape={tuple(y_pred.shape)} and "
                             f"y_true.shape={tuple(y_true.shape)}.")
        shape = () if self.average == "micro" else (y_pred.shape[-1],)
        for name in _STATES:
            self.add_state(name, shape)
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = backend.to_tensor(y_pred, dtype=self._dtype)
        y_true = backend.to_tensor(y_true, dtype=self._dtype, device=y_pred.device)
        if not self._built:
            self._build(y_true, y_pred)
        self._place(y_pred)
        if self.threshold is None:
            top = y_pred.max(dim=-1, keepdim=True).values
            predicted = (y_pred >= top) & (y_pred.abs() > 1e-9)
        else:
            predicted = y_pred > self.threshold
        predicted = predicted.to(self._dtype)
        weight = None
        if sample_weight is not None:
            weight = backend.to_tensor(sample_weight, dtype=self._dtype, device=y_pred.device).unsqueeze(1)

        def weighted_sum(values: torch.Tensor) -> torch.Tensor:
            values = values if weight is None else values * weight
            return values.sum() if self.axis is None else values.sum(dim=0)
        self.true_positives.add_(weighted_sum(predicted * y_true))
        self.false_positives.add_(weighted_sum(predicted * (1 - y_true)))
        self.false_negatives.add_(weighted_sum((1 - predicted) * y_true))
        self.intermediate_weights.add_(weighted_sum(y_true))

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._dtype)
        tp = self.true_positives
        precision = tp / (tp + self.false_positives + EPSILON)
        recall = tp / (tp + self.false_negatives + EPSILON)
        beta2 = self.beta ** 2
        score = precision * recall / (beta2 * precision + recall + EPSILON) * (1 + beta2)
        if self.average == "weighted":
            weights = self.intermediate_weights / (self.intermediate_weights.sum() + EPSILON)
            return (score * weights).sum()
        if self.average is not None:
            return score.mean()
        return score

    def reset_state(self) -> None:
        if self._built:
            super().reset_state()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """The F1 score (:class:`FBetaScore` with ``beta=1``), as ``keras.metrics.F1Score``.

    Args:
        average: None (default), ``'micro'``, ``'macro'`` or ``'weighted'``.
        threshold: A float in ``(0, 1]``, or None (default): the row maximum is the prediction.
        name: Defaults to ``'f1_score'``.
        dtype: Defaults to floatx.

    Example:
        >>> F1Score(average="macro").get_config()["average"]
        'macro'
    """

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str = "f1_score",
                 dtype: Any = None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
