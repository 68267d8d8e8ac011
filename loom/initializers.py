"""Weight initializers with Keras's names, defaults and fan computation.

An initializer is called with a Keras-layout shape and returns a new tensor. Randomness comes from torch's
global generator (seeded by :func:`loom.utils.set_random_seed`) unless the initializer has its own ``seed``.

Example:
    >>> import loom
    >>> init = loom.initializers.get("glorot_uniform")
    >>> w = init((64, 32))
    >>> tuple(w.shape), bool(w.abs().max() <= (6 / 96) ** 0.5)
    ((64, 32), True)
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom import backend, dtypes
from loom.errors import ConfigError


def compute_fans(shape: tuple, input_axes: Any = None, output_axes: Any = None) -> tuple[float, float]:
    """Keras's ``(fan_in, fan_out)`` for a kernel in Keras layout (``(..., in, out)``).

    With both ``input_axes`` and ``output_axes`` (lists of axes, default ``None``), the fans are the products
    of those axes' sizes instead.
    """
    if input_axes is not None and output_axes is not None:
        return (float(math.prod(shape[a] for a in input_axes)), float(math.prod(shape[a] for a in output_axes)))
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer:
    """Base class: ``init(shape, dtype=None) -> torch.Tensor``."""

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __call__(self, shape, dtype=None) -> torch.Tensor:
        raise NotImplementedError

    def _empty(self, shape, dtype) -> torch.Tensor:
        return torch.empty(tuple(shape), dtype=dtypes.torch_dtype(dtype))

    def get_config(self) -> dict:
        return {"seed": self.seed} if hasattr(self, "seed") else {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        return cls(**config)


class Zeros(Initializer):
    """All zeros. Example: ``Zeros()((2,))`` -> ``tensor([0., 0.])``."""

    def __init__(self):
        pass

    def __call__(self, shape, dtype=None):
        return torch.zeros(tuple(shape), dtype=dtypes.torch_dtype(dtype))

    def get_config(self):
        return {}


class Ones(Zeros):
    """All ones. Example: ``Ones()((2,))`` -> ``tensor([1., 1.])``."""

    def __call__(self, shape, dtype=None):
        return torch.ones(tuple(shape), dtype=dtypes.torch_dtype(dtype))


class Constant(Initializer):
    """A constant ``value`` (default 0.0). Example: ``Constant(3)((2,))`` -> ``tensor([3., 3.])``."""

    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return torch.full(tuple(shape), float(self.value), dtype=dtypes.torch_dtype(dtype))

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal with ``mean`` (default 0.0) and ``stddev`` (default 0.05). Example: ``RandomNormal()((3, 3))``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        return self._empty(shape, dtype).normal_(self.mean, self.stddev, generator=self._generator)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform in [``minval`` (default -0.05), ``maxval`` (default 0.05)). Example: ``RandomUniform()((3,))``."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, shape, dtype=None):
        return self._empty(shape, dtype).uniform_(self.minval, self.maxval, generator=self._generator)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class TruncatedNormal(Initializer):
    """Normal with ``mean`` (0.0) and ``stddev`` (0.05), redrawn beyond two stddevs. Example: ``TruncatedNormal()((4,))``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: int | None = None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, shape, dtype=None):
        t = self._empty(shape, dtype)
        return torch.nn.init.trunc_normal_(t, self.mean, self.stddev, -2 * self.stddev + self.mean,
                                           2 * self.stddev + self.mean, generator=self._generator)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Keras's variance scaling: the base of the Glorot, He and LeCun families.

    Args:
        scale: the variance factor (default 1.0).
        mode: ``'fan_in'`` (default), ``'fan_out'`` or ``'fan_avg'``.
        distribution: ``'truncated_normal'`` (default), ``'untruncated_normal'`` or ``'uniform'``.
        seed: own random seed (default ``None``: torch's global generator).
        input_axes: the axes whose sizes multiply to fan-in (default ``None``: Keras's layout rule).
        output_axes: the axes whose sizes multiply to fan-out (default ``None``); used only with ``input_axes``.

    Example:
        >>> VarianceScaling(2.0, "fan_in", "uniform")((10, 5)).shape
        torch.Size([10, 5])
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None, input_axes: Any = None, output_axes: Any = None):
        super().__init__(seed)
        self.input_axes, self.output_axes = input_axes, output_axes
        if scale <= 0:
            raise ConfigError(f"VarianceScaling: scale must be positive, got {scale}.")
        if mode not in self._MODES:
            raise ConfigError(f"VarianceScaling: mode must be one of {self._MODES}, got {mode!r}.")
        if distribution not in self._DISTRIBUTIONS:
            raise ConfigError(f"VarianceScaling: distribution must be one of {self._DISTRIBUTIONS}, got "
                              f"{distribution!r}.")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(tuple(shape), self.input_axes, self.output_axes)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        t = self._empty(shape, dtype)
        if self.distribution == "truncated_normal":
            std = math.sqrt(scale) / 0.87962566103423978
            return torch.nn.init.trunc_normal_(t, 0.0, std, -2 * std, 2 * std, generator=self._generator)
        if self.distribution in ("untruncated_normal", "normal"):
            return t.normal_(0.0, math.sqrt(scale), generator=self._generator)
        limit = math.sqrt(3.0 * scale)
        return t.uniform_(-limit, limit, generator=self._generator)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed,
                "input_axes": self.input_axes, "output_axes": self.output_axes}


def _family(name: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    def __init__(self, seed: int | None = None, input_axes: Any = None, output_axes: Any = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self):
        return {"seed": self.seed, "input_axes": self.input_axes, "output_axes": self.output_axes}
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config, "__doc__": doc,
                                           "__module__": __name__})


GlorotUniform = _family("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "Glorot (Xavier) uniform, Keras's default kernel initializer. Example: ``GlorotUniform()((3, 2))``.")
GlorotNormal = _family("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "Glorot truncated normal. Example: ``GlorotNormal()((3, 2))``.")
HeUniform = _family("HeUniform", 2.0, "fan_in", "uniform", "He uniform (for ReLU). Example: ``HeUniform()((3, 2))``.")
HeNormal = _family("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "He truncated normal (for ReLU). Example: ``HeNormal()((3, 2))``.")
LecunUniform = _family("LecunUniform", 1.0, "fan_in", "uniform", "LeCun uniform. Example: ``LecunUniform()((3, 2))``.")
LecunNormal = _family("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "LeCun truncated normal, for SELU networks. Example: ``LecunNormal()((3, 2))``.")


class Orthogonal(Initializer):
    """A (semi-)orthogonal matrix times ``gain`` (default 1.0), as Keras. Example: ``Orthogonal()((4, 4))``."""

    def __init__(self, gain: float = 1.0, seed: int | None = None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, shape, dtype=None):
        shape = tuple(shape)
        if len(shape) < 2:
            raise ConfigError(f"Orthogonal needs a shape of rank >= 2, got {shape}.")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = torch.empty((max(rows, cols), min(rows, cols)), dtype=torch.float32).normal_(
            0.0, 1.0, generator=self._generator)
        q, r = torch.linalg.qr(flat)
        q = q * torch.sign(torch.diagonal(r))
        if rows < cols:
            q = q.T
        return (self.gain * q[:rows, :cols]).reshape(shape).to(dtypes.torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` (default 1.0) times the identity matrix. Example: ``Identity()((2, 2))``."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ConfigError(f"Identity needs a 2D shape, got {tuple(shape)}.")
        return self.gain * torch.eye(*shape, dtype=dtypes.torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


class STFT(Initializer):
    """The real or imaginary part of a windowed DFT kernel, shape ``(frame_length, 1, fft_bins)``, as Keras.

    A ``Conv1D`` with this kernel computes a short-time Fourier transform: kernel ``[t, 0, f]`` is
    ``cos`` (or ``sin``) of ``-2 pi t f / (2 (fft_bins - 1))``, times the window, over its norm.

    Args:
        side: ``'real'`` (default, cosine) or ``'imag'`` (sine).
        window: ``'hann'`` (default), ``'hamming'``, ``'blackman'``, ``'bartlett'``, a 1D sequence of
            ``frame_length`` values, or ``None`` (no window).
        scaling: ``'density'`` (default: divide by the window's L2 norm), ``'spectrum'`` (by its L1 norm)
            or ``None``.
        periodic: periodic (``True``) rather than symmetric (``False``, default) named windows.

    Example:
        >>> STFT()((16, 1, 9)).shape
        torch.Size([16, 1, 9])
    """

    _WINDOWS = {"hann": torch.hann_window, "hamming": torch.hamming_window, "blackman": torch.blackman_window,
                "bartlett": torch.bartlett_window}

    def __init__(self, side: str = "real", window: Any = "hann", scaling: str | None = "density",
                 periodic: bool = False):
        if side not in ("real", "imag"):
            raise ConfigError(f"STFT: side must be 'real' or 'imag', got {side!r}.")
        if isinstance(window, str) and window not in self._WINDOWS:
            raise ConfigError(f"STFT: unknown window {window!r}. Valid: {sorted(self._WINDOWS)} or a sequence.")
        if scaling not in (None, "density", "spectrum"):
            raise ConfigError(f"STFT: scaling must be None, 'density' or 'spectrum', got {scaling!r}.")
        self.side, self.window, self.scaling, self.periodic = side, window, scaling, periodic

    def __call__(self, shape, dtype=None):
        frame_length, _, bins = tuple(shape)
        dtype = dtypes.torch_dtype(dtype)
        t = torch.arange(frame_length, dtype=torch.float64).reshape(-1, 1, 1)
        f = torch.arange(bins, dtype=torch.float64).reshape(1, 1, -1) / ((bins - 1) * 2)
        angle = -2.0 * t * f * math.pi
        kernel = torch.cos(angle) if self.side == "real" else torch.sin(angle)
        if self.window is not None:
            kernel = kernel * self._window(frame_length)
        return kernel.to(dtype)

    def _window(self, frame_length: int) -> torch.Tensor:
        if isinstance(self.window, str):
            win = self._WINDOWS[self.window](frame_length, periodic=self.periodic, dtype=torch.float64)
        else:
            win = torch.as_tensor(self.window, dtype=torch.float64)
        if win.shape != (frame_length,):
            raise ConfigError(f"STFT: the window must have shape ({frame_length},), got {tuple(win.shape)}.")
        scale = {"density": win.square().sum().sqrt(), "spectrum": win.abs().sum(), None: 1.0}[self.scaling]
        return (win / scale).reshape(-1, 1, 1)

    def get_config(self):
        window = self.window if isinstance(self.window, (str, type(None))) else list(map(float, self.window))
        return {"side": self.side, "window": window, "periodic": self.periodic, "scaling": self.scaling}


STFTInitializer, IdentityInitializer, OrthogonalInitializer = STFT, Identity, Orthogonal
zeros, ones, constant, identity, orthogonal, stft = Zeros, Ones, Constant, Identity, Orthogonal, STFT
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal

_ALIASES = {
    "stft": STFT, "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity, "uniform": RandomUniform, "normal": RandomNormal,
}
_CLASSES = {cls.__name__: cls for cls in set(_ALIASES.values())}
_CLASSES.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal, "STFTInitializer": STFT})


def serialize(initializer: Initializer) -> dict:
    """``{'module', 'class_name', 'config', 'registered_name'}`` as Keras (``module`` is ``'loom.initializers'``)."""
    from loom.saving import serialize_keras_object
    return serialize_keras_object(initializer)


def deserialize(config: Any, custom_objects: dict | None = None) -> Initializer:
    """The initializer a :func:`serialize` dict (or a Keras-written one, or a name) describes.

    ``custom_objects`` maps names to custom initializer classes.
    """
    if isinstance(config, dict) and custom_objects:
        from loom.saving import deserialize_keras_object
        return deserialize_keras_object(config, custom_objects=custom_objects)
    return get(config)


def get(identifier: Any) -> Initializer:
    """Resolve a name (``'glorot_uniform'``), a config dict, a class or an instance to an initializer."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier if identifier in _CLASSES else backend.snake_case(identifier)
        cls = _CLASSES.get(identifier) or _ALIASES.get(key)
        if cls is None:
            raise ConfigError(f"Unknown initializer {identifier!r}. Valid: {sorted(_ALIASES)}")
        return cls()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = identifier["class_name"]
        cls = _CLASSES.get(name) or _ALIASES.get(name)
        if cls is None:
            from loom.saving import deserialize_keras_object
            return deserialize_keras_object(identifier)
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ConfigError(f"Cannot interpret {identifier!r} as an initializer. Valid names: {sorted(_ALIASES)}")
