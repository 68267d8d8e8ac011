"""Intersection-over-union metrics for segmentation, as ``keras.metrics.IoU``, ``MeanIoU``, ``BinaryIoU``,
``OneHotIoU`` and ``OneHotMeanIoU``: one ``(num_classes, num_classes)`` confusion matrix on the device.

``IoU = TP / (TP + FP + FN)`` per class, averaged over the target classes that occur. As in Keras, the
confusion matrix is integer by default (``dtype='int32'``; float sample weights are truncated then).

Example:
    >>> import torch
    >>> from loom.metrics import MeanIoU
    >>> m = MeanIoU(num_classes=2)
    >>> m.update_state(torch.tensor([0, 0, 1, 1]), torch.tensor([0, 1, 0, 1]))
    >>> m.result()
    tensor(0.3333)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.errors import ConfigError
from loom.metrics.metric import Metric

EPSILON = 1e-7


class _IoUBase(Metric):
    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(name=name, dtype=dtype or "int32")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ConfigError(f"{type(self).__name__}: `num_classes` must be a positive int. "
                              f"Received: num_classes={num_classes!r}")
        self.num_classes, self.ignore_class, self.axis = num_classes, ignore_class, axis
        self.sparse_y_true, self.sparse_y_pred = sparse_y_true, sparse_y_pred
        self.add_state("total_cm", (num_classes, num_classes), variable_name="total_confusion_matrix")

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred, y_true = backend.to_tensor(y_pred), backend.to_tensor(y_true)
        self._place(y_pred)
        y_true = y_true.to(y_pred.device)
        if not self.sparse_y_true:
            y_true = y_true.argmax(dim=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(dim=self.axis)
        y_true, y_pred = y_true.to(self._dtype).reshape(-1), y_pred.to(self._dtype).reshape(-1)
        weight = torch.ones((), dtype=self._dtype, device=y_pred.device)
        if sample_weight is not None:
            weight = backend.to_tensor(sample_weight, device=y_pred.device).to(self._dtype).reshape(-1)
        weight = torch.broadcast_to(weight, y_true.shape)
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0) & (y_pred < self.num_classes)
        if self.ignore_class is not None:
            valid = valid & (y_true != self.ignore_class)
        zero = torch.zeros((), dtype=self._dtype, device=y_pred.device)
        cells = torch.where(valid, y_true, zero).long() * self.num_classes + torch.where(valid, y_pred, zero).long()
        counts = torch.zeros(self.num_classes ** 2, dtype=self._dtype, device=y_pred.device)
        counts.scatter_add_(0, cells, torch.where(valid, weight, zero))
        self.total_cm.add_(counts.reshape(self.num_classes, self.num_classes))


class IoU(_IoUBase):
    """Mean IoU over ``target_class_ids``, as ``keras.metrics.IoU``.

    Args:
        num_classes: Number of classes.
        target_class_ids: The class ids averaged over.
        name: Defaults to ``'io_u'`` (made unique).
        dtype: Confusion-matrix dtype. Defaults to ``'int32'``.
        ignore_class: A label value left out of the counts. Defaults to None.
        sparse_y_true: ``y_true`` holds class ids (else one-hot/scores, arg-maxed). Defaults to True.
        sparse_y_pred: ``y_pred`` holds class ids (else scores, arg-maxed). Defaults to True.
        axis: The class axis for arg-max. Defaults to -1.

    Raises:
        ConfigError: a target class id is out of ``[0, num_classes)``.

    Example:
        >>> IoU(num_classes=2, target_class_ids=[0])(torch.tensor([0, 0, 1]), torch.tensor([0, 1, 1]))
        tensor(0.5000)
    """

    _fixed_arguments: tuple[str, ...] = ()  # arguments a subclass sets itself: not in its config, as in Keras

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_true: bool = True, sparse_y_pred: bool = True,
                 axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        target_class_ids = list(target_class_ids)
        if not target_class_ids or max(target_class_ids) >= num_classes or min(target_class_ids) < 0:
            raise ConfigError(f"{type(self).__name__}: target class ids {target_class_ids} are out of range, which "
                              f"is [0, {num_classes}).")
        self.target_class_ids = target_class_ids
        self.add_constant("_targets", torch.tensor(target_class_ids, dtype=torch.long))

    def result(self) -> torch.Tensor:
        cm = self.total_cm
        true_positives = torch.diagonal(cm).float()
        denominator = cm.sum(dim=0).float() + cm.sum(dim=1).float() - true_positives
        true_positives, denominator = true_positives[self._targets], denominator[self._targets]
        valid = denominator > 1e-9
        iou = torch.where(valid, true_positives / (denominator + EPSILON), torch.zeros_like(denominator))
        return iou.sum() / (valid.float().sum() + EPSILON)

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                  "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                  "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
        return {key: value for key, value in config.items() if key not in self._fixed_arguments}


class BinaryIoU(IoU):
    """IoU of thresholded binary predictions (``y_pred >= threshold``), as ``keras.metrics.BinaryIoU``.

    Args:
        target_class_ids: Among ``(0, 1)``. Defaults to ``(0, 1)``.
        threshold: Defaults to 0.5.
        name: Defaults to ``'binary_io_u'`` (made unique).
        dtype: Defaults to ``'int32'``.

    Example:
        >>> BinaryIoU(target_class_ids=[1])(torch.tensor([0, 1, 1]), torch.tensor([0.2, 0.7, 0.4]))
        tensor(0.5000)
    """

    def __init__(self, target_class_ids: Any = (0, 1), threshold: float = 0.5, name: str | None = None,
                 dtype: Any = None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = backend.to_tensor(y_pred, dtype=torch.float32)
        super().update_state(y_true, (y_pred >= self.threshold).to(self._dtype), sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over every class, as ``keras.metrics.MeanIoU``.

    Args:
        num_classes: Number of classes.
        name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis: As :class:`IoU`.

    Example:
        >>> MeanIoU(num_classes=3).get_config()["sparse_y_pred"]
        True
    """

    _fixed_arguments = ("target_class_ids",)

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_true: bool = True, sparse_y_pred: bool = True, axis: int = -1):
        super().__init__(num_classes, list(range(num_classes)) if isinstance(num_classes, int) else [0], name=name,
                         dtype=dtype, ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)


class OneHotIoU(IoU):
    """IoU for one-hot ``y_true`` (and scores ``y_pred``), as ``keras.metrics.OneHotIoU``.

    Args:
        num_classes: Number of classes.
        target_class_ids: The class ids averaged over.
        name, dtype, ignore_class, axis: As :class:`IoU`.
        sparse_y_pred: ``y_pred`` holds class ids. Defaults to False.

    Example:
        >>> round(float(OneHotIoU(2, [1])(torch.tensor([[1, 0], [0, 1]]), torch.tensor([[0.6, 0.4], [0.3, 0.7]]))), 4)
        1.0
    """

    _fixed_arguments = ("sparse_y_true",)

    def __init__(self, num_classes: int, target_class_ids: Any, name: str | None = None, dtype: Any = None,
                 ignore_class: int | None = None, sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)


class OneHotMeanIoU(MeanIoU):
    """Mean IoU for one-hot ``y_true``, as ``keras.metrics.OneHotMeanIoU``.

    Args:
        num_classes: Number of classes.
        name, dtype, ignore_class, axis: As :class:`IoU`.
        sparse_y_pred: ``y_pred`` holds class ids. Defaults to False.

    Example:
        >>> round(float(OneHotMeanIoU(2)(torch.tensor([[1, 0], [0, 1]]), torch.tensor([[0.6, 0.4], [0.3, 0.7]]))), 4)
        1.0
    """

    _fixed_arguments = ("target_class_ids", "sparse_y_true")

    def __init__(self, num_classes: int, name: str | None = None, dtype: Any = None, ignore_class: int | None = None,
                 sparse_y_pred: bool = False, axis: int = -1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)
