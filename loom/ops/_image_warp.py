"""Geometric image ops of ``keras.ops.image``: ``map_coordinates``, ``affine_transform``,
``perspective_transform``, ``elastic_transform`` and ``scale_and_translate`` (re-exported by
:mod:`loom.ops.image`).

Example:
    >>> import torch
    >>> from loom.ops import image
    >>> image.map_coordinates(torch.arange(4.0), [torch.tensor([0.5, 2.0])], order=1).tolist()
    [0.5, 2.0]
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Sequence

import torch

from loom.errors import ShapeError
from loom.ops._common import check_choice, data_format, float_result, ftensor, tensor

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
INTERPOLATIONS = {"nearest": 0, "bilinear": 1}


def _mirror(index: torch.Tensor, size: int) -> torch.Tensor:
    s = max(size - 1, 1)
    return torch.abs((index + s) % (2 * s) - s)


def _fix(index: torch.Tensor, size: int, mode: str) -> torch.Tensor:
    if mode == "wrap":
        return index % size
    if mode == "mirror":
        return _mirror(index, size) if size > 1 else torch.zeros_like(index)
    if mode == "reflect":
        return torch.div(_mirror(2 * index + 1, 2 * size + 1) - 1, 2, rounding_mode="floor")
    return index.clamp(0, size - 1)


def _nodes(coordinate: torch.Tensor, order: int) -> list[tuple[torch.Tensor, Any]]:
    if order == 0:
        c = coordinate if not coordinate.dtype.is_floating_point else torch.round(coordinate)
        return [(c.long(), 1.0)]
    lower = torch.floor(coordinate)
    upper_weight = coordinate - lower
    return [(lower.long(), 1 - upper_weight), (lower.long() + 1, upper_weight)]


def map_coordinates(inputs: Any, coordinates: Any, order: int, fill_mode: str = "constant",
                    fill_value: float = 0) -> torch.Tensor:
    """Sample ``inputs`` at ``coordinates`` (as ``scipy.ndimage.map_coordinates``).

    Args:
        inputs: N-D array.
        coordinates: N arrays of positions (one per input axis), all the same shape.
        order: 0 (nearest) or 1 (linear).
        fill_mode: ``'constant'``, ``'nearest'``, ``'wrap'``, ``'mirror'`` or ``'reflect'``; default
            ``'constant'``.
        fill_value: value outside the input with ``'constant'``; default 0.
    """
    x = tensor(inputs, op="image.map_coordinates")
    coords = [ftensor(c, "image.map_coordinates") if order else tensor(c, op="image.map_coordinates")
              for c in coordinates]
    if len(coords) != x.ndim:
        raise ShapeError(f"ops.image.map_coordinates: `coordinates` needs one array per input axis ({x.ndim}), got "
                         f"{len(coords)}.")
    if coords[0].ndim < 1:
        raise ShapeError("ops.image.map_coordinates: each coordinate array must have rank >= 1.")
    check_choice(order, (0, 1), "ops.image.map_coordinates", "order")
    check_choice(fill_mode, FILL_MODES, "ops.image.map_coordinates", "fill_mode")
    work = x if x.dtype.is_floating_point else x.to(torch.float32)
    result = None
    per_axis = [[(_fix(i, size, fill_mode), (i >= 0) & (i < size), w) for i, w in _nodes(c.to(x.device), order)]
                for c, size in zip(coords, x.shape)]
    for combo in itertools.product(*per_axis):
        indices, valids, weights = zip(*combo)
        value = work[tuple(indices)]
        if fill_mode == "constant":
            value = torch.where(torch.stack(torch.broadcast_tensors(*valids)).all(0), value,
                                torch.tensor(fill_value, dtype=work.dtype, device=x.device))
        weight = math.prod(weights) if order == 0 else torch.stack(torch.broadcast_tensors(*weights)).prod(0)
        term = value * weight
        result = term if result is None else result + term
    if not x.dtype.is_floating_point:
        result = torch.round(result)
    return result.to(x.dtype)


def _images(images: Any, op: str, fmt: str | None) -> tuple[torch.Tensor, bool, str]:
    x = tensor(images, op=op)
    if x.ndim not in (3, 4):
        raise ShapeError(f"ops.image.{op}: `images` must have rank 3 (one image) or 4 (a batch), got shape "
                         f"{tuple(x.shape)}.")
    fmt = data_format(fmt, f"ops.image.{op}")
    single = x.ndim == 3
    x = x.unsqueeze(0) if single else x
    return (x.permute(0, 2, 3, 1) if fmt == "channels_first" else x), single, fmt


def _restore(y: torch.Tensor, single: bool, fmt: str) -> torch.Tensor:
    y = y.permute(0, 3, 1, 2) if fmt == "channels_first" else y
    return y.squeeze(0) if single else y


def _warp(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor, order: int, fill_mode: str,
          fill_value: float) -> torch.Tensor:
    """Resample NHWC ``x`` at per-batch source positions ``rows``/``cols`` ``(N, H, W)``."""
    channels = torch.arange(x.shape[-1], device=x.device)
    out = []
    for b in range(x.shape[0]):
        r = rows[b].unsqueeze(-1).expand(*rows.shape[1:], x.shape[-1])
        c = cols[b].unsqueeze(-1).expand_as(r)
        ch = channels.expand_as(r).to(r.dtype)
        out.append(map_coordinates(x[b], [r, c, ch], order, fill_mode, fill_value))
    return torch.stack(out)


def _projective(x: torch.Tensor, transform: torch.Tensor, order: int, fill_mode: str,
                fill_value: float) -> torch.Tensor:
    n, h, w = x.shape[:3]
    dtype = transform.dtype
    ys, xs = torch.meshgrid(torch.arange(h, dtype=dtype, device=x.device),
                            torch.arange(w, dtype=dtype, device=x.device), indexing="ij")
    t = transform.to(x.device).expand(n, 8) if transform.shape[0] == 1 else transform.to(x.device)
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i].view(n, 1, 1) for i in range(8))
    k = c0 * xs + c1 * ys + 1.0
    return _warp(x, (b0 * xs + b1 * ys + b2) / k, (a0 * xs + a1 * ys + a2) / k, order, fill_mode, fill_value)


def affine_transform(images: Any, transform: Any, interpolation: str = "bilinear", fill_mode: str = "constant",
                     fill_value: float = 0, data_format: str | None = None) -> torch.Tensor:
    """Map each output pixel ``(x, y)`` to the input point ``((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)``,
    ``k = c0 x + c1 y + 1``.

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)`` (or channels-first).
        transform: ``[a0, a1, a2, b0, b1, b2, c0, c1]``, shape ``(8,)`` or ``(batch, 8)``.
        interpolation: ``'nearest'`` or ``'bilinear'``; default ``'bilinear'``.
        fill_mode: ``'constant'``, ``'nearest'``, ``'wrap'``, ``'mirror'`` or ``'reflect'``; default
            ``'constant'``.
        fill_value: value outside the image with ``'constant'``; default 0.
        data_format: default None (channels_last).
    """
    op = "affine_transform"
    check_choice(interpolation, tuple(INTERPOLATIONS), f"ops.image.{op}", "interpolation")
    check_choice(fill_mode, FILL_MODES, f"ops.image.{op}", "fill_mode")
    x, single, fmt = _images(images, op, data_format)
    t = ftensor(transform, f"image.{op}")
    if t.ndim not in (1, 2) or t.shape[-1] != 8 or (t.ndim == 2 and t.shape[0] not in (1, x.shape[0])):
        raise ShapeError(f"ops.image.{op}: `transform` must be (8,) or (batch, 8), got {tuple(t.shape)} for images "
                         f"of shape {tuple(x.shape)}.")
    t = t.reshape(-1, 8).to(float_result(t, x))
    out = _projective(x, t, INTERPOLATIONS[interpolation], fill_mode, fill_value)
    return _restore(out, single, fmt)


def _homography(start: torch.Tensor, end: torch.Tensor) -> torch.Tensor:
    """The 8 projective coefficients taking each ``end`` point to its ``start`` point."""
    rows = []
    for i in range(4):
        ex, ey, sx, sy = end[:, i, 0], end[:, i, 1], start[:, i, 0], start[:, i, 1]
        one, zero = torch.ones_like(ex), torch.zeros_like(ex)
        rows.append(torch.stack([ex, ey, one, zero, zero, zero, -sx * ex, -sx * ey], -1))
        rows.append(torch.stack([zero, zero, zero, ex, ey, one, -sy * ex, -sy * ey], -1))
    target = torch.stack([start[:, :, 0], start[:, :, 1]], -1).reshape(start.shape[0], 8)
    work = torch.promote_types(start.dtype, torch.float32)
    return torch.linalg.solve(torch.stack(rows, 1).to(work), target.to(work).unsqueeze(-1)).squeeze(-1)


def perspective_transform(images: Any, start_points: Any, end_points: Any, interpolation: str = "bilinear",
                          fill_value: float = 0, data_format: str | None = None) -> torch.Tensor:
    """Warp so the 4 ``start_points`` ``(x, y)`` land on ``end_points`` (``(4, 2)`` or ``(batch, 4, 2)``)."""
    op = "perspective_transform"
    check_choice(interpolation, tuple(INTERPOLATIONS), f"ops.image.{op}", "interpolation")
    x, single, fmt = _images(images, op, data_format)
    dtype = x.dtype if x.dtype.is_floating_point else torch.float32
    start, end = tensor(start_points, dtype, op=op), tensor(end_points, dtype, op=op)
    for name, p in (("start_points", start), ("end_points", end)):
        if p.ndim not in (2, 3) or tuple(p.shape[-2:]) != (4, 2):
            raise ShapeError(f"ops.image.{op}: `{name}` must be (4, 2) or (batch, 4, 2), got {tuple(p.shape)}.")
    if start.shape != end.shape:
        raise ShapeError(f"ops.image.{op}: start_points {tuple(start.shape)} and end_points {tuple(end.shape)} "
                         f"differ in shape.")
    t = _homography(start.reshape(-1, 4, 2), end.reshape(-1, 4, 2))
    return _restore(_projective(x, t, INTERPOLATIONS[interpolation], "constant", fill_value), single, fmt)


def elastic_transform(images: Any, alpha: float = 20.0, sigma: float = 5.0, interpolation: str = "bilinear",
                      fill_mode: str = "reflect", fill_value: float = 0.0, seed: Any = None,
                      data_format: str | None = None) -> torch.Tensor:
    """Displace pixels by Gaussian-smoothed random fields scaled by ``alpha`` (Simard et al., 2003).

    Args:
        images: ``(h, w, c)`` or ``(batch, h, w, c)`` (or channels-first).
        alpha: displacement scale; default 20.0.
        sigma: smoothing standard deviation (kernel ``int(6 sigma) | 1``); default 5.0.
        interpolation: ``'nearest'`` or ``'bilinear'``; default ``'bilinear'``.
        fill_mode: as :func:`affine_transform`; default ``'reflect'``.
        fill_value: default 0.0.
        seed: None, an int or a ``loom.random.SeedGenerator``; default None.
        data_format: default None (channels_last).
    """
    from loom.ops.image import gaussian_blur
    from loom.random import normal

    op = "elastic_transform"
    check_choice(interpolation, tuple(INTERPOLATIONS), f"ops.image.{op}", "interpolation")
    check_choice(fill_mode, FILL_MODES, f"ops.image.{op}", "fill_mode")
    x, single, fmt = _images(images, op, data_format)
    n, h, w, _ = x.shape
    dtype = x.dtype if x.dtype.is_floating_point else torch.float32
    size = int(6 * sigma) | 1
    noise = normal((2 * n, h, w, 1), stddev=sigma, dtype=dtype, seed=seed).to(x.device)
    field = gaussian_blur(noise, (size, size), (sigma, sigma))[..., 0] * alpha
    ys, xs = torch.meshgrid(torch.arange(h, dtype=dtype, device=x.device),
                            torch.arange(w, dtype=dtype, device=x.device), indexing="ij")
    out = _warp(x, ys + field[n:], xs + field[:n], INTERPOLATIONS[interpolation], fill_mode, fill_value)
    return _restore(out, single, fmt)


def _kernel(method: str):
    def linear(t: torch.Tensor) -> torch.Tensor:
        return torch.clamp(1 - t, min=0)

    def cubic(t: torch.Tensor) -> torch.Tensor:  # Keys (1981), a = -0.5
        near = ((1.5 * t - 2.5) * t) * t + 1.0
        far = ((-0.5 * t + 2.5) * t - 4.0) * t + 2.0
        return torch.where(t >= 2.0, 0.0, torch.where(t >= 1.0, far, near))

    def lanczos(radius: float):
        def k(t: torch.Tensor) -> torch.Tensor:
            y = radius * torch.sin(math.pi * t) * torch.sin(math.pi * t / radius)
            out = torch.where(t > 1e-3, y / torch.where(t != 0, math.pi ** 2 * t * t, 1.0), 1.0)
            return torch.where(t > radius, 0.0, out)
        return k

    table = {"linear": linear, "cubic": cubic, "lanczos3": lanczos(3.0), "lanczos5": lanczos(5.0)}
    return table[method]


def _weights(n_in: int, n_out: int, scale: torch.Tensor, shift: torch.Tensor, kernel, antialias: bool):
    inv = 1.0 / scale
    kernel_scale = torch.clamp(inv, min=1.0) if antialias else torch.ones_like(inv)
    sample = (torch.arange(n_out, dtype=scale.dtype, device=scale.device) + 0.5) * inv - shift * inv - 0.5
    dist = torch.abs(sample[None, :] - torch.arange(n_in, dtype=scale.dtype, device=scale.device)[:, None])
    w = kernel(dist / kernel_scale)
    total = w.sum(0, keepdim=True)
    w = torch.where(torch.abs(total) > 1000.0 * torch.finfo(torch.float32).eps,
                    w / torch.where(total != 0, total, 1.0), 0.0)
    inside = (sample >= -0.5) & (sample <= n_in - 0.5)
    return torch.where(inside[None, :], w, 0.0)


def scale_and_translate(images: Any, output_shape: Sequence[int], scale: Any, translation: Any,
                        spatial_dims: Sequence[int], method: str, antialias: bool = True) -> torch.Tensor:
    """Resample ``images`` along ``spatial_dims`` to ``output_shape`` with ``out = in * scale + translation``,
    using a ``linear``, ``cubic``, ``lanczos3`` or ``lanczos5`` kernel (as ``jax.image.scale_and_translate``)."""
    op = "ops.image.scale_and_translate"
    aliases = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic", "tricubic": "cubic"}
    check_choice(method, ("linear", "cubic", "lanczos3", "lanczos5", *aliases), op, "method")
    x = tensor(images, op="image.scale_and_translate")
    scale, shift = ftensor(scale, op), ftensor(translation, op)
    dtype = float_result(scale, shift)
    scale, shift = scale.to(dtype).to(x.device), shift.to(dtype).to(x.device)
    if len(output_shape) != x.ndim or scale.numel() != len(spatial_dims) or shift.numel() != len(spatial_dims):
        raise ShapeError(f"{op}: need len(output_shape) == images.ndim ({x.ndim}) and one scale/translation per "
                         f"spatial dim {tuple(spatial_dims)}; got output_shape={tuple(output_shape)}, "
                         f"scale.shape={tuple(scale.shape)}, translation.shape={tuple(shift.shape)}.")
    kernel = _kernel(aliases.get(method, method))
    out = x.to(torch.float32) if not x.dtype.is_floating_point else x
    for i, d in enumerate(spatial_dims):
        d = d % x.ndim
        w = _weights(x.shape[d], int(output_shape[d]), scale.reshape(-1)[i], shift.reshape(-1)[i], kernel, antialias)
        out = torch.tensordot(out, w.to(out.dtype), dims=([d], [0])).movedim(-1, d)
    if not x.dtype.is_floating_point:
        out = torch.clamp(torch.round(out), x.min(), x.max()).to(x.dtype)
    return out

