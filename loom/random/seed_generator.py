"""``SeedGenerator``: a stateful source of seeds, so successive random draws differ but replay from one seed.

The state is ``[seed, counter]``; each draw derives a torch generator from it and advances the counter. It is
plain data (no torch global state), so two generators built from the same seed give the same sequence.

Example:
    >>> from loom import random
    >>> g1, g2 = random.SeedGenerator(7), random.SeedGenerator(7)
    >>> a, b = random.uniform((2,), seed=g1), random.uniform((2,), seed=g1)
    >>> bool((a == b).all()), bool((a == random.uniform((2,), seed=g2)).all())
    (False, True)
"""

from __future__ import annotations

import numbers
import random as _py_random
from typing import Any

import torch

from loom import backend
from loom.errors import ConfigError

_MIX = 0x9E3779B97F4A7C15  # odd 64-bit constant (golden ratio) spreading (seed, counter) over generator seeds
_MASK = (1 << 63) - 1


def make_default_seed() -> int:
    """A fresh seed from Python's ``random`` (which ``loom.utils.set_random_seed`` seeds)."""
    return _py_random.randint(1, int(1e9))


class SeedGenerator:
    """Stateful seed source for ``loom.random`` functions (as ``keras.random.SeedGenerator``).

    Args:
        seed: initial seed (int); default ``None`` draws one from Python's ``random`` module, so
            ``loom.utils.set_random_seed`` makes it repeatable.
        name: optional name; default ``None`` gives ``seed_generator``, ``seed_generator_1``...
        **kwargs: accepted for Keras compatibility (``backend``); others raise ``ConfigError``.

    Example:
        >>> g = SeedGenerator(42)
        >>> g.next().tolist(), g.next().tolist()
        ([42, 0], [42, 1])
    """

    def __init__(self, seed: int | None = None, name: str | None = None, **kwargs: Any) -> None:
        kwargs.pop("backend", None)
        if kwargs:
            raise ConfigError(f"SeedGenerator: unexpected arguments {sorted(kwargs)}.")
        if seed is None:
            seed = make_default_seed()
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ConfigError(f"SeedGenerator: `seed` must be an int or None, got {seed!r}.")
        self._initial_seed = int(seed)
        self.name = name or backend.unique_name("seed_generator")
        self.state = torch.tensor([self._initial_seed, 0], dtype=torch.int64)

    def next(self, ordered: bool = True) -> torch.Tensor:
        """The current ``[seed, counter]`` state (a copy), then advance the counter."""
        current = self.state.clone()
        self.state[1] += 1
        return current

    def generator(self, device: torch.device | str | None = "cpu") -> torch.Generator:
        """A torch generator seeded from the next state (advances the counter)."""
        seed, counter = (int(v) for v in self.next())
        return generator_from(seed, counter, device)

    def get_config(self) -> dict:
        """``{'seed': initial seed}``."""
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config: dict) -> "SeedGenerator":
        """A generator from :meth:`get_config`'s output."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<SeedGenerator name={self.name!r} seed={self._initial_seed} counter={int(self.state[1])}>"


def generator_from(seed: int, counter: int = 0, device: torch.device | str | None = "cpu") -> torch.Generator:
    """A torch generator on ``device`` determined by ``(seed, counter)`` (``None`` and ``meta``: the CPU; torch
    draws ``meta`` tensors without reading their generator)."""
    device = torch.device("cpu" if device is None else device)
    g = torch.Generator(device="cpu" if device.type == "meta" else device)
    g.manual_seed(((seed * _MIX) ^ (counter * 0x85EBCA6B + 0x27D4EB2F)) & _MASK)
    return g
