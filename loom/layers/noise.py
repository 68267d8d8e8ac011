"""Regularization by noise, active only in training mode (identity in inference), with Keras 3's formulas.

``SpatialDropout1D/2D/3D`` drop whole feature maps; ``AlphaDropout`` keeps the self-normalizing property
of SELU networks; ``GaussianNoise`` adds zero-centred noise; ``GaussianDropout`` multiplies by noise
centred at 1.

Example:
    >>> import torch, loom
    >>> layer = loom.layers.GaussianNoise(0.1)
    >>> x = torch.ones(2, 3)
    >>> bool((layer(x) == x).all()), bool((layer(x, training=True) == x).all())
    (True, False)
"""

from __future__ import annotations

import math
import torch

from loom import config
from loom.errors import ConfigError
from loom.layers.dropout import Dropout
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946
_DATA_FORMATS = ("channels_last", "channels_first")


def _data_format(layer: Layer, data_format: str | None) -> str:
    data_format = data_format or config.image_data_format()
    if data_format not in _DATA_FORMATS:
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': data_format must be one of {_DATA_FORMATS}, "
                          f"got {data_format!r}.")
    return data_format


def _check_below_one(layer: Dropout) -> None:
    if layer.rate >= 1:
        raise ConfigError(f"{type(layer).__name__} '{layer.name}': rate must be in [0, 1), got {layer.rate!r} "
                          f"(its noise formula divides by 1 - rate).")


class _SpatialDropout(Dropout):
    """Dropout whose keep mask is shared along the spatial axes (one draw per sample and channel)."""

    _rank = 3

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None, **kwargs):
        spatial = self._rank - 2
        fmt = config.image_data_format() if data_format is None else data_format
        noise_shape = ((None,) + (1,) * spatial + (None,) if fmt == "channels_last"
                       else (None, None) + (1,) * spatial)
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)
        self.data_format = _data_format(self, data_format)
        self.input_spec = InputSpec(ndim=self._rank)

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        if self._rank > 3:
            config["data_format"] = self.data_format
        return config


class SpatialDropout1D(_SpatialDropout):
    """Drop whole channels of ``(batch, steps, channels)`` inputs (Tompson et al., 2014).

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        seed: seed of the layer's own random generator (default ``None``: torch's global generator).

    Input shape:
        ``(batch, steps, channels)``.

    Output shape:
        the same shape as the input.

    Returns:
        In training, the input with whole channels zeroed (one draw per sample and channel).

    Example:
        >>> import torch
        >>> y = SpatialDropout1D(0.5, seed=0)(torch.ones(2, 5, 4), training=True)
        >>> bool((y == y[:, :1]).all())  # the same channels are dropped at every step
        True
    """

    _rank = 3

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Drop whole feature maps of 4D inputs (Tompson et al., 2014).

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        data_format: ``'channels_last'`` (default, ``(batch, rows, cols, channels)``) or ``'channels_first'``.
        seed: seed of the layer's own random generator (default ``None``).

    Input shape:
        ``(batch, height, width, channels)`` (channels last) or ``(batch, channels, height, width)``.

    Output shape:
        the same shape as the input.

    Returns:
        In training, the input with whole feature maps zeroed.

    Example:
        >>> import torch
        >>> SpatialDropout2D(0.5)(torch.ones(2, 3, 3, 4), training=True).shape
        torch.Size([2, 3, 3, 4])
    """

    _rank = 4


class SpatialDropout3D(_SpatialDropout):
    """Drop whole feature volumes of 5D inputs (Tompson et al., 2014).

    Args:
        rate: the fraction of channels to drop, in [0, 1].
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.
        seed: seed of the layer's own random generator (default ``None``).

    Input shape:
        ``(batch, depth, height, width, channels)`` (channels last) or channels first.

    Output shape:
        the same shape as the input.

    Returns:
        In training, the input with whole feature volumes zeroed.

    Example:
        >>> import torch
        >>> SpatialDropout3D(0.5)(torch.ones(1, 2, 2, 2, 3), training=True).shape
        torch.Size([1, 2, 2, 2, 3])
    """

    _rank = 5


class AlphaDropout(Dropout):
    """Dropout for SELU networks (Klambauer et al., 2017): keeps the inputs' mean and variance.

    Dropped units are set to SELU's negative saturation ``-alpha * scale``, then ``a * x + b`` restores zero
    mean and unit variance for standardized inputs, with ``a = ((1 - rate) * (1 + rate * alpha'^2))^-1/2``
    and ``b = -a * alpha' * rate``.

    Args:
        rate: the drop probability, in [0, 1].
        noise_shape: shape of the keep mask, ``None`` entries taking the input's size (default ``None``).
        seed: seed of the layer's own random generator (default ``None``).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        In training, the input with dropped units set to the SELU saturation value and an affine correction keeping
        mean and variance; the input itself in inference.

    Example:
        >>> import torch
        >>> x = torch.randn(20000)
        >>> y = AlphaDropout(0.2, seed=1)(x, training=True)
        >>> bool(abs(y.mean()) < 0.05 and abs(y.std() - 1) < 0.05)
        True
    """

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, **kwargs):
        super().__init__(rate, noise_shape=noise_shape, seed=seed, **kwargs)
        _check_below_one(self)

    def call(self, inputs):
        if not self.training or self.rate == 0:
            return inputs
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        keep = torch.rand(self._concrete_noise_shape(inputs), dtype=inputs.dtype, device=inputs.device,
                          generator=self._generator(inputs.device)) >= self.rate
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        x = torch.where(keep, inputs, torch.full((), alpha_p, dtype=inputs.dtype, device=inputs.device))
        return a * x + b


class GaussianDropout(Dropout):
    """Multiply the inputs by noise from ``N(1, rate / (1 - rate))`` in training mode.

    Args:
        rate: the equivalent drop probability, in [0, 1].
        seed: seed of the layer's own random generator (default ``None``).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        In training, the input times noise of mean 1 and variance ``rate / (1 - rate)``; the input itself in
        inference.

    Example:
        >>> import torch
        >>> GaussianDropout(0.2)(torch.ones(2, 3)).tolist()  # inference: the identity
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(rate, seed=seed, **kwargs)
        _check_below_one(self)

    def call(self, inputs):
        if not self.training or self.rate == 0:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = torch.empty_like(inputs).normal_(1.0, stddev, generator=self._generator(inputs.device))
        return inputs * noise

    def get_config(self):
        config = super().get_config()
        del config["noise_shape"]
        return config


class GaussianNoise(Layer):
    """Add zero-centred Gaussian noise of standard deviation ``stddev`` in training mode.

    Args:
        stddev: the noise's standard deviation, in [0, 1] as Keras 3 requires.
        seed: seed of the layer's own random generator (default ``None``: torch's global generator).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        In training, the input plus zero-mean noise of standard deviation ``stddev``; the input itself in
        inference.

    Raises:
        ConfigError: a ``stddev`` that is not a number in ``[0, 1]``.

    Example:
        >>> import torch
        >>> y = GaussianNoise(0.5, seed=3)(torch.zeros(10000), training=True)
        >>> bool(abs(y.std() - 0.5) < 0.02)
        True
    """

    supports_masking = True

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or not 0 <= stddev <= 1:
            raise ConfigError(f"GaussianNoise '{self.name}': stddev must be a number in [0, 1], got {stddev!r}.")
        self.stddev = stddev
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    _generator = Dropout._generator

    def call(self, inputs):
        if not self.training or self.stddev == 0:
            return inputs
        noise = torch.empty_like(inputs).normal_(0.0, self.stddev, generator=self._generator(inputs.device))
        return inputs + noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


__all__ = ["SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "GaussianDropout",
           "GaussianNoise"]
