"""Keras's core ops on torch: casting, shapes, control flow (``cond``, ``scan``, ``while_loop``...), slicing and
scattering, custom gradients and ``rearrange``.

Control flow runs eagerly in Python, as on Keras's torch backend; gradients flow through every iteration. The
data ops (``cast``, ``slice``, ``scatter_update``, ``rearrange``...) called on ``loom.Input`` placeholders become
layers of the functional graph; control flow takes real tensors.

Example:
    >>> from loom.ops import core
    >>> core.fori_loop(0, 4, lambda i, acc: acc + i, 0)
    6
    >>> core.shape(core.convert_to_tensor([[1, 2, 3]]))
    (1, 3)
"""

from __future__ import annotations

import builtins
import functools
from typing import Any, Callable, Sequence

import numpy as np
import torch

from loom.errors import ConfigError, InputError, ShapeError
from loom.ops._common import check_axis, check_choice, tensor
from loom.ops._rearrange import rearrange as _rearrange
from loom.ops._tensor import convert_to_tensor, dtype_name, op, to_torch_dtype
from loom.structure import flatten
from loom.variables import Variable


@op("cast")
def cast(x: Any, dtype: Any) -> torch.Tensor:
    """``x`` converted to ``dtype`` (float to int truncates toward zero)."""
    return tensor(x, op="cast").to(to_torch_dtype(dtype))


def _limits(dtype: torch.dtype) -> tuple[float, float]:
    if dtype == torch.bool:
        return 0, 1
    info = torch.finfo(dtype) if dtype.is_floating_point else torch.iinfo(dtype)
    return info.min, info.max


@op("saturate_cast")
def saturate_cast(x: Any, dtype: Any) -> torch.Tensor:
    """Cast with values first clipped to the target dtype's range (``[-1, 256] -> uint8`` gives ``[0, 255]``)."""
    x, target = tensor(x, op="saturate_cast"), to_torch_dtype(dtype)
    lo, hi = _limits(target)
    in_lo, in_hi = _limits(x.dtype)
    if x.dtype.is_floating_point and not target.is_floating_point:
        # the largest float of x's dtype not above the integer bound (e.g. 2**31 - 128 in float32)
        hi_t = torch.tensor(hi, dtype=torch.float64).to(x.dtype)
        hi = float(hi_t if float(hi_t) <= hi else torch.nextafter(hi_t, torch.zeros_like(hi_t)))
        lo_t = torch.tensor(lo, dtype=torch.float64).to(x.dtype)
        lo = float(lo_t if float(lo_t) >= lo else torch.nextafter(lo_t, torch.zeros_like(lo_t)))
    if lo > in_lo or hi < in_hi:
        x = torch.clamp(x, max(lo, in_lo), min(hi, in_hi))
    return x.to(target)


def convert_to_numpy(x: Any) -> np.ndarray:
    """``x`` as a NumPy array on the host."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(getattr(x, "value", None), torch.Tensor):
        return x.value.detach().cpu().numpy()
    return np.asarray(x)


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (NumPy arrays and Python values are not)."""
    return torch.is_tensor(x)


def shape(x: Any) -> tuple:
    """The shape of ``x`` as a tuple of ints (symbolic tensors: ``None`` for unknown dims); Keras's shape for a
    weight stored in another layout (a Conv2D kernel: ``(kh, kw, in, out)``)."""
    if isinstance(x, Variable):
        return tuple(x._keras_view().shape)
    if isinstance(x, torch.Tensor):
        return tuple(x.shape)
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return tuple(convert_to_tensor(x).shape)


def dtype(x: Any) -> str:
    """The Keras dtype name of ``x`` (``'float32'``, ``'int32'``...)."""
    if isinstance(x, torch.Tensor):
        return dtype_name(x.dtype)
    return dtype_name(convert_to_tensor(x).dtype)


@op("stop_gradient")
def stop_gradient(variable: Any) -> torch.Tensor:
    """``variable``'s value with no gradient flowing back through it."""
    return tensor(variable, op="stop_gradient").detach()


@op("unstack")
def unstack(x: Any, num: int | None = None, axis: int = 0) -> list[torch.Tensor]:
    """The slices of ``x`` along ``axis`` as a list."""
    x = tensor(x, op="unstack")
    axis = check_axis(axis, x.ndim, "ops.unstack")
    if num is not None and num != x.shape[axis]:
        raise ShapeError(f"ops.unstack: `num`={num} but axis {axis} of x.shape={tuple(x.shape)} has {x.shape[axis]}.")
    return list(torch.unbind(x, dim=axis))


def cond(pred: Any, true_fn: Callable[[], Any], false_fn: Callable[[], Any]) -> Any:
    """``true_fn()`` if ``pred`` is true, else ``false_fn()``."""
    return true_fn() if bool(pred) else false_fn()


def switch(index: Any, branches: Sequence[Callable], *operands: Any) -> Any:
    """``branches[index](*operands)``, with ``index`` clamped to the valid range."""
    if not branches:
        raise ConfigError("ops.switch: `branches` must hold at least one callable.")
    i = builtins.min(builtins.max(int(index), 0), len(branches) - 1)
    return branches[i](*operands)


def while_loop(cond: Callable[..., Any], body: Callable[..., Any], loop_vars: Any,
               maximum_iterations: int | None = None) -> Any:
    """Run ``loop_vars = body(*loop_vars)`` while ``cond(*loop_vars)`` is true.

    Args:
        cond: callable on the loop variables returning a bool (or bool tensor).
        body: callable on the loop variables returning their new values (same structure).
        loop_vars: a tuple/list of values, or a single value (then ``body`` takes and returns one value).
        maximum_iterations: stop after this many iterations; default None (no limit).
    """
    is_tuple = isinstance(loop_vars, (tuple, list))
    state = tuple(loop_vars) if is_tuple else (loop_vars,)
    steps = 0
    while (maximum_iterations is None or steps < maximum_iterations) and bool(cond(*state)):
        state = body(*state)
        state = tuple(state) if isinstance(state, (tuple, list)) else (state,)
        steps += 1
    return state if is_tuple else state[0]


def fori_loop(lower: int, upper: int, body_fun: Callable[[int, Any], Any], init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)``, starting from ``init_val``."""
    val = init_val
    for i in range(int(lower), int(upper)):
        val = body_fun(i, val)
    return val


def _unflatten_like(structure: Any, leaves: list) -> Any:
    it = iter(leaves)

    def build(node: Any) -> Any:
        if isinstance(node, (list, tuple)):
            return type(node)(build(v) for v in node)
        if isinstance(node, dict):
            return {k: build(node[k]) for k in sorted(node)}
        return next(it)

    return build(structure)


def _stack_outputs(outputs: list) -> Any:
    leaves = [flatten(o) for o in outputs]
    stacked = [torch.stack([convert_to_tensor(v) for v in column]) for column in zip(*leaves)]
    return _unflatten_like(outputs[0], stacked)


def map(f: Callable[[Any], Any], xs: Any) -> Any:
    """``f`` applied to each slice of ``xs`` along axis 0, the results stacked (nested structures allowed)."""
    leaves = [convert_to_tensor(v) for v in flatten(xs)]
    if not leaves:
        raise InputError("ops.map: `xs` holds no tensors.")
    return _stack_outputs([f(_unflatten_like(xs, [v[i] for v in leaves])) for i in range(leaves[0].shape[0])])


def scan(f: Callable[[Any, Any], tuple], init: Any, xs: Any = None, length: int | None = None,
         reverse: bool = False, unroll: int = 1) -> tuple[Any, Any]:
    """``carry, y = f(carry, x)`` over the slices of ``xs`` along axis 0; returns ``(carry, stacked ys)``.

    Args:
        f: callable ``(carry, x) -> (carry, y)``; ``y`` may be a nested structure or None.
        init: the initial carry.
        xs: tensor or nested structure scanned along axis 0; default None (then ``x`` is None).
        length: number of steps when ``xs`` is None; default None.
        reverse: scan from the last slice; ``ys`` stay in input order; default False.
        unroll: accepted for Keras compatibility (loops run eagerly); default 1.
    """
    leaves = [convert_to_tensor(v) for v in flatten(xs)] if xs is not None else []
    n = leaves[0].shape[0] if leaves else length
    if n is None:
        raise ConfigError("ops.scan: pass `xs` or `length`.")
    if length is not None and leaves and length != n:
        raise ShapeError(f"ops.scan: `length`={length} but `xs` has {n} slices along axis 0.")
    carry, ys = init, []
    order = range(n - 1, -1, -1) if reverse else range(n)
    for i in order:
        x = _unflatten_like(xs, [v[i] for v in leaves]) if leaves else None
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    if not ys or all(y is None for y in flatten(ys[0])):
        return carry, None
    return carry, _stack_outputs(ys)


def associative_scan(f: Callable[[Any, Any], Any], elems: Any, reverse: bool = False, axis: int = 0) -> Any:
    """Inclusive prefix scan of ``elems`` along ``axis`` with the associative ``f`` (e.g. a cumulative sum).

    Args:
        f: associative binary callable on slices (or nested structures of slices).
        elems: tensor or nested structure of tensors with the same size along ``axis``.
        reverse: scan from the end; default False.
        axis: scanned axis; default 0.
    """
    leaves = [convert_to_tensor(v) for v in flatten(elems)]
    if not leaves:
        raise InputError("ops.associative_scan: `elems` holds no tensors.")
    axis = check_axis(axis, leaves[0].ndim, "ops.associative_scan")
    n = leaves[0].shape[axis]
    if any(v.shape[axis] != n for v in leaves):
        raise ShapeError(f"ops.associative_scan: all `elems` need the same size along axis {axis}.")
    order = list(range(n - 1, -1, -1)) if reverse else list(range(n))
    acc, results = None, {}
    for i in order:
        x = _unflatten_like(elems, [v.select(axis, i) for v in leaves])
        acc = x if acc is None else f(acc, x)  # reverse: flip, scan, flip (as jax.lax.associative_scan)
        results[i] = flatten(acc)
    columns = zip(*(results[i] for i in range(n)))
    return _unflatten_like(elems, [torch.stack([convert_to_tensor(c) for c in col], dim=axis) for col in columns])


def vectorized_map(function: Callable[[Any], Any], elements: Any) -> Any:
    """``function`` mapped over axis 0 of ``elements`` with ``torch.vmap`` (a Python loop if vmap cannot)."""
    try:
        return torch.vmap(function)(elements)
    except (RuntimeError, ValueError, NotImplementedError):  # e.g. data-dependent Python control flow
        return map(function, elements)


def _indices(indices: Any, op: str, rank: int) -> torch.Tensor:
    idx = tensor(indices, op=op).long()
    if idx.ndim != 2 or idx.shape[1] > rank:
        raise ShapeError(f"ops.{op}: `indices` must be (num_updates, index_depth <= {rank}), got shape "
                         f"{tuple(idx.shape)}.")
    return idx


@op("scatter")
def scatter(indices: Any, values: Any, shape: Sequence[int]) -> torch.Tensor:
    """A zero tensor of ``shape`` with ``values`` added at ``indices`` (duplicates sum)."""
    values = tensor(values, op="scatter")
    shape = tuple(int(s) for s in (shape.tolist() if isinstance(shape, torch.Tensor) else shape))
    idx = _indices(indices, "scatter", len(shape)).to(values.device)
    want = (idx.shape[0], *shape[idx.shape[1]:])
    if tuple(values.reshape(-1).shape) != (int(np.prod(want)),):
        raise ShapeError(f"ops.scatter: `values` must have shape {want}, got {tuple(values.shape)}.")
    out = torch.zeros(shape, dtype=values.dtype, device=values.device)
    return out.index_put(tuple(idx.T), values.reshape(want), accumulate=True)


@op("scatter_update")
def scatter_update(inputs: Any, indices: Any, updates: Any, reduction: str | None = None) -> torch.Tensor:
    """A copy of ``inputs`` with ``updates`` written at ``indices``.

    Args:
        inputs: tensor to update.
        indices: ``(num_updates, index_depth)`` integer positions into the leading axes of ``inputs``.
        updates: ``(num_updates, *inputs.shape[index_depth:])`` values.
        reduction: None (replace), ``'add'``, ``'max'``, ``'min'`` or ``'mul'``; default None.
    """
    check_choice(reduction, (None, "add", "max", "min", "mul"), "ops.scatter_update", "reduction")
    inputs = tensor(inputs, op="scatter_update")
    idx = _indices(indices, "scatter_update", inputs.ndim).to(inputs.device)
    updates = tensor(updates, op="scatter_update").to(inputs.dtype).to(inputs.device)
    updates = updates.reshape(idx.shape[0], *inputs.shape[idx.shape[1]:])
    if reduction is None:
        return inputs.index_put(tuple(idx.T), updates)
    if reduction == "add":
        return inputs.index_put(tuple(idx.T), updates, accumulate=True)
    flat = idx @ torch.tensor(_strides(inputs.shape[:idx.shape[1]]), device=idx.device)
    rows = inputs.reshape(-1, *inputs.shape[idx.shape[1]:])
    index = flat.view(-1, *([1] * (updates.ndim - 1))).expand_as(updates)
    how = {"max": "amax", "min": "amin", "mul": "prod"}[reduction]
    return rows.scatter_reduce(0, index, updates, how, include_self=True).reshape(inputs.shape)


def _strides(shape: Sequence[int]) -> list[int]:
    out, step = [], 1
    for size in reversed(shape):
        out.append(step)
        step *= size
    return out[::-1]


def _starts(start_indices: Any, x: torch.Tensor, op: str) -> list[int]:
    starts = start_indices.tolist() if isinstance(start_indices, torch.Tensor) else list(start_indices)
    if len(starts) != x.ndim:
        raise ShapeError(f"ops.{op}: `start_indices` needs {x.ndim} entries for shape {tuple(x.shape)}, got "
                         f"{len(starts)}.")
    return [int(s) for s in starts]


@op("slice")
def slice(inputs: Any, start_indices: Any, shape: Any) -> torch.Tensor:
    """The block of ``inputs`` of ``shape`` starting at ``start_indices``."""
    x = tensor(inputs, op="slice")
    starts = _starts(start_indices, x, "slice")
    sizes = shape.tolist() if isinstance(shape, torch.Tensor) else list(shape)
    if len(sizes) != x.ndim:
        raise ShapeError(f"ops.slice: `shape` needs {x.ndim} entries for inputs of shape {tuple(x.shape)}.")
    return x[tuple(builtins.slice(s, s + int(n)) for s, n in zip(starts, sizes))]


@op("slice_update")
def slice_update(inputs: Any, start_indices: Any, updates: Any) -> torch.Tensor:
    """A copy of ``inputs`` with the block at ``start_indices`` replaced by ``updates``."""
    x = tensor(inputs, op="slice_update")
    updates = tensor(updates, op="slice_update").to(x.dtype).to(x.device)
    starts = _starts(start_indices, x, "slice_update")
    if updates.ndim != x.ndim or any(s + n > d for s, n, d in zip(starts, updates.shape, x.shape)):
        raise ShapeError(f"ops.slice_update: updates of shape {tuple(updates.shape)} at {starts} do not fit in "
                         f"inputs of shape {tuple(x.shape)}.")
    out = x.clone()
    out[tuple(builtins.slice(s, s + n) for s, n in zip(starts, updates.shape))] = updates
    return out


class _CustomGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, fn: Callable, *args: Any) -> Any:
        output, grad_fn = fn(*args)
        ctx.grad_fn = grad_fn
        return output

    @staticmethod
    def backward(ctx: Any, *upstream: torch.Tensor) -> tuple:
        grads = ctx.grad_fn(*upstream)
        return (None, *(grads if isinstance(grads, (tuple, list)) else (grads,)))


def custom_gradient(f: Callable[..., tuple]) -> Callable[..., Any]:
    """Decorate ``f(*args) -> (output, grad_fn)``; backprop calls ``grad_fn(upstream)`` for the input gradients.

    Example:
        >>> import torch
        >>> @custom_gradient
        ... def clip_grad(x):
        ...     return x * 1.0, lambda upstream: upstream.clamp(-1, 1)
        >>> x = torch.tensor([3.0], requires_grad=True)
        >>> (clip_grad(x) * 5).sum().backward(); x.grad.tolist()
        [1.0]
    """
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _CustomGradient.apply(functools.partial(f, **kwargs) if kwargs else f, *args)
    return wrapper


rearrange = op("rearrange")(_rearrange)

__all__ = ["associative_scan", "cast", "cond", "convert_to_numpy", "convert_to_tensor", "custom_gradient", "dtype",
           "fori_loop", "is_tensor", "map", "rearrange", "saturate_cast", "scan", "scatter", "scatter_update",
           "shape", "slice", "slice_update", "stop_gradient", "switch", "unstack", "vectorized_map", "while_loop"]
