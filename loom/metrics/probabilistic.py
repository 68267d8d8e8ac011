"""Crossentropy, divergence and hinge metrics: running means of the loss functions.

Unlike Keras, the target's rank is first aligned with the prediction's (``(n,)`` labels with ``(n, 1)``
outputs work for binary crossentropy, as they do for the loss).

Example:
    >>> import torch
    >>> from loom.metrics import BinaryCrossentropy
    >>> BinaryCrossentropy()(torch.tensor([1.0, 0.0]), torch.tensor([[0.5], [0.5]]))
    tensor(0.6931)
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.losses import functions as fns
from loom.losses.loss import squeeze_or_expand_to_same_rank
from loom.metrics.metric import FunctionMean, MeanMetricWrapper


def _aligned(fn: Callable) -> Callable:
    def aligned(y_true: torch.Tensor, y_pred: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return fn(y_true, y_pred, **kwargs)
    aligned.__name__ = fn.__name__
    return aligned


class _LossMean(FunctionMean):
    @classmethod
    def _per_sample_fn(cls) -> Callable:
        return _aligned(cls._fn)


class KLDivergence(_LossMean):
    """Running mean Kullback-Leibler divergence (name ``'kl_divergence'``).

    Example:
        >>> KLDivergence()(torch.tensor([[0.5, 0.5]]), torch.tensor([[0.5, 0.5]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.kl_divergence)
    _default_name = "kl_divergence"


class Poisson(_LossMean):
    """Running mean Poisson loss (name ``'poisson'``).

    Example:
        >>> round(float(Poisson()(torch.tensor([[1.0]]), torch.tensor([[1.0]]))), 6)
        1.0
    """
    _fn = staticmethod(fns.poisson)
    _default_name = "poisson"


class Hinge(_LossMean):
    """Running mean hinge loss (name ``'hinge'``).

    Example:
        >>> Hinge()(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor(0.5000)
    """
    _fn = staticmethod(fns.hinge)
    _default_name = "hinge"


class SquaredHinge(_LossMean):
    """Running mean squared hinge loss (name ``'squared_hinge'``).

    Example:
        >>> SquaredHinge()(torch.tensor([[1.0]]), torch.tensor([[0.5]]))
        tensor(0.2500)
    """
    _fn = staticmethod(fns.squared_hinge)
    _default_name = "squared_hinge"


class CategoricalHinge(_LossMean):
    """Running mean categorical hinge loss (name ``'categorical_hinge'``).

    Example:
        >>> CategoricalHinge()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.0, 2.0]]))
        tensor(0.)
    """
    _fn = staticmethod(fns.categorical_hinge)
    _default_name = "categorical_hinge"


class BinaryCrossentropy(MeanMetricWrapper):
    """Running mean binary crossentropy (name ``'binary_crossentropy'``).

    Args:
        name: Defaults to ``'binary_crossentropy'``.
        dtype: Defaults to floatx.
        from_logits: Defaults to False.
        label_smoothing: Defaults to 0.

    Example:
        >>> BinaryCrossentropy(from_logits=True)(torch.tensor([[1.0]]), torch.tensor([[0.0]]))
        tensor(0.6931)
    """

    def __init__(self, name: str = "binary_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0):
        super().__init__(_aligned(fns.binary_crossentropy), name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing}


class CategoricalCrossentropy(MeanMetricWrapper):
    """Running mean categorical crossentropy for one-hot targets (name ``'categorical_crossentropy'``).

    Args:
        name: Defaults to ``'categorical_crossentropy'``.
        dtype: Defaults to floatx.
        from_logits: Defaults to False.
        label_smoothing: Defaults to 0.
        axis: The class axis. Defaults to -1.

    Example:
        >>> CategoricalCrossentropy()(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
        tensor(0.6931)
    """

    def __init__(self, name: str = "categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 label_smoothing: float = 0, axis: int = -1):
        super().__init__(fns.categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing, "axis": self.axis}


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Running mean sparse categorical crossentropy for integer labels.

    Args:
        name: Defaults to ``'sparse_categorical_crossentropy'``.
        dtype: Defaults to floatx.
        from_logits: Defaults to False.
        axis: The class axis. Defaults to -1.

    Example:
        >>> SparseCategoricalCrossentropy()(torch.tensor([1]), torch.tensor([[0.5, 0.5]]))
        tensor(0.6931)
    """

    def __init__(self, name: str = "sparse_categorical_crossentropy", dtype: Any = None, from_logits: bool = False,
                 axis: int = -1):
        super().__init__(fns.sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         axis=axis)
        self.from_logits = from_logits
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits, "axis": self.axis}
