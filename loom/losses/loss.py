"""The ``Loss`` base class and Keras's weighting/reduction rules.

A loss object turns ``(y_true, y_pred)`` into per-sample values (its ``call``), multiplies them by
``sample_weight`` (and a mask), then reduces them. The default ``'sum_over_batch_size'`` divides the
weighted sum by the *number of values*, not by the sum of the weights, exactly as Keras 3.

Example:
    >>> import torch
    >>> from loom.losses import MeanSquaredError
    >>> loss = MeanSquaredError()
    >>> loss(torch.zeros(4, 1), torch.ones(4, 1), sample_weight=torch.tensor([1.0, 1.0, 0.0, 0.0]))
    tensor(0.5000)
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom import backend
from loom.errors import ConfigError

REDUCTIONS = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none", None)


def standardize_reduction(reduction: str | None) -> str | None:
    """Check ``reduction`` against Keras's allowed values.

    Raises:
        ConfigError: an unknown reduction (the message lists the valid ones).
    """
    if reduction not in REDUCTIONS:
        raise ConfigError(f"Invalid value for argument `reduction`. Expected one of {list(REDUCTIONS)}. "
                          f"Received: reduction={reduction!r}")
    return reduction


def squeeze_or_expand_to_same_rank(x1: torch.Tensor, x2: torch.Tensor,
                                   expand_rank_1: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Make ranks equal when they differ by one trailing dimension of size 1, as Keras does."""
    r1, r2 = x1.dim(), x2.dim()
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _divide_no_nan(x: torch.Tensor, divisor: Any) -> torch.Tensor:
    if isinstance(divisor, torch.Tensor):
        return torch.where(divisor == 0, torch.zeros_like(x), x / divisor)
    return x / divisor if divisor else torch.zeros_like(x)


def apply_mask(sample_weight: torch.Tensor | None, mask: torch.Tensor | None, dtype: torch.dtype,
               reduction: str | None) -> torch.Tensor | None:
    """Merge a boolean mask into the sample weights.

    For the mean-like reductions, valid entries get weight ``total / valid`` so that dividing by the number
    of values averages over the valid ones only.
    """
    if mask is None:
        return sample_weight
    if reduction in ("mean", "sum_over_batch_size"):
        valid = mask.to(dtype).sum()
        mask_weight = torch.where(valid == 0, torch.zeros_like(valid), mask.numel() / valid)
        float_mask = torch.where(mask.bool(), mask_weight, torch.zeros_like(mask_weight))
    else:
        float_mask = mask.to(dtype)
    if sample_weight is None:
        return float_mask
    float_mask, sample_weight = squeeze_or_expand_to_same_rank(float_mask, sample_weight.to(dtype))
    return sample_weight * float_mask


def reduce_values(values: torch.Tensor, sample_weight: torch.Tensor | None = None,
                  reduction: str | None = "sum_over_batch_size") -> torch.Tensor:
    """Reduce (already weighted) values: ``sum``, or ``sum / count`` for the mean-like reductions."""
    if reduction in (None, "none") or values.dim() == 0 or tuple(values.shape) == (0,):
        return values
    loss = values.sum()
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(loss, sample_weight.sum().to(loss.dtype))
    return _divide_no_nan(loss, values.numel())


def reduce_weighted_values(values: torch.Tensor, sample_weight: Any = None, mask: torch.Tensor | None = None,
                           reduction: str | None = "sum_over_batch_size") -> torch.Tensor:
    """Weight per-sample ``values`` by ``sample_weight`` and ``mask``, then reduce them as Keras does."""
    reduction = standardize_reduction(reduction)
    if sample_weight is not None:
        sample_weight = backend.to_tensor(sample_weight, dtype=values.dtype, device=values.device)
    sample_weight = apply_mask(sample_weight, mask, values.dtype, reduction)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight.to(values.dtype))
        values = values * sample_weight
    return reduce_values(values, sample_weight, reduction)


def to_prediction(y_pred: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``y_pred`` as a floating tensor (``dtype`` if given; integer input becomes floatx)."""
    if dtype is not None:
        return backend.to_tensor(y_pred, dtype=dtype)
    y_pred = backend.to_tensor(y_pred)
    return y_pred if y_pred.is_floating_point() else y_pred.to(backend.torch_dtype(None))


class Loss:
    """Base class: subclasses implement ``call(y_true, y_pred)`` returning per-sample losses.

    Args:
        name: Defaults to the snake-case class name.
        reduction: ``'sum_over_batch_size'`` (default), ``'sum'``, ``'mean'``, ``'mean_with_sample_weight'``,
            ``'none'`` or ``None``.
        dtype: Dtype the predictions are cast to; defaults to floatx (``'float32'``).

    Example:
        >>> import torch
        >>> class Cubed(Loss):
        ...     def call(self, y_true, y_pred):
        ...         return ((y_pred - y_true) ** 3).mean(-1)
        >>> Cubed()(torch.zeros(2, 1), torch.full((2, 1), 2.0))
        tensor(8.)
    """

    def __init__(self, name: str | None = None, reduction: str | None = "sum_over_batch_size",
                 dtype: Any = None):
        self.name = name or backend.snake_case(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype = backend.torch_dtype(dtype)

    @property
    def dtype(self) -> str:
        return backend.dtype_name(self._dtype)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        """The reduced loss. ``mask`` (loom extension) is a boolean tensor shaped like the per-sample losses."""
        y_pred = to_prediction(y_pred, self._dtype)
        y_true = backend.to_tensor(y_true, device=y_pred.device)
        return reduce_weighted_values(self.call(y_true, y_pred), sample_weight, mask, self.reduction)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred).")

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class LossFunctionWrapper(Loss):
    """A :class:`Loss` around a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Ranks of ``y_true`` and ``y_pred`` are first aligned (a trailing dimension of 1 is added or dropped).

    Args:
        fn: The per-sample loss function.
        reduction: As :class:`Loss`. Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``fn.__name__``.
        dtype: As :class:`Loss`.
        **kwargs: Passed to ``fn`` on every call.

    Example:
        >>> import torch
        >>> from loom.losses import huber
        >>> LossFunctionWrapper(huber, delta=0.5)(torch.zeros(2, 1), torch.ones(2, 1))
        tensor(0.3750)
    """

    def __init__(self, fn: Callable, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": getattr(self.fn, "__name__", repr(self.fn)), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "LossFunctionWrapper":
        config = dict(config)
        fn = config.pop("fn")
        if isinstance(fn, str):
            from loom.losses import get
            fn = get(fn)
        return cls(fn, **config)

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class BuiltinLossWrapper(LossFunctionWrapper):
    """A :class:`LossFunctionWrapper` shaped like Keras's built-in loss classes.

    Every option passed to ``fn`` is also an attribute of the same name. The config is ``name`` and
    ``reduction`` followed by the options named in ``_config_options`` (Keras leaves some out), without
    ``fn``; ``from_config`` calls the class with it.

    Args:
        fn, reduction, name, dtype: As :class:`LossFunctionWrapper`.
        **options: Passed to ``fn`` on every call, and kept as attributes.

    Example:
        >>> from loom.losses import huber
        >>> class Huber(BuiltinLossWrapper):
        ...     _config_options = ("delta",)
        ...     def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        ...         super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)
        >>> Huber(delta=0.5).get_config()
        {'name': 'huber_loss', 'reduction': 'sum_over_batch_size', 'delta': 0.5}
    """

    _config_options: tuple[str, ...] = ()

    def __init__(self, fn: Callable, reduction: str | None = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **options: Any):
        super().__init__(fn, reduction=reduction, name=name, dtype=dtype, **options)
        for key, value in options.items():
            setattr(self, key, value)

    def get_config(self) -> dict[str, Any]:
        return {**Loss.get_config(self), **{key: getattr(self, key) for key in self._config_options}}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Loss":
        return cls(**config)


def target_kind(y_true_shape: tuple, y_pred_shape: tuple) -> tuple[bool, bool]:
    """``(is_binary, is_sparse_categorical)`` from the target and output shapes, as Keras's compile does.

    Binary when the output's last dimension is 1; sparse when ``y_true`` has lower rank, or a last
    dimension of 1 against several classes.
    """
    t_rank, p_rank = len(y_true_shape), len(y_pred_shape)
    t_last = y_true_shape[-1] if t_rank else None
    p_last = y_pred_shape[-1] if p_rank else None
    is_binary = p_last == 1
    is_sparse = t_rank < p_rank or (t_last == 1 and p_last is not None and p_last > 1)
    return is_binary, is_sparse
