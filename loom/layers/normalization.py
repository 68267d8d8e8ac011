"""Normalization layers: ``BatchNormalization`` (with batch renormalization), ``LayerNormalization``,
``GroupNormalization``, with Keras 3's formulas, defaults and weight order.

Example:
    >>> import torch, loom
    >>> bn = loom.layers.BatchNormalization()
    >>> y = bn(torch.randn(16, 4) * 3 + 1, training=True)
    >>> [w.shape for w in bn.get_weights()]
    [(4,), (4,), (4,), (4,)]
    >>> bool(y.mean(0).abs().max() < 1e-5)
    True
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom import constraints, initializers, regularizers
from loom.errors import ConfigError, ShapeError
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer
from loom.layers.opaque_kernels import batch_norm

_KERAS_EPSILON = 1e-7  # keras.backend.epsilon(), used by the masked moments


def _positive_axis(layer: Layer, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise ShapeError(f"{type(layer).__name__} '{layer.name}': axis {axis} is out of bounds for inputs of "
                         f"rank {rank}; valid axes are {-rank}..{rank - 1}.")
    return axis % rank


def _known_dim(layer: Layer, input_shape: tuple, axis: int) -> int:
    dim = input_shape[axis]
    if dim is None:
        raise ShapeError(f"{type(layer).__name__} '{layer.name}' needs a known size on axis {axis}, got input "
                         f"shape {tuple(input_shape)}.")
    return int(dim)


def _broadcast(v: torch.Tensor | None, rank: int, axis: int) -> torch.Tensor | None:
    """A per-channel vector reshaped to broadcast against inputs of ``rank`` along ``axis``."""
    if v is None:
        return None
    shape = [1] * rank
    shape[axis] = v.shape[0]
    return v.reshape(shape)


class BatchNormalization(Layer):
    """Normalize each channel with the batch's statistics in training, with moving averages in inference.

    Training (``fit``, or ``layer(x, training=True)``) normalizes with the batch mean and (biased) variance
    and updates ``moving = moving * momentum + batch * (1 - momentum)``; inference uses the moving
    statistics. As in Keras, a layer with ``trainable = False`` always runs in inference mode.
    With ``renorm=True`` training applies batch renormalization (Ioffe, 2017,
    https://arxiv.org/abs/1702.03275): ``y = gamma * (x_hat * r + d) + beta`` with
    ``r = clip(sigma_B / sigma, rmin, rmax)`` and ``d = clip((mu_B - mu) / sigma, -dmax, dmax)``, where
    ``mu`` and ``sigma`` are moving averages updated with ``renorm_momentum``.

    Weights, in Keras's order: ``gamma`` (if ``scale``), ``beta`` (if ``center``), ``moving_mean``,
    ``moving_variance``, and with ``renorm`` also ``moving_stddev``, ``renorm_mean``, ``renorm_stddev``.

    Args:
        axis: the channel axis (default ``-1``: channels_last).
        momentum: momentum of the moving averages (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center: learn an offset ``beta`` (default ``True``).
        scale: learn a scale ``gamma`` (default ``True``).
        beta_initializer: default ``'zeros'``.
        gamma_initializer: default ``'ones'``.
        moving_mean_initializer: default ``'zeros'``.
        moving_variance_initializer: default ``'ones'``.
        beta_regularizer: default ``None``.
        gamma_regularizer: default ``None``.
        beta_constraint: default ``None``.
        gamma_constraint: default ``None``.
        synchronized: in a distributed run, compute the batch statistics over all processes' batches
            (default ``False``; see :func:`loom.distributed.sync_batchnorm`). Without a process group it changes
            nothing.
        renorm: use batch renormalization (default ``False``).
        renorm_clipping: dict with optional keys ``'rmax'``, ``'rmin'``, ``'dmax'`` (default ``None``: no
            clipping).
        renorm_momentum: momentum of the renorm averages ``mu``, ``sigma`` (default 0.99).

    Call arguments:
        inputs: a tensor of any rank.
        mask: optional boolean ``(batch, ...)`` mask of rank ``inputs.ndim - 1`` (passed automatically in a
            graph); masked entries are left out of the batch statistics.

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        ``gamma * (inputs - mean) / sqrt(variance + epsilon) + beta``, with the batch's statistics in training and
        the moving ones in inference.

    Raises:
        ShapeError: an ``axis`` out of bounds for the input.

    Example:
        >>> import torch
        >>> layer = BatchNormalization(momentum=0.9)
        >>> _ = layer(torch.ones(8, 3) * 5, training=True)
        >>> layer.moving_mean.detach()
        tensor([0.5000, 0.5000, 0.5000])
    """

    _fresh_output = True

    supports_masking = True

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer: Any = "zeros", gamma_initializer: Any = "ones",
                 moving_mean_initializer: Any = "zeros", moving_variance_initializer: Any = "ones",
                 beta_regularizer: Any = None, gamma_regularizer: Any = None, beta_constraint: Any = None,
                 gamma_constraint: Any = None, synchronized: bool = False, renorm: bool = False,
                 renorm_clipping: dict | None = None, renorm_momentum: float = 0.99, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ConfigError(f"BatchNormalization '{self.name}': axis must be an int, got {axis!r}.")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.synchronized = bool(synchronized)
        self.renorm = bool(renorm)
        self.renorm_clipping = self._check_clipping(renorm_clipping) if self.renorm else renorm_clipping
        self.renorm_momentum = float(renorm_momentum)
        self._channel_axis = None

    def _check_clipping(self, clipping: dict | None) -> dict:
        clipping = dict(clipping or {})
        unknown = set(clipping) - {"rmax", "rmin", "dmax"}
        if unknown:
            raise ConfigError(f"BatchNormalization '{self.name}': unknown renorm_clipping keys {sorted(unknown)}; "
                              f"valid keys are ['dmax', 'rmax', 'rmin'].")
        rmax, rmin, dmax = clipping.get("rmax"), clipping.get("rmin"), clipping.get("dmax")
        if rmax is not None and rmin is not None and rmax < rmin:
            raise ConfigError(f"BatchNormalization '{self.name}': renorm_clipping needs rmax >= rmin, got "
                              f"rmax={rmax}, rmin={rmin}.")
        if dmax is not None and dmax < 0:
            raise ConfigError(f"BatchNormalization '{self.name}': renorm_clipping needs dmax >= 0, got {dmax}.")
        return clipping

    def build(self, input_shape):
        rank = len(input_shape)
        self._channel_axis = _positive_axis(self, self.axis, rank)
        shape = (_known_dim(self, input_shape, self._channel_axis),)
        if self.scale:
            self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer)
            constraints.register(self, "gamma", self.gamma_constraint)
        if self.center:
            self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer)
            constraints.register(self, "beta", self.beta_constraint)
        self.add_weight("moving_mean", shape, self.moving_mean_initializer, trainable=False)
        self.add_weight("moving_variance", shape, self.moving_variance_initializer, trainable=False)
        if self.renorm:
            def stddev_init(s, dtype=None):
                return torch.sqrt(self.moving_variance_initializer(s, dtype=dtype))
            self.add_weight("moving_stddev", shape, stddev_init, trainable=False)
            self.add_weight("renorm_mean", shape, self.moving_mean_initializer, trainable=False)
            self.add_weight("renorm_stddev", shape, stddev_init, trainable=False)
        self.input_spec = InputSpec(ndim=rank, axes={self._channel_axis: shape[0]})

    # ------------------------------------------------------------------------------------------ compute
    def call(self, inputs, mask=None):
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        if not (self.training and self.trainable):
            return self._fused(inputs, self.moving_mean, self.moving_variance, gamma, beta, training=False)
        if mask is not None:
            if mask.dim() != inputs.dim() - 1:
                raise ShapeError(f"BatchNormalization '{self.name}': the mask must have one dimension less than "
                                 f"the inputs; got mask shape {tuple(mask.shape)} for inputs "
                                 f"{tuple(inputs.shape)}.")
            mean, var = self._masked_moments(inputs, mask)
            if self.renorm:
                gamma, beta = self._renorm_transform(mean.detach(), var.detach(), gamma, beta)
            return self._normalize(inputs, mean, var, gamma, beta)
        if self.renorm:
            with torch.no_grad():
                var, mean = torch.var_mean(inputs, self._reduction_dims(inputs), correction=0)
            gamma, beta = self._renorm_transform(mean, var, gamma, beta)
            return self._fused(inputs, None, None, gamma, beta, training=True)
        if self.synchronized:
            from loom.distributed.data_parallel import synchronized_moments
            mean, var = synchronized_moments(inputs, self._reduction_dims(inputs))
            self._update_moving(mean.detach(), var.detach())
            return self._normalize(inputs, mean, var, gamma, beta)
        return self._train_plain(inputs, gamma, beta)

    _runs_in_place = True

    #: A convolution right before this layer may absorb it in inference (see ``BaseConv._call_folded``).
    _folds_into_convolution = True

    def _inference_affine(self, inputs) -> tuple[torch.Tensor, torch.Tensor] | None:
        """``(scale, shift)`` per channel such that inference gives ``x * scale + shift``; ``None`` in training
        (or for inputs of another dtype than the statistics)."""
        if (self.training and self.trainable) or inputs.dtype != self.moving_mean.dtype:
            return None
        inv = torch.rsqrt(self.moving_variance + self.epsilon)
        scale = inv * self.gamma if self.scale else inv
        shift = -self.moving_mean * scale
        return scale, (shift + self.beta if self.center else shift)

    def _call_in_place(self, inputs):
        """Inference with the moving statistics as one in-place pass: ``x = x * scale + shift``."""
        affine = self._inference_affine(inputs)
        if affine is None:
            return None
        rank, axis = inputs.dim(), self._channel_axis
        return torch.addcmul(_broadcast(affine[1], rank, axis), inputs, _broadcast(affine[0], rank, axis),
                             out=inputs)

    def _train_plain(self, inputs, gamma, beta):
        """Batch statistics through torch's fused kernel, which also returns them for the moving averages."""
        channels = inputs.shape[self._channel_axis]
        count = inputs.numel() // max(channels, 1)
        if count <= 1:  # torch refuses one value per channel; Keras gives variance 0
            var, mean = torch.var_mean(inputs, self._reduction_dims(inputs), correction=0)
            self._update_moving(mean.detach(), var.detach())
            return self._normalize(inputs, mean, var, gamma, beta)
        batch_mean = self.moving_mean.new_zeros(channels)
        batch_var = self.moving_variance.new_zeros(channels)
        out = self._fused(inputs, batch_mean, batch_var, gamma, beta, training=True, momentum=1.0)
        self._update_moving(batch_mean, batch_var * ((count - 1) / count))  # torch stores the unbiased one
        return out

    def _fused(self, x, mean, var, gamma, beta, training: bool, momentum: float = 0.0):
        """``F.batch_norm`` with the channel axis moved to where torch expects it (dim 1); compiled training on the
        CPU calls ATen's kernels as one operator (:mod:`loom.layers.opaque_kernels`)."""
        axis, rank = self._channel_axis, x.dim()
        if rank == 2 or axis == 1:
            return batch_norm(x, mean, var, gamma, beta, training, momentum, self.epsilon)
        if axis == rank - 1:
            flat = x.reshape(-1, x.shape[-1])
            return batch_norm(flat, mean, var, gamma, beta, training, momentum, self.epsilon).reshape(x.shape)
        moved = x.movedim(axis, 1)
        return batch_norm(moved, mean, var, gamma, beta, training, momentum, self.epsilon).movedim(1, axis)

    def _normalize(self, x, mean, var, gamma, beta):
        """Keras's ``ops.batch_normalization`` formula with explicit statistics."""
        rank, axis = x.dim(), self._channel_axis
        inv = torch.rsqrt(var + self.epsilon)
        if gamma is not None:
            inv = inv * gamma
        out = (x - _broadcast(mean, rank, axis)) * _broadcast(inv, rank, axis)
        return out + _broadcast(beta, rank, axis) if beta is not None else out

    def _reduction_dims(self, x) -> list[int]:
        return [d for d in range(x.dim()) if d != self._channel_axis]

    def _masked_moments(self, x, mask):
        """Keras's masked mean and biased variance (masked entries excluded)."""
        dims = self._reduction_dims(x)
        weights = mask.unsqueeze(-1).expand(x.shape).to(x.dtype)
        total = weights.sum(dims)
        mean = (x * weights).sum(dims) / (total + _KERAS_EPSILON)
        centered = (x - _broadcast(mean, x.dim(), self._channel_axis)) * weights
        var = centered.square().sum(dims) / (total + _KERAS_EPSILON)
        if not self.renorm:
            self._update_moving(mean.detach(), var.detach())
        return mean, var

    def _update_moving(self, mean, var) -> None:
        with torch.no_grad():
            m = self.momentum
            self.moving_mean.copy_(self.moving_mean * m + mean * (1.0 - m))
            self.moving_variance.copy_(self.moving_variance * m + var * (1.0 - m))

    def _renorm_transform(self, mean, var, gamma, beta):
        """The renorm correction ``(r, d)`` folded into gamma and beta; updates the renorm statistics."""
        with torch.no_grad():
            stddev = torch.sqrt(var + self.epsilon)
            sigma = torch.clamp(self.renorm_stddev, min=self.epsilon ** 0.5)
            r = stddev / sigma
            d = (mean - self.renorm_mean) / sigma
            clip = self.renorm_clipping
            if clip.get("rmin") is not None:
                r = torch.clamp(r, min=clip["rmin"])
            if clip.get("rmax") is not None:
                r = torch.clamp(r, max=clip["rmax"])
            if clip.get("dmax") is not None:
                d = torch.clamp(d, -clip["dmax"], clip["dmax"])
            self._update_renorm(mean, stddev)
        new_gamma = r * gamma if gamma is not None else r
        new_beta = d * gamma if gamma is not None else d
        return new_gamma, (new_beta + beta if beta is not None else new_beta)

    def _update_renorm(self, mean, stddev) -> None:
        rm, m = self.renorm_momentum, self.momentum
        self.renorm_mean.copy_(self.renorm_mean * rm + mean * (1.0 - rm))
        self.renorm_stddev.copy_(self.renorm_stddev * rm + stddev * (1.0 - rm))
        self.moving_mean.copy_(self.moving_mean * m + mean * (1.0 - m))
        self.moving_stddev.copy_(self.moving_stddev * m + stddev * (1.0 - m))
        self.moving_variance.copy_(torch.relu(self.moving_stddev * self.moving_stddev - self.epsilon))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
                "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum}


class _AffineNormalization(Layer):
    """Shared arguments of the per-sample normalizations (``gamma`` / ``beta`` and their options)."""

    supports_masking = True

    def __init__(self, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 beta_initializer: Any = "zeros", gamma_initializer: Any = "ones", beta_regularizer: Any = None,
                 gamma_regularizer: Any = None, beta_constraint: Any = None, gamma_constraint: Any = None,
                 **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)

    def _add_affine(self, shape: tuple, with_gamma: bool, with_beta: bool) -> None:
        if with_gamma:
            self.add_weight("gamma", shape, self.gamma_initializer, self.gamma_regularizer)
            constraints.register(self, "gamma", self.gamma_constraint)
        if with_beta:
            self.add_weight("beta", shape, self.beta_initializer, self.beta_regularizer)
            constraints.register(self, "beta", self.beta_constraint)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class LayerNormalization(_AffineNormalization):
    """Normalize each sample over ``axis`` (Ba et al., 2016): ``gamma * (x - mean) / sqrt(var + eps) + beta``.

    Args:
        axis: the axis or list of axes to normalize over; ``gamma``/``beta`` have their sizes
            (default ``-1``).
        epsilon: added to the variance (default 1e-3).
        center: learn ``beta`` (default ``True``).
        scale: learn ``gamma`` (default ``True``).
        rms_scaling: Keras's deprecated variant: ``x * rsqrt(var + eps) * gamma`` without centering or
            ``beta`` (default ``False``).
        **kwargs: ``beta_initializer`` (default ``'zeros'``), ``gamma_initializer`` (default ``'ones'``),
            ``beta_regularizer``, ``gamma_regularizer``, ``beta_constraint``, ``gamma_constraint`` (default
            ``None``) and base layer arguments (``name``, ``dtype``...).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        The input normalized per sample over ``axis``, then scaled and shifted.

    Raises:
        ConfigError: an invalid ``axis``.

    Example:
        >>> import torch
        >>> y = LayerNormalization()(torch.tensor([[1.0, 2.0, 3.0]]))
        >>> [round(v, 3) for v in y[0].tolist()]
        [-1.224, 0.0, 1.224]
    """

    def __init__(self, axis: int | list = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True,
                 rms_scaling: bool = False, **kwargs):
        super().__init__(epsilon=epsilon, center=center, scale=scale, **kwargs)
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        if not (isinstance(axis, int) or (isinstance(axis, list) and axis and all(isinstance(a, int) for a in axis))):
            raise ConfigError(f"LayerNormalization '{self.name}': axis must be an int or a list of ints, got "
                              f"{axis!r}.")
        self.axis = axis
        self.rms_scaling = bool(rms_scaling)
        self._axes: list[int] = []

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        positive = sorted({_positive_axis(self, a, rank) for a in axes})
        shape = tuple(_known_dim(self, input_shape, a) for a in positive)
        # Negative axes stay negative, so inputs of another rank normalize the same trailing axes (as Keras).
        self._axes = sorted({a % rank: a for a in axes}.values(), key=lambda a: a % rank)
        self._add_affine(shape, self.scale or self.rms_scaling, self.center and not self.rms_scaling)
        min_ndim = max(a + 1 if a >= 0 else -a for a in self._axes)
        self.input_spec = InputSpec(min_ndim=min_ndim, axes={a: input_shape[a] for a in self._axes})

    def call(self, inputs):
        rank = inputs.dim()
        axes = [a % rank for a in self._axes]
        gamma = self.gamma if (self.scale or self.rms_scaling) else None
        beta = self.beta if (self.center and not self.rms_scaling) else None
        normalized_shape = tuple(inputs.shape[a] for a in axes)
        if not self.rms_scaling and axes == list(range(rank - len(axes), rank)):
            return F.layer_norm(inputs, normalized_shape, gamma, beta, self.epsilon)
        shape = [1] * rank
        for a in axes:
            shape[a] = inputs.shape[a]
        var, mean = torch.var_mean(inputs, axes, correction=0, keepdim=True)
        inv = torch.rsqrt(var + self.epsilon)
        if self.rms_scaling:
            out = inputs * inv
            return out * gamma.reshape(shape) if gamma is not None else out
        if gamma is not None:
            inv = inv * gamma.reshape(shape)
        out = inputs * inv - mean * inv
        return out + beta.reshape(shape) if beta is not None else out

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "rms_scaling": self.rms_scaling}


class GroupNormalization(_AffineNormalization):
    """Normalize each sample over groups of channels (Wu & He, 2018, https://arxiv.org/abs/1803.08494).

    The channels on ``axis`` are split into ``groups`` consecutive groups; each group of each sample is
    normalized over its channels and all other non-batch axes. ``groups=1`` is layer normalization over all
    axes, ``groups=-1`` (one channel per group) instance normalization.

    Args:
        groups: the number of groups; must divide the channel count (default 32; ``-1``: one per channel).
        axis: the channel axis (default ``-1``).
        epsilon: added to the variance (default 1e-3).
        center: learn ``beta`` of shape ``(channels,)`` (default ``True``).
        scale: learn ``gamma`` of shape ``(channels,)`` (default ``True``).
        **kwargs: ``beta_initializer`` (default ``'zeros'``), ``gamma_initializer`` (default ``'ones'``),
            ``beta_regularizer``, ``gamma_regularizer``, ``beta_constraint``, ``gamma_constraint`` (default
            ``None``) and base layer arguments (``name``, ``dtype``...).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        The input normalized per sample and group of channels, then scaled and shifted.

    Raises:
        ConfigError: an invalid ``groups``.
        ShapeError: a channel count that ``groups`` does not divide.

    Example:
        >>> import torch
        >>> GroupNormalization(groups=2)(torch.randn(3, 5, 4)).shape
        torch.Size([3, 5, 4])
    """

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, **kwargs):
        super().__init__(epsilon=epsilon, center=center, scale=scale, **kwargs)
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise ConfigError(f"GroupNormalization '{self.name}': groups must be a positive int (or -1 for "
                              f"instance normalization), got {groups!r}.")
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ConfigError(f"GroupNormalization '{self.name}': axis must be an int, got {axis!r}.")
        self.groups = groups
        self.axis = axis
        self._channel_axis = None

    def build(self, input_shape):
        rank = len(input_shape)
        self._channel_axis = _positive_axis(self, self.axis, rank)
        if self._channel_axis == 0:
            raise ShapeError(f"GroupNormalization '{self.name}': axis cannot be the batch axis.")
        dim = _known_dim(self, input_shape, self._channel_axis)
        if self.groups == -1:
            self.groups = dim
        if dim < self.groups or dim % self.groups:
            raise ShapeError(f"GroupNormalization '{self.name}': groups ({self.groups}) must divide the number of "
                             f"channels ({dim}) of input shape {tuple(input_shape)}.")
        self._add_affine((dim,), self.scale, self.center)
        self.input_spec = InputSpec(ndim=rank, axes={self._channel_axis: dim})

    def call(self, inputs):
        gamma = self.gamma if self.scale else None
        beta = self.beta if self.center else None
        axis = self._channel_axis
        if axis == 1 and inputs.is_contiguous():
            return F.group_norm(inputs, self.groups, gamma, beta, self.epsilon)
        # Channels last: group statistics on a (batch, positions, groups, channels per group) view. (torch's
        # group_norm would need a transposed copy, and its CPU backward crashes on channels_last strides.)
        moved = inputs if axis == inputs.dim() - 1 else inputs.movedim(axis, -1)
        grouped = moved.reshape(moved.shape[0], -1, self.groups, moved.shape[-1] // self.groups)
        var, mean = torch.var_mean(grouped, dim=(1, 3), correction=0, keepdim=True)
        scale = torch.rsqrt(var + self.epsilon)
        if gamma is not None:
            scale = scale * gamma.view(self.groups, -1)
        shift = -mean * scale
        if beta is not None:
            shift = shift + beta.view(self.groups, -1)
        out = (grouped * scale + shift).reshape(moved.shape)
        return out if moved is inputs else out.movedim(-1, axis)

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis}
