"""Per-sample loss functions with Keras 3's names and exact numerics (torch backend).

Each function takes ``(y_true, y_pred)`` and returns one value per sample (the last axis reduced), like
``keras.losses.mean_squared_error``. With ``from_logits=False`` the crossentropies clip probabilities to
``[1e-7, 1 - 1e-7]`` (Keras's ``backend.epsilon()``) before taking logs, as Keras does even when the
predictions come straight out of a softmax or sigmoid.

Example:
    >>> import torch
    >>> from loom.losses import mean_squared_error, sparse_categorical_crossentropy
    >>> mean_squared_error(torch.zeros(2, 3), torch.ones(2, 3))
    tensor([1., 1.])
    >>> sparse_categorical_crossentropy(torch.tensor([0]), torch.tensor([[0.0, 0.0]]), from_logits=True)
    tensor([0.6931])
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn.functional as F

from loom import backend
from loom.errors import ConfigError, InputError
from loom.losses.loss import squeeze_or_expand_to_same_rank, to_prediction

EPSILON = 1e-7
_LOG2 = math.log(2.0)


def _prepare(y_true: Any, y_pred: Any, align: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    return squeeze_or_expand_to_same_rank(y_true, y_pred) if align else (y_true, y_pred)


def mean_squared_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((y_true - y_pred)**2, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return torch.square(y_true - y_pred).mean(dim=-1)


def mean_absolute_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(|y_true - y_pred|, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return torch.abs(y_true - y_pred).mean(dim=-1)


def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``100 * mean(|(y_true - y_pred) / max(|y_true|, 1e-7)|, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    diff = torch.abs((y_true - y_pred) / torch.clamp_min(torch.abs(y_true), EPSILON))
    return 100.0 * diff.mean(dim=-1)


def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    first = torch.log(torch.clamp_min(y_pred, EPSILON) + 1.0)
    second = torch.log(torch.clamp_min(y_true, EPSILON) + 1.0)
    return torch.square(first - second).mean(dim=-1)


def _l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    inv_norm = torch.rsqrt(torch.square(x).sum(dim=axis, keepdim=True))
    return x * torch.clamp_max(inv_norm, 1.0 / EPSILON)


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> torch.Tensor:
    """Negative cosine similarity along ``axis`` (default -1): -1 for identical directions, 0 orthogonal."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return -(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis)).sum(dim=axis)


def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> torch.Tensor:
    """Quadratic for ``|error| <= delta`` (default 1.0), linear beyond; averaged over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    error = y_pred - y_true
    abs_error = torch.abs(error)
    quadratic = 0.5 * torch.square(error)
    linear = delta * abs_error - 0.5 * delta ** 2
    return torch.where(abs_error <= delta, quadratic, linear).mean(dim=-1)


def log_cosh(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(log(cosh(y_pred - y_true)), axis=-1)``, computed stably as ``x + softplus(-2x) - log 2``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    x = y_pred - y_true
    return (x + F.softplus(x * -2.0) - _LOG2).mean(dim=-1)


def kl_divergence(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to ``[1e-7, 1]``."""
    y_true, y_pred = _prepare(y_true, y_pred, align=False)
    y_true = torch.clamp(y_true, EPSILON, 1.0)
    y_pred = torch.clamp(y_pred, EPSILON, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)


def poisson(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred, align=False)
    return (y_pred - y_true * torch.log(y_pred + EPSILON)).mean(dim=-1)


def _hinge_labels(y_true: torch.Tensor) -> torch.Tensor:
    """Labels in {0, 1} become {-1, 1}; other labels are used as given (decided on device, no sync)."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


def hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0), axis=-1)``; labels should be -1/1 (0/1 are converted)."""
    y_true, y_pred = _prepare(y_true, y_pred, align=False)
    return torch.clamp_min(1.0 - _hinge_labels(y_true) * y_pred, 0.0).mean(dim=-1)


def squared_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``mean(max(1 - y_true * y_pred, 0)**2, axis=-1)``; labels should be -1/1 (0/1 are converted)."""
    y_true, y_pred = _prepare(y_true, y_pred, align=False)
    return torch.square(torch.clamp_min(1.0 - _hinge_labels(y_true) * y_pred, 0.0)).mean(dim=-1)


def categorical_hinge(y_true: Any, y_pred: Any) -> torch.Tensor:
    """``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred, align=False)
    pos = (y_true * y_pred).sum(dim=-1)
    neg = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return torch.clamp_min(neg - pos + 1.0, 0.0)


def _bce_on_probabilities(target: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """``-(t log p + (1 - t) log(1 - p))`` with ``p`` clipped to ``[1e-7, 1 - 1e-7]``, as Keras's TF and JAX backends.

    Written out rather than ``F.binary_cross_entropy`` (which Keras 3.15's torch backend calls) because that kernel
    rejects targets outside ``[0, 1]``, and GAN programs train on noisy labels such as ``1 + 0.05 * u``.
    """
    if torch.is_autocast_enabled(output.device.type):
        output, target = output.float(), target.float()
    output = torch.clamp(output, EPSILON, 1.0 - EPSILON)
    return -(target * torch.log(output) + (1.0 - target) * torch.log(1.0 - output))


def _binary_targets(y_true: Any, y_pred: Any, label_smoothing: float, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets and predictions of a binary crossentropy: same shape, targets smoothed towards 0.5."""
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    if y_true.shape != y_pred.shape:
        raise InputError(f"{loss} needs y_true and y_pred of the same shape. Received: "
                         f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return y_true, y_pred


def binary_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                        axis: int = -1) -> torch.Tensor:
    """Binary crossentropy averaged over ``axis`` (default -1).

    Args:
        y_true: Targets in [0, 1], shaped like ``y_pred``.
        y_pred: Probabilities, or logits when ``from_logits`` (default False).
        label_smoothing: Targets become ``y * (1 - s) + 0.5 * s``. Defaults to 0.0.
        axis: Axis averaged over. Defaults to -1.

    Raises:
        InputError: ``y_true`` and ``y_pred`` have different shapes.
    """
    y_true, y_pred = _binary_targets(y_true, y_pred, label_smoothing, "binary_crossentropy")
    if from_logits:
        losses = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        losses = _bce_on_probabilities(y_true, y_pred)
    return losses.mean(dim=axis)


def _check_categorical_targets(y_true: torch.Tensor, y_pred: torch.Tensor) -> None:
    if y_true.shape == y_pred.shape:
        return
    sparse_like = y_true.dim() < y_pred.dim() or not y_true.is_floating_point() or y_true.shape[-1:] == (1,)
    hint = ("y_true looks like integer class indices: use loss='sparse_categorical_crossentropy' "
            "(or one-hot encode the labels)." if sparse_like else "Give one-hot targets shaped like y_pred.")
    raise InputError(f"categorical_crossentropy needs one-hot y_true shaped like y_pred. Received: "
                     f"y_true.shape={tuple(y_true.shape)} ({backend.dtype_name(y_true.dtype)}), "
                     f"y_pred.shape={tuple(y_pred.shape)}. {hint}")


def _warn_if_one_class(y_pred: torch.Tensor, loss: str) -> None:
    """Keras's warning for a categorical loss on a single-class output (pointing at the loss's caller)."""
    if y_pred.shape[-1] == 1:
        warnings.warn(f"In loss {loss}, expected y_pred.shape to be (batch_size, num_classes) with num_classes > 1. "
                      f"Received: y_pred.shape={tuple(y_pred.shape)}. Consider using 'binary_crossentropy' if you "
                      "only have 2 classes.", SyntaxWarning, stacklevel=3)


def categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False, label_smoothing: float = 0.0,
                             axis: int = -1) -> torch.Tensor:
    """Crossentropy between one-hot (or soft) targets and a distribution over ``axis`` (default -1).

    Args:
        y_true: One-hot targets shaped like ``y_pred``.
        y_pred: Probabilities (renormalised to sum to 1, then clipped), or logits when ``from_logits``.
        label_smoothing: Targets become ``y * (1 - s) + s / num_classes``. Defaults to 0.0.
        axis: The class axis. Defaults to -1.

    Raises:
        InputError: ``y_true`` is not shaped like ``y_pred``; integer labels get a hint to use
            ``sparse_categorical_crossentropy``.
    """
    if isinstance(axis, bool):
        raise ConfigError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, device=y_pred.device)
    _check_categorical_targets(y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    _warn_if_one_class(y_pred, "categorical_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        log_prob = torch.log_softmax(y_pred, dim=axis)
    else:
        y_pred = y_pred / y_pred.sum(dim=axis, keepdim=True)
        log_prob = torch.log(torch.clamp(y_pred, EPSILON, 1.0 - EPSILON))
    return -(y_true * log_prob).sum(dim=axis)


def _sparse_targets(y_true: torch.Tensor, y_pred: torch.Tensor, axis: int) -> torch.Tensor:
    if y_true.dim() == y_pred.dim() and y_true.shape[axis] == 1:
        y_true = y_true.squeeze(axis)
    expected = list(y_pred.shape)
    del expected[axis]
    if list(y_true.shape) != expected:
        hint = (" y_true looks one-hot encoded: use loss='categorical_crossentropy'."
                if y_true.shape == y_pred.shape else "")
        raise InputError(f"sparse_categorical_crossentropy needs integer class indices shaped like y_pred "
                         f"without its class axis {tuple(expected)}. Received: y_true.shape={tuple(y_true.shape)}, "
                         f"y_pred.shape={tuple(y_pred.shape)}.{hint}")
    return y_true.long()


def sparse_categorical_crossentropy(y_true: Any, y_pred: Any, from_logits: bool = False,
                                    ignore_class: int | None = None, axis: int = -1) -> torch.Tensor:
    """Crossentropy between integer class indices and a distribution over ``axis`` (default -1).

    Args:
        y_true: Class indices shaped like ``y_pred`` without the class axis (a trailing 1 is allowed).
        y_pred: Probabilities (renormalised, then clipped), or logits when ``from_logits`` (default False).
        ignore_class: A label value whose positions get loss 0. Defaults to None.
        axis: The class axis. Defaults to -1.

    Raises:
        InputError: ``y_true`` does not fit ``y_pred`` (one-hot targets get a hint).
    """
    y_pred = to_prediction(y_pred)
    y_true = _sparse_targets(backend.to_tensor(y_true, device=y_pred.device), y_pred, axis)
    valid = None
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = torch.where(valid, y_true, torch.zeros_like(y_true))
        y_pred = torch.where(valid.unsqueeze(axis), y_pred, torch.zeros_like(y_pred))
    squeeze = y_pred.dim() == 1
    if squeeze:
        y_pred, y_true = y_pred.unsqueeze(0), y_true.unsqueeze(0)
    elif axis % y_pred.dim() != 1:
        y_pred = y_pred.movedim(axis, 1)
    if from_logits:
        result = F.cross_entropy(y_pred, y_true, reduction="none")
    else:
        y_pred = y_pred / y_pred.sum(dim=1, keepdim=True)
        result = F.nll_loss(torch.log(torch.clamp(y_pred, EPSILON, 1.0 - EPSILON)), y_true, reduction="none")
    if squeeze:
        result = result.squeeze(0)
    if valid is not None:
        result = torch.where(valid, result, torch.zeros_like(result))
    return result
