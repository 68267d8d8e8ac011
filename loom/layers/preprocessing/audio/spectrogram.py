"""Spectrogram layers: ``MelSpectrogram`` (STFT power on the mel scale, in decibels) and ``STFTSpectrogram``
(an STFT computed by a convolution whose kernels are the windowed DFT, so they can be trained).

Example:
    >>> import torch, loom
    >>> layer = loom.layers.STFTSpectrogram(frame_length=32, frame_step=16)
    >>> layer(torch.randn(2, 128, 1)).shape
    torch.Size([2, 7, 17])
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom import config, initializers
from loom.errors import ConfigError, ShapeError
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer
from loom.layers.layer_args import positive_int_arg
from loom.layers.preprocessing.image.base import standardize_data_format
from loom.ops import math as math_ops
from loom.ops._conv import conv

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0
_STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")


def hertz_to_mel(frequencies: torch.Tensor) -> torch.Tensor:
    """HTK mel scale: ``1127 ln(1 + f / 700)``."""
    return _MEL_HIGH_Q * torch.log(1.0 + frequencies / _MEL_BREAK_HZ)


def linear_to_mel_weight_matrix(num_mel_bins: int, num_spectrogram_bins: int, sampling_rate: float,
                                lower_edge_hertz: float, upper_edge_hertz: float) -> torch.Tensor:
    """``(num_spectrogram_bins, num_mel_bins)`` triangular filters (the DC bin gets no weight), as Keras/TF."""
    nyquist = sampling_rate / 2.0
    bins_mel = hertz_to_mel(torch.linspace(0.0, nyquist, num_spectrogram_bins)[1:]).unsqueeze(1)
    edges = torch.linspace(float(hertz_to_mel(torch.tensor(float(lower_edge_hertz)))),
                           float(hertz_to_mel(torch.tensor(float(upper_edge_hertz)))), num_mel_bins + 2)
    lower, center, upper = edges[:-2].unsqueeze(0), edges[1:-1].unsqueeze(0), edges[2:].unsqueeze(0)
    slopes = torch.minimum((bins_mel - lower) / (center - lower), (upper - bins_mel) / (upper - center))
    weights = torch.clamp(slopes, min=0.0)
    return torch.cat([torch.zeros(1, num_mel_bins), weights], dim=0)


class MelSpectrogram(Layer):
    """Mel-scaled spectrogram of raw audio: STFT magnitude to the power ``mag_exp``, mel filter bank, then decibels.

    Frames are centred on multiples of ``sequence_stride`` (the signal is reflect-padded), so there are
    ``1 + samples // sequence_stride`` of them. The mel filters are triangular on the HTK mel scale, as Keras's.

    Args:
        fft_length: FFT size (default 2048).
        sequence_stride: hop between frames in samples (default 512).
        sequence_length: window length (default ``None``: ``fft_length``); at most ``fft_length``.
        window: ``'hann'`` (default), ``'hamming'`` or ``None``.
        sampling_rate: samples per second (default 16000).
        num_mel_bins: number of mel bands (default 128).
        min_freq: lowest band edge in Hz (default 20.0).
        max_freq: highest band edge in Hz (default ``None``: ``sampling_rate / 2``).
        power_to_db: convert to decibels (default ``True``).
        top_db: dynamic range kept below the maximum of the whole batch, in dB (default 80.0).
        mag_exp: exponent of the magnitude (default 2.0: power).
        min_power: floor before the logarithm (default 1e-10).
        ref_power: reference power of 0 dB (default 1.0).

    Input shape:
        ``(batch, samples)`` or ``(samples,)``, float audio (other dtypes are cast to float32).

    Output shape:
        ``(batch, num_mel_bins, frames)`` or ``(num_mel_bins, frames)``, with ``frames = 1 + samples //
        sequence_stride``.

    Returns:
        The mel spectrogram in decibels, ``10 * log10(max(mel, min_power) / ref_power)`` clipped to ``top_db``
        below its maximum (with ``power_to_db=True``), else the mel-filtered ``|STFT| ** mag_exp``.

    Raises:
        ConfigError: a non-positive ``fft_length`` / ``sequence_stride`` / ``sequence_length`` /
            ``num_mel_bins``, ``fft_length < sequence_length``, an unknown ``window``, or frequencies outside
            ``0 <= min_freq < max_freq <= sampling_rate / 2``.
        ShapeError: an input that is not 1D or 2D.

    Example:
        >>> import math, torch, loom
        >>> tone = torch.sin(2 * math.pi * 1000 * torch.arange(1024) / 16000)  # 1 kHz at 16 kHz
        >>> layer = loom.layers.MelSpectrogram(fft_length=256, sequence_stride=128, num_mel_bins=16)
        >>> mel = layer(tone)
        >>> mel.shape, mel.argmax(dim=0).unique().tolist(), round(float(mel.max() - mel.min()))
        (torch.Size([16, 9]), [5], 80)
    """

    def __init__(self, fft_length: int = 2048, sequence_stride: int = 512, sequence_length: int | None = None,
                 window: str | None = "hann", sampling_rate: int = 16000, num_mel_bins: int = 128,
                 min_freq: float = 20.0, max_freq: float | None = None, power_to_db: bool = True,
                 top_db: float = 80.0, mag_exp: float = 2.0, min_power: float = 1e-10, ref_power: float = 1.0,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.fft_length = positive_int_arg(self, "fft_length", fft_length)
        self.sequence_stride = positive_int_arg(self, "sequence_stride", sequence_stride)
        self.sequence_length = positive_int_arg(self, "sequence_length", sequence_length or fft_length)
        if self.fft_length < self.sequence_length:
            raise ConfigError(f"MelSpectrogram '{self.name}': `fft_length` ({fft_length}) must be >= "
                              f"`sequence_length` ({self.sequence_length}).")
        if window not in ("hann", "hamming", None):
            raise ConfigError(f"MelSpectrogram '{self.name}': `window` must be 'hann', 'hamming' or None, got "
                              f"{window!r}.")
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = positive_int_arg(self, "num_mel_bins", num_mel_bins)
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        if not 0 <= self.min_freq < self.max_freq <= sampling_rate / 2:
            raise ConfigError(f"MelSpectrogram '{self.name}': need 0 <= min_freq < max_freq <= sampling_rate / 2, "
                              f"got min_freq={min_freq}, max_freq={self.max_freq}, sampling_rate={sampling_rate}.")
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power

    def _mel(self, spec: torch.Tensor) -> torch.Tensor:
        matrix = linear_to_mel_weight_matrix(self.num_mel_bins, spec.shape[-1], self.sampling_rate, self.min_freq,
                                             self.max_freq).to(spec.device, spec.dtype)
        return spec @ matrix

    def _db(self, power: torch.Tensor) -> torch.Tensor:
        log_spec = 10.0 * torch.log10(torch.clamp(power, min=self.min_power))
        log_spec = log_spec - 10.0 * math.log10(max(abs(self.ref_power), self.min_power))
        return torch.maximum(log_spec, log_spec.max() - self.top_db)

    def call(self, inputs):
        if inputs.ndim not in (1, 2):
            raise ShapeError(f"MelSpectrogram '{self.name}': expected audio of shape (batch, samples) or (samples,), "
                             f"got {tuple(inputs.shape)}.")
        x = inputs if inputs.dtype in (torch.float32, torch.float64) else inputs.to(torch.float32)
        real, imag = math_ops.stft(x, self.sequence_length, self.sequence_stride, self.fft_length,
                                   window=self.window, center=True)
        spec = torch.sqrt(real.square() + imag.square()) ** self.mag_exp
        out = self._mel(spec)
        if self.power_to_db:
            out = self._db(out)
        return out.transpose(-1, -2).to(self._dtype)

    def get_config(self):
        return {**super().get_config(), "fft_length": self.fft_length, "sequence_stride": self.sequence_stride,
                "sequence_length": self.sequence_length, "window": self.window, "sampling_rate": self.sampling_rate,
                "num_mel_bins": self.num_mel_bins, "min_freq": self.min_freq, "max_freq": self.max_freq,
                "power_to_db": self.power_to_db, "top_db": self.top_db, "mag_exp": self.mag_exp,
                "min_power": self.min_power, "ref_power": self.ref_power}


class STFTSpectrogram(Layer):
    """Short-time Fourier transform of ``(batch, samples, channels)`` signals as a strided convolution.

    The kernels ``real_kernel`` / ``imag_kernel`` ``(frame_length, 1, fft_length // 2 + 1)`` start as the
    windowed DFT (:class:`loom.initializers.STFT`) and are trainable, as in Keras; each channel is transformed
    separately.

    Args:
        mode: ``'log'`` (default, log magnitude), ``'magnitude'``, ``'psd'``, ``'real'``, ``'imag'``, ``'angle'``
            or ``'stft'`` (real and imaginary parts concatenated).
        frame_length: window length in samples (default 256).
        frame_step: hop between frames, in ``[1, frame_length]`` (default ``None``: ``frame_length // 2``).
        fft_length: FFT size, at least ``frame_length`` (default ``None``: the next power of two >=
            ``frame_length``).
        window: ``'hann'`` (default), ``'hamming'``, ``'blackman'``, ``'bartlett'``, a sequence, or ``None``.
        periodic: periodic rather than symmetric window (default ``False``).
        scaling: ``'density'`` (default), ``'spectrum'`` or ``None``.
        padding: ``'valid'`` (default) or ``'same'``.
        expand_dims: keep channels apart: ``(batch, frames, bins, channels)`` (default ``False``: channels and
            bins merged).
        data_format: ``'channels_last'`` (default) or ``'channels_first'``.

    Input shape:
        ``(batch, samples, channels)``, or ``(batch, channels, samples)`` with ``'channels_first'``.

    Output shape:
        ``(batch, frames, channels * bins)`` (``'channels_first'``: ``(batch, channels * bins, frames)``); with
        ``expand_dims=True``, ``(batch, frames, bins, channels)`` (``'channels_first'``:
        ``(batch, channels, frames, bins)``). ``bins`` is ``fft_length // 2 + 1`` (twice that for ``'stft'``);
        ``frames`` is ``(samples - frame_length) // frame_step + 1`` with ``'valid'`` padding and
        ``ceil(samples / frame_step)`` with ``'same'``.

    Returns:
        Per ``mode``: ``log(|STFT|)``, ``|STFT|``, the one-sided power spectral density (inner bins doubled),
        the real or imaginary part, the phase angle, or real and imaginary parts side by side.

    Raises:
        ConfigError: a non-positive ``frame_length``, a ``frame_step`` outside ``[1, frame_length]``,
            ``fft_length < frame_length``, or an unknown ``mode`` / ``scaling`` / ``padding`` / ``window``.
        ShapeError: an input that is not 3D.

    Example:
        >>> import math, torch, loom
        >>> wave = torch.cos(2 * math.pi * 2 * torch.arange(64) / 16).reshape(1, 64, 1)  # DFT bin 2 of 16
        >>> layer = loom.layers.STFTSpectrogram(mode="magnitude", frame_length=16, frame_step=8, window=None,
        ...                                     scaling=None)
        >>> out = layer(wave)
        >>> out.shape, out[0, 0].argmax().item(), round(out[0, 0, 2].item(), 3)
        (torch.Size([1, 7, 9]), 2, 8.0)
        >>> loom.layers.STFTSpectrogram(frame_length=16, expand_dims=True)(torch.ones(1, 64, 2)).shape
        torch.Size([1, 7, 9, 2])
    """

    def __init__(self, mode: str = "log", frame_length: int = 256, frame_step: int | None = None,
                 fft_length: int | None = None, window: Any = "hann", periodic: bool = False,
                 scaling: str | None = "density", padding: str = "valid", expand_dims: bool = False,
                 data_format: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        positive_int_arg(self, "frame_length", frame_length)
        if frame_step is not None and (not isinstance(frame_step, int) or not 1 <= frame_step <= frame_length):
            raise ConfigError(f"STFTSpectrogram '{self.name}': `frame_step` must be an int in [1, frame_length="
                              f"{frame_length}], got {frame_step!r}.")
        if fft_length is not None and fft_length < frame_length:
            raise ConfigError(f"STFTSpectrogram '{self.name}': `fft_length` ({fft_length}) must be >= "
                              f"`frame_length` ({frame_length}).")
        for name, value, options in (("mode", mode, _STFT_MODES), ("scaling", scaling, (None, "density", "spectrum")),
                                     ("padding", padding, ("valid", "same"))):
            if value not in options:
                raise ConfigError(f"STFTSpectrogram '{self.name}': `{name}` must be one of {options}, got {value!r}.")
        self.mode, self.frame_length, self.frame_step, self.fft_length = mode, frame_length, frame_step, fft_length
        self._frame_step = frame_step or frame_length // 2
        self._fft_length = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))
        self.window, self.periodic, self.scaling, self.padding = window, periodic, scaling, padding
        self.expand_dims = expand_dims
        self.data_format = standardize_data_format(self, data_format)
        self.input_spec = InputSpec(ndim=3)
        initializers.STFT("real", window, scaling, periodic)  # validates the window now

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        if self.mode != "imag":
            self.real_kernel = self.add_weight(name="real_kernel", shape=shape,
                                               initializer=initializers.STFT("real", self.window, self.scaling,
                                                                             self.periodic))
        if self.mode != "real":
            self.imag_kernel = self.add_weight(name="imag_kernel", shape=shape,
                                               initializer=initializers.STFT("imag", self.window, self.scaling,
                                                                             self.periodic))

    def _conv(self, x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        """``(batch, channels, samples)`` -> ``(batch, channels, bins, frames)``."""
        batch, channels, samples = x.shape
        out = conv(x.reshape(-1, 1, samples), kernel.to(x.dtype), strides=self._frame_step, padding=self.padding,
                   data_format="channels_first")
        return out.reshape(batch, channels, out.shape[1], out.shape[2])

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, bins, frames = x.shape
        if self.expand_dims:
            return x.permute(0, 3, 2, 1) if self.data_format == "channels_last" else x.permute(0, 1, 3, 2)
        merged = x.reshape(batch, channels * bins, frames)
        return merged.transpose(1, 2) if self.data_format == "channels_last" else merged

    def call(self, inputs):
        if inputs.ndim != 3:
            raise ShapeError(f"STFTSpectrogram '{self.name}': expected (batch, samples, channels) signals "
                             f"(channels first: (batch, channels, samples)), got shape {tuple(inputs.shape)}.")
        x = inputs.transpose(1, 2) if self.data_format == "channels_last" else inputs
        real = self._conv(x, self.real_kernel) if self.mode != "imag" else None
        imag = self._conv(x, self.imag_kernel) if self.mode != "real" else None
        if self.mode in ("real", "imag"):
            return self._layout(real if self.mode == "real" else imag)
        if self.mode == "angle":
            return self._layout(torch.atan2(imag, real))
        if self.mode == "stft":
            return self._layout(torch.cat([real, imag], dim=2))
        power = real.square() + imag.square()
        if self.mode == "psd":
            inner = torch.nn.functional.pad(power[:, :, 1:-1, :], (0, 0, 1, 1))
            return self._layout(power + inner)
        eps = config.epsilon()
        magnitude = self._layout(torch.sqrt(torch.clamp(power, min=eps)))
        return magnitude if self.mode == "magnitude" else torch.log(torch.clamp(magnitude, min=eps))

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "frame_length": self.frame_length,
                "frame_step": self.frame_step, "fft_length": self.fft_length, "window": self.window,
                "periodic": self.periodic, "scaling": self.scaling, "padding": self.padding,
                "data_format": self.data_format, "expand_dims": self.expand_dims}
