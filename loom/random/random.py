"""Random draws with Keras's signatures (``keras.random``) on torch generators.

``seed`` may be ``None`` (torch's global generator, seeded by ``loom.utils.set_random_seed``), an int (the same
draw every call) or a :class:`~loom.random.SeedGenerator` (a new draw each call, replayable from its seed).
Streams differ from Keras's bit for bit; distributions, shapes and dtypes match.

Draws made from a shape (``normal``, ``uniform``, ``randint``, ``truncated_normal``, ``gamma``, ``beta``...) land
on :func:`loom.backend.scope_device`: the model's device inside ``fit`` / ``predict`` on a GPU (drawn there, with a
generator on that device, so a seed gives another stream than on the CPU), ``meta`` during shape inference, the
CPU outside any scope. Draws shaped by a tensor (``dropout``, ``shuffle``, ``categorical``) follow that tensor.

Example:
    >>> from loom import random
    >>> x = random.normal((2, 3), seed=1)
    >>> x.shape, x.dtype, bool((x == random.normal((2, 3), seed=1)).all())
    (torch.Size([2, 3]), torch.float32, True)
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import torch

from loom import backend
from loom.errors import ConfigError, ShapeError
from loom.ops._common import tensor
from loom.random.seed_generator import SeedGenerator, generator_from


def _generator(seed: Any, device: torch.device | str | None = None, op: str = "random") -> torch.Generator | None:
    """A generator on ``device`` (default None: the CPU) for ``seed``, or ``None`` (torch's global one)."""
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        return seed.generator(device)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"random.{op}: `seed` must be None, an int or a SeedGenerator, got {seed!r}.")
    return generator_from(int(seed), 0, device)


def _shape(shape: Any, op: str) -> tuple[int, ...]:
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        out = tuple(int(s) for s in shape)
    except (TypeError, ValueError) as e:
        raise ShapeError(f"random.{op}: `shape` must be a tuple of ints, got {shape!r}.") from e
    if any(s < 0 for s in out):
        raise ShapeError(f"random.{op}: `shape` must not have negative sizes, got {out}.")
    return out


def _float_dtype(dtype: Any, op: str) -> torch.dtype:
    d = backend.torch_dtype(dtype)
    if not d.is_floating_point:
        raise ConfigError(f"random.{op}: `dtype` must be a float dtype, got {dtype!r}.")
    return d


def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
           seed: Any = None) -> torch.Tensor:
    """Samples from a normal distribution.

    Args:
        shape: output shape.
        mean: default 0.0.
        stddev: default 1.0.
        dtype: a float dtype; default None (floatx).
        seed: None (global generator), an int (same draw each call) or a SeedGenerator; default None.
    """
    d, shape, device = _float_dtype(dtype, "normal"), _shape(shape, "normal"), backend.scope_device()
    return torch.randn(shape, generator=_generator(seed, device, "normal"), dtype=d, device=device) * stddev + mean


def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0, dtype: Any = None,
            seed: Any = None) -> torch.Tensor:
    """Samples uniform in ``[minval, maxval)``.

    Args:
        shape: output shape.
        minval: default 0.0.
        maxval: default 1.0.
        dtype: a float dtype; default None (floatx).
        seed: None (global generator), an int (same draw each call) or a SeedGenerator; default None.
    """
    d, shape, device = _float_dtype(dtype, "uniform"), _shape(shape, "uniform"), backend.scope_device()
    draw = torch.rand(shape, generator=_generator(seed, device, "uniform"), dtype=d, device=device)
    return draw * (maxval - minval) + minval


def randint(shape: Sequence[int], minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """Integers uniform in ``[minval, maxval)``.

    Args:
        shape: output shape.
        minval: lowest value.
        maxval: one above the highest value.
        dtype: an integer dtype; default ``'int32'``.
        seed: None (global generator), an int (same draw each call) or a SeedGenerator; default None.
    """
    d, shape = backend.torch_dtype(dtype), _shape(shape, "randint")
    if d.is_floating_point or d == torch.bool:
        raise ConfigError(f"random.randint: `dtype` must be an integer dtype, got {dtype!r}.")
    if int(maxval) <= int(minval):
        raise ConfigError(f"random.randint: `maxval` ({maxval}) must be greater than `minval` ({minval}).")
    device = backend.scope_device()
    out = torch.randint(int(minval), int(maxval), shape, generator=_generator(seed, device, "randint"), device=device)
    return out.to(d)


def truncated_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None) -> torch.Tensor:
    """Normal samples with values more than two ``stddev`` from ``mean`` redrawn.

    Args:
        shape: output shape.
        mean: default 0.0.
        stddev: default 1.0.
        dtype: a float dtype; default None (floatx).
        seed: None (global generator), an int (same draw each call) or a SeedGenerator; default None.
    """
    d, shape = _float_dtype(dtype, "truncated_normal"), _shape(shape, "truncated_normal")
    device = backend.scope_device()
    out = torch.empty(shape, dtype=torch.float32 if d in (torch.float16, torch.bfloat16) else d, device=device)
    torch.nn.init.trunc_normal_(out, 0.0, 1.0, -2.0, 2.0, generator=_generator(seed, device, "truncated_normal"))
    return (out * stddev + mean).to(d)


def dropout(inputs: Any, rate: float, noise_shape: Sequence[int] | None = None, seed: Any = None) -> torch.Tensor:
    """Zero each entry with probability ``rate`` and scale the rest by ``1 / (1 - rate)``.

    Args:
        inputs: tensor.
        rate: drop probability in ``[0, 1)``.
        noise_shape: shape of the keep/drop draw, broadcast to ``inputs`` (``None`` entries take the input's
            size), e.g. ``(batch, 1, features)``; default None (``inputs.shape``).
        seed: None (global generator), an int (same draw each call) or a SeedGenerator; default None.
    """
    x = tensor(inputs, op="random.dropout")
    if not 0 <= rate < 1:
        raise ConfigError(f"random.dropout: `rate` must be in [0, 1), got {rate!r}.")
    shape = tuple(x.shape) if noise_shape is None else tuple(
        x.shape[i] if s is None else int(s) for i, s in enumerate(noise_shape))
    try:
        torch.broadcast_shapes(shape, x.shape)
    except RuntimeError as e:
        raise ShapeError(f"random.dropout: noise_shape {shape} does not broadcast to inputs {tuple(x.shape)}.") from e
    dtype = x.dtype if x.dtype.is_floating_point else backend.torch_dtype(None)
    keep = torch.rand(shape, generator=_generator(seed, x.device, "dropout"), device=x.device) >= rate
    return torch.where(keep, x.to(dtype) / (1 - rate), torch.zeros((), dtype=dtype, device=x.device))


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> torch.Tensor:
    """``x`` with its slices along ``axis`` in a random order."""
    x = tensor(x, op="random.shuffle")
    if not -x.ndim <= axis < max(x.ndim, 1):
        raise ShapeError(f"random.shuffle: `axis`={axis} is out of range for x.shape={tuple(x.shape)}.")
    perm = torch.randperm(x.shape[axis], generator=_generator(seed, x.device, "shuffle"), device=x.device)
    return x.index_select(axis, perm)


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """``num_samples`` class indices per row of 2-D ``logits`` (unnormalized log-probabilities)."""
    logits = tensor(logits, op="random.categorical")
    if logits.ndim != 2:
        raise ShapeError(f"random.categorical: `logits` must be 2-D (batch, classes), got {tuple(logits.shape)}.")
    probs = torch.softmax(logits.to(torch.float32 if not logits.dtype.is_floating_point else logits.dtype), -1)
    out = torch.multinomial(probs.float(), int(num_samples), replacement=True,
                            generator=_generator(seed, probs.device, "categorical"))
    return out.to(backend.torch_dtype(dtype))


def _standard_gamma(alpha: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Marsaglia & Tsang (2000) rejection sampling, vectorized; ``alpha < 1`` boosted by ``U**(1/alpha)``."""
    boost = alpha < 1
    a = torch.where(boost, alpha + 1, alpha).double()
    d = a - 1.0 / 3.0
    c = 1.0 / torch.sqrt(9.0 * d)
    out = torch.zeros_like(a)
    todo = torch.ones_like(a, dtype=torch.bool)
    while bool(todo.any()):
        z = torch.randn(a.shape, generator=gen, dtype=torch.float64, device=a.device)
        u = torch.rand(a.shape, generator=gen, dtype=torch.float64, device=a.device)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u) < 0.5 * z * z + d - d * v + d * torch.log(v.clamp(min=1e-300))) & todo
        out = torch.where(ok, d * v, out)
        todo &= ~ok
    u = torch.rand(a.shape, generator=gen, dtype=torch.float64, device=a.device)
    return torch.where(boost, out * u ** (1.0 / alpha.double()), out)


def gamma(shape: Sequence[int], alpha: float, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a gamma distribution with concentration ``alpha`` (scale 1)."""
    d, shape = _float_dtype(dtype, "gamma"), _shape(shape, "gamma")
    a = tensor(alpha, op="random.gamma").double().broadcast_to(shape)
    if bool((a <= 0).any()):
        raise ConfigError(f"random.gamma: `alpha` must be positive, got {alpha!r}.")
    return _standard_gamma(a, _generator(seed, a.device, "gamma")).to(d)


def beta(shape: Sequence[int], alpha: float, beta: float, dtype: Any = None, seed: Any = None) -> torch.Tensor:
    """Samples from a beta distribution: ``X / (X + Y)`` with ``X ~ Gamma(alpha)``, ``Y ~ Gamma(beta)``."""
    d, shape = _float_dtype(dtype, "beta"), _shape(shape, "beta")
    a = tensor(alpha, op="random.beta").double().broadcast_to(shape)
    b = tensor(beta, op="random.beta").double().broadcast_to(shape)
    if bool((a <= 0).any()) or bool((b <= 0).any()):
        raise ConfigError(f"random.beta: `alpha` and `beta` must be positive, got {alpha!r}, {beta!r}.")
    gen = _generator(seed, a.device, "beta")
    x, y = _standard_gamma(a, gen), _standard_gamma(b, gen)
    return (x / (x + y)).to(d)


def binomial(shape: Sequence[int], counts: Any, probabilities: Any, dtype: Any = None,
             seed: Any = None) -> torch.Tensor:
    """Number of successes in ``counts`` trials of probability ``probabilities``; ``dtype`` defaults to floatx."""
    d, shape = backend.torch_dtype(dtype), _shape(shape, "binomial")
    n = tensor(counts, op="random.binomial").to(torch.float32).broadcast_to(shape)
    p = tensor(probabilities, op="random.binomial").to(torch.float32).broadcast_to(shape)
    if bool(((p < 0) | (p > 1)).any()) or bool((n < 0).any()):
        raise ConfigError("random.binomial: `probabilities` must be in [0, 1] and `counts` non-negative.")
    return torch.binomial(n.contiguous(), p.contiguous(), generator=_generator(seed, n.device, "binomial")).to(d)
