"""Convolution weights prepacked in oneDNN's own layout for the length of one ``predict`` call.

On the CPU every convolution call hands oneDNN a plain ``(out, in, *window)`` kernel, which oneDNN reorders into
its blocked layout before it computes: 10-20 us a call, as much as a small convolution's arithmetic. A convnet's
``predict`` makes that call for every convolution and every batch (bench M3: 12 convolutions per piece of a
batch; packing made its predict 3% faster, M5's 1%). Within :func:`frozen` each weight is reordered once
(``mkldnn_reorder_conv2d_weight``, the packing inductor's weight freezing uses) and the packed copy is used
until the block ends; the results are the same bits.

Packing is bounded by the block, so no packed copy can outlive a change of the weights: ``predict`` opens it
around its loop when no callback watches its batches (nothing runs between batches that could change a weight),
and the copies are dropped when it returns. Outside the block nothing is packed.

Example:
    >>> import torch, torch.nn.functional as F
    >>> weight, x = torch.nn.Parameter(torch.randn(8, 4, 3, 3)), torch.randn(2, 4, 9, 9)
    >>> packed(weight, x, (1, 1), (0, 0), (1, 1), 1) is None   # outside frozen(): nothing is packed
    True
    >>> with frozen(), torch.no_grad():
    ...     p = packed(weight, x, (1, 1), (0, 0), (1, 1), 1)
    ...     p is None or p is packed(weight, x, (1, 1), (0, 0), (1, 1), 1)   # packed once (where oneDNN exists)
    True
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Callable, Iterator, Sequence

import torch

#: ``cache``: ``{key: (owner, value)}`` while :func:`frozen` is active (``None`` outside), and under ``_MADE`` the
#: ids of the tensors :func:`memo` made.
_STATE = threading.local()
_MADE = "made tensors"


@contextlib.contextmanager
def frozen() -> Iterator[None]:
    """While active (in this thread), convolutions pack each 2-D weight once and reuse the packed copy; the
    caller promises the weights do not change inside."""
    previous = getattr(_STATE, "cache", None)
    _STATE.cache = {}
    try:
        yield
    finally:
        _STATE.cache = previous


def packed(weight: torch.Tensor, x: torch.Tensor, strides: Sequence[int], padding: Sequence[int],
           dilation: Sequence[int], groups: int) -> torch.Tensor | None:
    """``weight`` (a stored 4-D kernel, or one :func:`memo` made) in oneDNN's layout for a convolution of
    channels-first ``x``, packed on first use inside :func:`frozen`; ``None`` outside it, for a tensor made
    anew each call (a view), or where this torch has no oneDNN."""
    cache = getattr(_STATE, "cache", None)
    if cache is None or weight.dim() != 4 or not torch.backends.mkldnn.is_available() or \
            not (isinstance(weight, torch.nn.Parameter) or id(weight) in cache.get(_MADE, ())):
        return None
    return memo((weight, tuple(x.shape[1:]), tuple(strides), tuple(padding), tuple(dilation), groups),
                lambda: _reorder(weight, x, strides, padding, dilation, groups))


def memo(key: tuple, make: Callable[[], Any]) -> Any:
    """``make()``, computed once per ``key`` inside :func:`frozen` (every call outside it); ``key``'s first item
    is an object whose identity names the value (kept alive with it, so its id is not reused). Tensors in the
    value may be packed by :func:`packed` (they are the same objects on every call inside the block)."""
    cache = getattr(_STATE, "cache", None)
    if cache is None:
        return make()
    full_key = (id(key[0]),) + key[1:]
    entry = cache.get(full_key)
    if entry is None or entry[0] is not key[0]:
        value = make()
        cache.setdefault(_MADE, set()).update(id(t) for t in (value if isinstance(value, tuple) else (value,))
                                             if isinstance(t, torch.Tensor))
        entry = cache[full_key] = (key[0], value)
    return entry[1]


def _reorder(weight, x, strides, padding, dilation, groups) -> torch.Tensor | None:
    reorder = getattr(torch._C._nn, "mkldnn_reorder_conv2d_weight", None)
    if reorder is None or weight.dtype != torch.float32:
        return None
    try:
        return reorder(weight.detach().contiguous().to_mkldnn(), list(padding), list(strides), list(dilation),
                       groups, list(x.shape))
    except RuntimeError:  # a shape or layout oneDNN does not pack: the plain weight serves
        return None
