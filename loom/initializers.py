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

from loom import backend
from loom.errors import ConfigError


def compute_fans(shape: tuple) -> tuple[float, float]:
    """Keras's ``(fan_in, fan_out)`` for a kernel in Keras layout (``(..., in, out)``)."""
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
        return torch.empty(tuple(shape), dtype=backend.torch_dtype(dtype))

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
        return torch.zeros(tuple(shape), dtype=backend.torch_dtype(dtype))

    def get_config(self):
        return {}


class Ones(Zeros):
    """All ones. Example: ``Ones()((2,))`` -> ``tensor([1., 1.])``."""

    def __call__(self, shape, dtype=None):
        return torch.ones(tuple(shape), dtype=backend.torch_dtype(dtype))


class Constant(Initializer):
    """A constant ``value`` (default 0.0). Example: ``Constant(3)((2,))`` -> ``tensor([3., 3.])``."""

    def __init__(self, value: float = 0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return torch.full(tuple(shape), float(self.value), dtype=backend.torch_dtype(dtype))

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

    Example:
        >>> VarianceScaling(2.0, "fan_in", "uniform")((10, 5)).shape
        torch.Size([10, 5])
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")

    def __init__(self, scale: float = 1.0, mode: str = "fan_in", distribution: str = "truncated_normal",
                 seed: int | None = None):
        super().__init__(seed)
        if scale <= 0:
            raise ConfigError(f"VarianceScaling: scale must be positive, got {scale}.")
        if mode not in self._MODES:
            raise ConfigError(f"VarianceScaling: mode must be one of {self._MODES}, got {mode!r}.")
        if distribution not in self._DISTRIBUTIONS:
            raise ConfigError(f"VarianceScaling: distribution must be one of {self._DISTRIBUTIONS}, got "
                              f"{distribution!r}.")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    def __call__(self, shape, dtype=None):
        fan_in, fan_out = compute_fans(tuple(shape))
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
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution, "seed": self.seed}


def _family(name: str, scale: float, mode: str, distribution: str, doc: str) -> type:
    def __init__(self, seed: int | None = None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}
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
        return (self.gain * q[:rows, :cols]).reshape(shape).to(backend.torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain`` (default 1.0) times the identity matrix. Example: ``Identity()((2, 2))``."""

    def __init__(self, gain: float = 1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        if len(shape) != 2:
            raise ConfigError(f"Identity needs a 2D shape, got {tuple(shape)}.")
        return self.gain * torch.eye(*shape, dtype=backend.torch_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


_ALIASES = {
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "random_normal": RandomNormal, "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
    "variance_scaling": VarianceScaling, "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform, "lecun_normal": LecunNormal,
    "orthogonal": Orthogonal, "identity": Identity, "uniform": RandomUniform, "normal": RandomNormal,
}
_CLASSES = {cls.__name__: cls for cls in set(_ALIASES.values())}
_CLASSES.update({"IdentityInitializer": Identity, "OrthogonalInitializer": Orthogonal})


def serialize(init: Initializer) -> dict:
    """``{'class_name': ..., 'config': ...}`` as Keras."""
    return {"class_name": type(init).__name__, "config": init.get_config()}


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
            raise ConfigError(f"Unknown initializer {name!r}. Valid: {sorted(_CLASSES)}")
        return cls.from_config(identifier.get("config", {}))
    if isinstance(identifier, type) and issubclass(identifier, Initializer):
        return identifier()
    if callable(identifier):
        return identifier
    raise ConfigError(f"Cannot interpret {identifier!r} as an initializer. Valid names: {sorted(_ALIASES)}")
