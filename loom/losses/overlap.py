"""Overlap losses for segmentation: Dice (Milletari et al., 2016) and Tversky (Salehi et al., 2017).

Both reduce over ``axis`` (``None``, the default, means every axis: one value for the whole batch), add
Keras's epsilon ``1e-7`` to the denominator and return ``1 - score``. As in Keras 3, Tversky's ``alpha``
weights ``sum(y_true * (1 - y_pred))`` and ``beta`` weights ``sum(y_pred * (1 - y_true))``.

Example:
    >>> import torch
    >>> from loom.losses import dice
    >>> round(float(dice(torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 0.0]]))), 4)
    0.0
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.errors import InputError
from loom.losses.functions import EPSILON
from loom.losses.loss import BuiltinLossWrapper, to_prediction

_DEFAULT = "sum_over_batch_size"


def _prepare(y_true: Any, y_pred: Any, fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    try:
        torch.broadcast_shapes(y_true.shape, y_pred.shape)
    except RuntimeError:
        raise InputError(f"{fn} needs y_true and y_pred of broadcastable shapes. Received: "
                         f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.") from None
    return y_true, y_pred


def _sum(x: torch.Tensor, axis: Any) -> torch.Tensor:
    return x.sum() if axis is None else x.sum(dim=axis)


def dice(y_true: Any, y_pred: Any, axis: Any = None) -> torch.Tensor:
    """``1 - 2 * sum(y_true * y_pred) / (sum(y_true) + sum(y_pred) + 1e-7)`` over ``axis`` (default None: all)."""
    y_true, y_pred = _prepare(y_true, y_pred, "dice")
    intersection = _sum(y_true * y_pred, axis)
    return 1 - 2.0 * intersection / (_sum(y_true, axis) + _sum(y_pred, axis) + EPSILON)


def tversky(y_true: Any, y_pred: Any, alpha: float = 0.5, beta: float = 0.5, axis: Any = None) -> torch.Tensor:
    """``1 - TP / (TP + alpha * sum(y_true * (1 - y_pred)) + beta * sum(y_pred * (1 - y_true)) + 1e-7)``.

    Args:
        alpha: Defaults to 0.5. beta: Defaults to 0.5 (both 0.5 give the Dice loss).
        axis: Axes reduced; defaults to None (all).
    """
    y_true, y_pred = _prepare(y_true, y_pred, "tversky")
    intersection = _sum(y_true * y_pred, axis)
    fp = _sum((1 - y_pred) * y_true, axis)
    fn = _sum(y_pred * (1 - y_true), axis)
    return 1 - intersection / (intersection + fp * alpha + fn * beta + EPSILON)


class Dice(BuiltinLossWrapper):
    """The Dice loss, as ``keras.losses.Dice``.

    Args:
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'dice'``.
        axis: Axes the score is computed over; defaults to None (all).
        dtype: Defaults to floatx.

    Example:
        >>> round(float(Dice()(torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 0.0]]))), 4)
        0.3333
    """

    _config_options = ("axis",)

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "dice", axis: Any = None, dtype: Any = None):
        super().__init__(dice, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Tversky(BuiltinLossWrapper):
    """The Tversky loss, as ``keras.losses.Tversky``.

    Args:
        alpha: Defaults to 0.5.
        beta: Defaults to 0.5.
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'tversky'``.
        axis: Defaults to None (all axes).
        dtype: Defaults to floatx.

    Example:
        >>> round(float(Tversky(alpha=0.7, beta=0.3)(torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, 0.0]]))), 4)
        0.4118
    """

    _config_options = ("alpha", "beta", "axis")

    def __init__(self, alpha: float = 0.5, beta: float = 0.5, reduction: str | None = _DEFAULT,
                 name: str = "tversky", axis: Any = None, dtype: Any = None):
        super().__init__(tversky, reduction=reduction, name=name, dtype=dtype, alpha=alpha, beta=beta, axis=axis)
