"""Focal crossentropies (Lin et al., 2017) and the generalized crossentropy (Zhang & Sabuncu, 2018).

Focal losses scale the crossentropy by ``(1 - p_t)**gamma`` so that well-classified examples count less;
the generalized crossentropy ``(1 - p**q) / q`` is robust to noisy labels. Numerics follow Keras 3:
probabilities are clipped to ``[1e-7, 1 - 1e-7]`` before logs.

Example:
    >>> import torch
    >>> from loom.losses import BinaryFocalCrossentropy
    >>> loss = BinaryFocalCrossentropy(gamma=2.0)
    >>> round(float(loss(torch.tensor([[1.0]]), torch.tensor([[0.5]]))), 4)
    0.1733
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.errors import ConfigError, InputError
from loom.losses.functions import EPSILON, _bce_on_probabilities, _binary_targets, _warn_if_one_class
from loom.losses.loss import BuiltinLossWrapper, to_prediction

_DEFAULT = "sum_over_batch_size"


def _check_axis(axis: Any, fn: str) -> None:
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ConfigError(f"{fn}: `axis` must be of type `int`. Received: axis={axis!r} of type {type(axis)}")


def binary_focal_crossentropy(y_true: Any, y_pred: Any, apply_class_balancing: bool = False, alpha: float = 0.25,
                              gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0,
                              axis: int = -1) -> torch.Tensor:
    """Binary crossentropy times ``(1 - p_t)**gamma``, averaged over ``axis``.

    Args:
        y_true: 0/1 targets shaped like ``y_pred``.
        y_pred: Probabilities, or logits when ``from_logits`` (default False).
        apply_class_balancing: Weight positives by ``alpha`` and negatives by ``1 - alpha``. Default False.
        alpha: The class-balancing weight. Defaults to 0.25.
        gamma: The focusing exponent. Defaults to 2.0.
        label_smoothing: Targets become ``y * (1 - s) + 0.5 * s``. Defaults to 0.0.
        axis: Axis averaged over. Defaults to -1.

    Raises:
        InputError: ``y_true`` and ``y_pred`` have different shapes.
    """
    y_true, y_pred = _binary_targets(y_true, y_pred, label_smoothing, "binary_focal_crossentropy")
    if from_logits:
        y_pred = torch.sigmoid(y_pred)
    bce = _bce_on_probabilities(y_true, y_pred)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal
    return focal.mean(dim=axis)


def categorical_focal_crossentropy(y_true: Any, y_pred: Any, alpha: float = 0.25, gamma: float = 2.0,
                                   from_logits: bool = False, label_smoothing: float = 0.0,
                                   axis: int = -1) -> torch.Tensor:
    """Categorical crossentropy with each class term scaled by ``alpha * (1 - p)**gamma``, summed over ``axis``.

    Args:
        y_true: One-hot targets shaped like ``y_pred``.
        y_pred: Probabilities (renormalised, then clipped), or logits when ``from_logits`` (default False).
        alpha: The weighting factor. Defaults to 0.25.
        gamma: The focusing exponent. Defaults to 2.0.
        label_smoothing: Targets become ``y * (1 - s) + s / num_classes``. Defaults to 0.0.
        axis: The class axis. Defaults to -1.

    Raises:
        ConfigError: ``axis`` is not an int. InputError: ``y_true`` is not shaped like ``y_pred``.
    """
    _check_axis(axis, "categorical_focal_crossentropy")
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, dtype=y_pred.dtype, device=y_pred.device)
    if y_true.shape != y_pred.shape:
        raise InputError(f"categorical_focal_crossentropy needs one-hot y_true shaped like y_pred. Received: "
                         f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}.")
    _warn_if_one_class(y_pred, "categorical_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    output = torch.clamp(y_pred / y_pred.sum(dim=axis, keepdim=True), EPSILON, 1.0 - EPSILON)
    cce = -y_true * torch.log(output)
    return (torch.pow(1.0 - output, gamma) * alpha * cce).sum(dim=axis)


def categorical_generalized_cross_entropy(y_true: Any, y_pred: Any, q: float) -> torch.Tensor:
    """``(1 - p**q) / q`` where ``p`` is the predicted probability of the true class.

    Args:
        y_true: Integer class indices shaped like ``y_pred`` without its last axis.
        y_pred: Class probabilities.
        q: In ``(0, 1)``: towards 0 the loss approaches crossentropy, at 1 the mean absolute error.

    Raises:
        InputError: ``y_true`` does not fit ``y_pred``.
    """
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, device=y_pred.device)
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
        raise InputError(f"categorical_generalized_cross_entropy needs integer labels shaped like y_pred without "
                         f"its class axis {tuple(y_pred.shape[:-1])}. Received: y_true.shape={tuple(y_true.shape)},"
                         f" y_pred.shape={tuple(y_pred.shape)}.")
    p = torch.gather(y_pred, -1, y_true.long().unsqueeze(-1)).squeeze(-1)
    return (1 - torch.pow(p, q)) / q


class BinaryFocalCrossentropy(BuiltinLossWrapper):
    """Focal binary crossentropy, as ``keras.losses.BinaryFocalCrossentropy``.

    Args:
        apply_class_balancing: Weight by ``alpha`` / ``1 - alpha``. Defaults to False.
        alpha: Defaults to 0.25.
        gamma: Defaults to 2.0.
        from_logits: Defaults to False.
        label_smoothing: Defaults to 0.0.
        axis: Defaults to -1.
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'binary_focal_crossentropy'``.
        dtype: Defaults to floatx.

    Example:
        >>> loss = BinaryFocalCrossentropy(from_logits=True)
        >>> round(float(loss(torch.tensor([[0.0]]), torch.tensor([[0.0]]))), 4)
        0.1733
    """

    _config_options = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = _DEFAULT, name: str = "binary_focal_crossentropy", dtype: Any = None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(BuiltinLossWrapper):
    """Focal categorical crossentropy for one-hot targets, as ``keras.losses.CategoricalFocalCrossentropy``.

    Args:
        alpha: Defaults to 0.25.
        gamma: Defaults to 2.0.
        from_logits: Defaults to False.
        label_smoothing: Defaults to 0.0.
        axis: Defaults to -1.
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'categorical_focal_crossentropy'``.
        dtype: Defaults to floatx.

    Example:
        >>> loss = CategoricalFocalCrossentropy()
        >>> round(float(loss(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))), 4)
        0.0433
    """

    _config_options = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha: float = 0.25, gamma: float = 2.0, from_logits: bool = False,
                 label_smoothing: float = 0.0, axis: int = -1, reduction: str | None = _DEFAULT,
                 name: str = "categorical_focal_crossentropy", dtype: Any = None):
        _check_axis(axis, "CategoricalFocalCrossentropy")
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype, alpha=alpha,
                         gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalGeneralizedCrossEntropy(BuiltinLossWrapper):
    """Generalized crossentropy for integer labels, as ``keras.losses.CategoricalGeneralizedCrossEntropy``.

    Args:
        q: In the open interval ``(0, 1)``. Defaults to 0.5.
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'categorical_generalized_cross_entropy'``.
        dtype: Defaults to floatx.

    Raises:
        ConfigError: ``q`` is not in ``(0, 1)``.

    Example:
        >>> CategoricalGeneralizedCrossEntropy(q=0.5)(torch.tensor([1]), torch.tensor([[0.75, 0.25]]))
        tensor(1.)
    """

    _config_options = ("q",)

    def __init__(self, q: float = 0.5, reduction: str | None = _DEFAULT,
                 name: str = "categorical_generalized_cross_entropy", dtype: Any = None):
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 < q < 1:
            raise ConfigError(f"CategoricalGeneralizedCrossEntropy: q must be in the interval (0, 1). "
                              f"Received: q={q!r}")
        super().__init__(categorical_generalized_cross_entropy, reduction=reduction, name=name, dtype=dtype, q=q)
