"""Best value of one rate subject to a floor on another, from confusion counts at ``num_thresholds`` evenly
spaced thresholds in ``[0, 1]``, as Keras's ``SensitivityAtSpecificity``, ``SpecificityAtSensitivity``,
``PrecisionAtRecall`` and ``RecallAtPrecision``.

The counts accumulate on the device; :meth:`result` takes, over the thresholds whose constrained rate is at
least the target, the maximum of the other rate (0 when none qualifies).

Example:
    >>> import torch
    >>> from loom.metrics import PrecisionAtRecall
    >>> m = PrecisionAtRecall(recall=0.5)
    >>> m.update_state(torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.6, 0.4, 0.9]))
    >>> m.result()
    tensor(1.)
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError
from loom.metrics.confusion import _ThresholdMetric
from loom.metrics.metric import _divide_no_nan


class _AtConstraint(_ThresholdMetric):
    """Shared state: TP/FP/TN/FN per threshold; subclasses name the constrained and the maximised rate."""

    _kinds = ("tp", "fp", "tn", "fn")
    _value_name = ""  # the constrained rate, also the constructor argument holding its floor
    _maximised = ""  # the rate result() maximises

    def __init__(self, value: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"{type(self).__name__}: argument `{self._value_name}` must be in the range [0, 1]. "
                              f"Received: {self._value_name}={value!r}")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds <= 0:
            raise ConfigError(f"{type(self).__name__}: argument `num_thresholds` must be an integer > 0. "
                              f"Received: num_thresholds={num_thresholds!r}")
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        setattr(self, self._value_name, value)
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            thresholds = [0.0] + [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
        self._init_thresholds(thresholds)

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        self._accumulate(y_true, y_pred, sample_weight, class_id=self.class_id)

    def _rates(self) -> dict[str, torch.Tensor]:
        tp, fp, tn, fn = self.true_positives, self.false_positives, self.true_negatives, self.false_negatives
        sensitivity = _divide_no_nan(tp, tp + fn)
        return {"sensitivity": sensitivity, "recall": sensitivity, "specificity": _divide_no_nan(tn, tn + fp),
                "precision": _divide_no_nan(tp, tp + fp)}

    def result(self) -> torch.Tensor:
        rates = self._rates()
        constrained, dependent = rates[self._value_name], rates[self._maximised]
        feasible = constrained >= self.value
        return torch.clamp_min(torch.where(feasible, dependent, torch.zeros_like(dependent)).max(), 0.0)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._value_name: self.value}


class SensitivityAtSpecificity(_AtConstraint):
    """Best sensitivity (recall) where specificity >= ``specificity``.

    Args:
        specificity: In ``[0, 1]``.
        num_thresholds: Defaults to 200.
        class_id: Only this class column is considered. Defaults to None.
        name: Defaults to ``'sensitivity_at_specificity'`` (made unique).
        dtype: Defaults to floatx.

    Example:
        >>> SensitivityAtSpecificity(0.5)(torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.6, 0.4, 0.9]))
        tensor(1.)
    """

    _value_name = "specificity"
    _maximised = "sensitivity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)


class SpecificityAtSensitivity(_AtConstraint):
    """Best specificity where sensitivity >= ``sensitivity``.

    Args:
        sensitivity: In ``[0, 1]``.
        num_thresholds: Defaults to 200.
        class_id: Only this class column is considered. Defaults to None.
        name: Defaults to ``'specificity_at_sensitivity'`` (made unique).
        dtype: Defaults to floatx.

    Example:
        >>> SpecificityAtSensitivity(1.0)(torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.6, 0.4, 0.9]))
        tensor(0.5000)
    """

    _value_name = "sensitivity"
    _maximised = "specificity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)


class PrecisionAtRecall(_AtConstraint):
    """Best precision where recall >= ``recall``.

    Args:
        recall: In ``[0, 1]``.
        num_thresholds: Defaults to 200.
        class_id: Only this class column is considered. Defaults to None.
        name: Defaults to ``'precision_at_recall'`` (made unique).
        dtype: Defaults to floatx.

    Example:
        >>> PrecisionAtRecall(0.8).get_config()["recall"]
        0.8
    """

    _value_name = "recall"
    _maximised = "precision"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)


class RecallAtPrecision(_AtConstraint):
    """Best recall where precision >= ``precision``.

    Args:
        precision: In ``[0, 1]``.
        num_thresholds: Defaults to 200.
        class_id: Only this class column is considered. Defaults to None.
        name: Defaults to ``'recall_at_precision'`` (made unique).
        dtype: Defaults to floatx.

    Example:
        >>> RecallAtPrecision(1.0)(torch.tensor([0, 0, 1, 1]), torch.tensor([0.1, 0.6, 0.4, 0.9]))
        tensor(0.5000)
    """

    _value_name = "precision"
    _maximised = "recall"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id: int | None = None,
                 name: str | None = None, dtype: Any = None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
