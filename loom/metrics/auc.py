"""Area under the ROC or precision-recall curve, as ``keras.metrics.AUC`` (Riemann sum over thresholds).

Example:
    >>> import torch
    >>> from loom.metrics import AUC
    >>> m = AUC(curve="PR")
    >>> m.update_state(torch.tensor([0.0, 1.0, 1.0, 0.0]), torch.tensor([0.2, 0.9, 0.6, 0.7]))
    >>> 0.0 < float(m.result()) <= 1.0
    True
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.metrics.confusion import EPSILON, _prepare, confusion_counts, is_evenly_distributed
from loom.metrics.metric import Metric, _divide_no_nan

_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")
_STATES = ("true_positives", "false_positives", "true_negatives", "false_negatives")


class AUC(Metric):
    """Approximate AUC from confusion counts at ``num_thresholds`` evenly spaced thresholds.

    Args:
        num_thresholds: Number of thresholds (> 1). Defaults to 200.
        curve: ``'ROC'`` (default), ``'PR'`` or ``'PRGAIN'``.
        summation_method: ``'interpolation'`` (default; PR uses Davis & Goadrich's interpolation),
            ``'majoring'`` or ``'minoring'``.
        name: Defaults to ``'auc'``.
        dtype: Defaults to floatx.
        thresholds: Explicit thresholds in [0, 1] (then ``num_thresholds`` is ``len + 2``). Defaults to None.
        multi_label: One curve per label column, averaged. Defaults to False.
        num_labels: Number of label columns when ``multi_label`` (else inferred). Defaults to None.
        label_weights: Per-label weights for the average (or for the counts when not multi-label).
            Defaults to None.
        from_logits: Apply a sigmoid to ``y_pred`` first. Defaults to False.

    Example:
        >>> AUC()(torch.tensor([0.0, 0.0, 1.0, 1.0]), torch.tensor([0.1, 0.4, 0.35, 0.8]))
        tensor(0.7500)
    """

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype: Any = None, thresholds: list | None = None,
                 multi_label: bool = False, num_labels: int | None = None, label_weights: Any = None,
                 from_logits: bool = False):
        super().__init__(name=name, dtype=dtype)
        if str(curve).lower() not in _CURVES:
            raise ConfigError(f'Invalid AUC curve value: "{curve}". Expected values are {list(_CURVES.values())}')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ConfigError(f'Invalid AUC summation method value: "{summation_method}". '
                              f"Expected values are {list(_SUMMATIONS)}")
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            self.num_thresholds = len(inner) + 2
            self._evenly = is_evenly_distributed([0.0] + inner + [1.0])
        else:
            if num_thresholds <= 1:
                raise ConfigError(f"Argument `num_thresholds` must be an integer > 1. Received: {num_thresholds}")
            self.num_thresholds = num_thresholds
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        self._thresholds = [0.0 - EPSILON] + inner + [1.0 + EPSILON]
        self.add_constant("_threshold_tensor", torch.tensor(self._thresholds, dtype=self._dtype))
        self.multi_label = multi_label
        self.num_labels = num_labels
        self.label_weights = None if label_weights is None else [float(w) for w in label_weights]
        if self.label_weights is not None:
            self.add_constant("_label_weights", torch.tensor(self.label_weights, dtype=self._dtype))
        self._from_logits = from_logits
        self._built = False
        if not multi_label and num_labels:
            raise ConfigError("`num_labels` is needed only when `multi_label` is True.")
        if not multi_label or num_labels:
            self._build(num_labels)

    @property
    def thresholds(self) -> list[float]:
        return list(self._thresholds)

    def _build(self, num_labels: int | None) -> None:
        shape = (self.num_thresholds, num_labels) if self.multi_label else (self.num_thresholds,)
        self._num_labels = num_labels
        for name in _STATES:
            self.add_state(name, shape)
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        if not self._built:
            shape = tuple(torch.as_tensor(y_pred).shape)
            if len(shape) != 2:
                raise ConfigError(f"`y_pred` must have rank 2 when `multi_label=True`. Found shape {shape}.")
            self._build(shape[1])
        y_true, y_pred, sample_weight = _prepare(y_true, y_pred, sample_weight, self._dtype, None, None)
        self._place(y_pred)
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred)
        label_weights = None if self.multi_label or self.label_weights is None else self._label_weights
        counts = confusion_counts(y_true, y_pred, sample_weight, self._threshold_tensor, self._evenly,
                                  with_epsilon=True, multi_label=self.multi_label, label_weights=label_weights)
        for kind, name in zip(("tp", "fp", "tn", "fn"), _STATES):
            getattr(self, name).add_(counts[kind])

    def _average(self, by_threshold: torch.Tensor) -> torch.Tensor:
        if not self.multi_label:
            return by_threshold.sum()
        by_label = by_threshold.sum(0)
        if self.label_weights is None:
            return by_label.mean()
        return _divide_no_nan((by_label * self._label_weights).sum(), self._label_weights.sum())

    def interpolate_pr_auc(self) -> torch.Tensor:
        """PR-AUC with Davis & Goadrich (2006) interpolation between thresholds."""
        tp, fp, fn = self.true_positives, self.false_positives, self.false_negatives
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = _divide_no_nan(dtp, torch.clamp_min(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = torch.where((p[:-1] > 0) & (p[1:] > 0),
                                   _divide_no_nan(p[:-1], torch.clamp_min(p[1:], 0)), torch.ones_like(p[1:]))
        increment = _divide_no_nan(prec_slope * (dtp + intercept * torch.log(safe_p_ratio)),
                                   torch.clamp_min(tp[1:] + fn[1:], 0))
        return self._average(increment)

    def _curve_points(self) -> tuple[torch.Tensor, torch.Tensor]:
        tp, fp, tn, fn = (getattr(self, n) for n in _STATES)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            return _divide_no_nan(fp, fp + tn), recall
        if self.curve == "PR":
            return recall, _divide_no_nan(tp, tp + fp)
        scaling = _divide_no_nan(tp + fn, tn + fp)
        recall_gain = torch.where(tp == 0, torch.zeros_like(tp), 1.0 - scaling * _divide_no_nan(fn, tp))
        precision_gain = torch.where(tp == 0, torch.ones_like(tp), 1.0 - scaling * _divide_no_nan(fp, tp))
        return torch.clamp_min(recall_gain, 0.0), precision_gain

    def result(self) -> torch.Tensor:
        if not self._built:
            return torch.zeros((), dtype=self._dtype, device=self._device)
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self.interpolate_pr_auc()
        x, y = self._curve_points()
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average((x[:-1] - x[1:]) * heights)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": self.label_weights,
                  "from_logits": self._from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = self._thresholds[1:-1]
        return config
