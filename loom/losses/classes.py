"""Loss classes with Keras's names, arguments, default names and configs.

Each class wraps one function of :mod:`loom.losses.functions` and applies Keras's sample weighting and
reduction (``'sum_over_batch_size'`` by default).

Example:
    >>> import torch
    >>> from loom.losses import BinaryCrossentropy
    >>> bce = BinaryCrossentropy(from_logits=True)
    >>> bce(torch.tensor([[1.0], [0.0]]), torch.tensor([[0.0], [0.0]]))
    tensor(0.6931)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.losses import functions as fns
from loom.losses.loss import BuiltinLossWrapper

_DEFAULT = "sum_over_batch_size"


class _Simple(BuiltinLossWrapper):
    """A wrapper whose function takes no options; its config is just name and reduction, as Keras."""

    _fn = staticmethod(lambda y_true, y_pred: None)
    _default_name = ""

    def __init__(self, reduction: str | None = _DEFAULT, name: str | None = None, dtype: Any = None):
        super().__init__(type(self)._fn, reduction=reduction, name=name or self._default_name, dtype=dtype)


class MeanSquaredError(_Simple):
    """Mean of squared errors, as ``keras.losses.MeanSquaredError`` (name ``'mean_squared_error'``).

    Example:
        >>> MeanSquaredError()(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.5000)
    """
    _fn = staticmethod(fns.mean_squared_error)
    _default_name = "mean_squared_error"


class MeanAbsoluteError(_Simple):
    """Mean of absolute errors (name ``'mean_absolute_error'``).

    Example:
        >>> MeanAbsoluteError()(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 1.0]]))
        tensor(0.5000)
    """
    _fn = staticmethod(fns.mean_absolute_error)
    _default_name = "mean_absolute_error"


class MeanAbsolutePercentageError(_Simple):
    """``100 * mean(|(y_true - y_pred) / y_true|)`` (name ``'mean_absolute_percentage_error'``).

    Example:
        >>> MeanAbsolutePercentageError()(torch.tensor([[2.0]]), torch.tensor([[1.0]]))
        tensor(50.)
    """
    _fn = staticmethod(fns.mean_absolute_percentage_error)
    _default_name = "mean_absolute_percentage_error"


class MeanSquaredLogarithmicError(_Simple):
    """Mean squared error of ``log(1 + y)`` (name ``'mean_squared_logarithmic_error'``).

    Example:
        >>> MeanSquaredLogarithmicError()(torch.tensor([[0.0]]), torch.tensor([[0.0]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.mean_squared_logarithmic_error)
    _default_name = "mean_squared_logarithmic_error"


class LogCosh(_Simple):
    """Mean of ``log(cosh(error))`` (name ``'log_cosh'``).

    Example:
        >>> LogCosh()(torch.tensor([[0.0]]), torch.tensor([[0.0]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.log_cosh)
    _default_name = "log_cosh"


class Hinge(_Simple):
    """Hinge loss for -1/1 labels (0/1 are converted) (name ``'hinge'``).

    Example:
        >>> Hinge()(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor(0.5000)
    """
    _fn = staticmethod(fns.hinge)
    _default_name = "hinge"


class SquaredHinge(_Simple):
    """Squared hinge loss (name ``'squared_hinge'``).

    Example:
        >>> SquaredHinge()(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor(0.2500)
    """
    _fn = staticmethod(fns.squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_Simple):
    """Categorical hinge loss for one-hot labels (name ``'categorical_hinge'``).

    Example:
        >>> CategoricalHinge()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.0, 2.0]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.categorical_hinge)
    _default_name = "categorical_hinge"


class KLDivergence(_Simple):
    """Kullback-Leibler divergence ``sum(y_true * log(y_true / y_pred))`` (name ``'kl_divergence'``).

    Example:
        >>> KLDivergence()(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.5, 0.5]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.kl_divergence)
    _default_name = "kl_divergence"


class Poisson(_Simple):
    """Poisson loss ``mean(y_pred - y_true * log(y_pred))`` (name ``'poisson'``).

    Example:
        >>> round(Poisson()(torch.tensor([[1.0]]), torch.tensor([[1.0]])).item(), 6)
        1.0
    """
    _fn = staticmethod(fns.poisson)
    _default_name = "poisson"


class CosineSimilarity(BuiltinLossWrapper):
    """Negative cosine similarity along ``axis`` (default -1) (name ``'cosine_similarity'``).

    Example:
        >>> CosineSimilarity()(torch.tensor([[1.0, 0.0]]), torch.tensor([[2.0, 0.0]]))
        tensor(-1.)
    """

    _config_options = ("axis",)

    def __init__(self, axis: int = -1, reduction: str | None = _DEFAULT, name: str = "cosine_similarity",
                 dtype: Any = None):
        super().__init__(fns.cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(BuiltinLossWrapper):
    """Huber loss: quadratic below ``delta`` (default 1.0), linear above (name ``'huber_loss'``).

    Example:
        >>> Huber()(torch.tensor([[0.0]]), torch.tensor([[3.0]]))
        tensor(2.5000)
    """

    _config_options = ("delta",)

    def __init__(self, delta: float = 1.0, reduction: str | None = _DEFAULT, name: str = "huber_loss",
                 dtype: Any = None):
        super().__init__(fns.huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class BinaryCrossentropy(BuiltinLossWrapper):
    """Crossentropy for 0/1 targets, as ``keras.losses.BinaryCrossentropy``.

    Args:
        from_logits: ``y_pred`` holds logits rather than probabilities. Defaults to False.
        label_smoothing: Squeeze targets towards 0.5 by this amount. Defaults to 0.0.
        axis: Axis averaged over. Defaults to -1.
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'binary_crossentropy'``.
        dtype: Defaults to floatx.

    Example:
        >>> BinaryCrossentropy()(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor(0.6931)
    """

    _config_options = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = _DEFAULT, name: str = "binary_crossentropy", dtype: Any = None):
        super().__init__(fns.binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalCrossentropy(BinaryCrossentropy):
    """Crossentropy for one-hot targets, as ``keras.losses.CategoricalCrossentropy``.

    Integer class labels raise an :class:`loom.errors.InputError` pointing to
    :class:`SparseCategoricalCrossentropy`.

    Args:
        from_logits: ``y_pred`` holds logits rather than probabilities. Defaults to False.
        label_smoothing: Mix targets with the uniform distribution by this amount. Defaults to 0.0.
        axis: The class axis. Defaults to -1.
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'categorical_crossentropy'``.
        dtype: Defaults to floatx.

    Example:
        >>> CategoricalCrossentropy()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
        tensor(0.6931)
    """

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, axis: int = -1,
                 reduction: str | None = _DEFAULT, name: str = "categorical_crossentropy", dtype: Any = None):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, axis=axis, reduction=reduction,
                         name=name, dtype=dtype)
        self.fn = fns.categorical_crossentropy


class SparseCategoricalCrossentropy(BuiltinLossWrapper):
    """Crossentropy for integer class labels, as ``keras.losses.SparseCategoricalCrossentropy``.

    Args:
        from_logits: ``y_pred`` holds logits rather than probabilities. Defaults to False.
        ignore_class: Label value to skip: its positions get loss 0 and are left out of the mean.
            Defaults to None.
        reduction: Defaults to ``'sum_over_batch_size'``.
        axis: The class axis. Defaults to -1.
        name: Defaults to ``'sparse_categorical_crossentropy'``.
        dtype: Defaults to floatx.

    Example:
        >>> SparseCategoricalCrossentropy()(torch.tensor([1]), torch.tensor([[0.5, 0.5]]))
        tensor(0.6931)
    """

    _config_options = ("from_logits", "ignore_class")

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None,
                 reduction: str | None = _DEFAULT, axis: int = -1, name: str = "sparse_categorical_crossentropy",
                 dtype: Any = None):
        super().__init__(fns.sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.ignore_class is not None:
            y_pred = backend.to_tensor(y_pred)
            labels = backend.to_tensor(y_true, device=y_pred.device)
            if labels.dim() == y_pred.dim() and labels.shape[self.axis] == 1:
                labels = labels.squeeze(self.axis)
            valid = labels != self.ignore_class
            mask = valid if mask is None else mask & valid
        return super().__call__(y_true, y_pred, sample_weight=sample_weight, mask=mask)
