"""A small cache of member predictions per dataset, so fitting weights, reporting and predicting again on the
same arrays never runs the members twice.

A dataset is keyed by :func:`fingerprint`: the shape, dtype and a BLAKE2 digest of the array's bytes (all of
them up to 64 MiB; beyond that a strided sample of about 4 MiB plus the array's ``id``, so a huge array
changed in place between calls is only noticed if the sample changes). Nested lists/dicts of arrays (multi-input
models) are keyed leaf by leaf; anything else (generators, datasets) is not cached.

Example:
    >>> import numpy as np
    >>> a = np.arange(6.0).reshape(2, 3)
    >>> fingerprint(a) == fingerprint(a.copy()), fingerprint(a) == fingerprint(a + 1)
    (True, False)
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Callable, Hashable

import numpy as np
import torch

_FULL_HASH_BYTES = 64 * 1024 * 1024
_SAMPLE_BYTES = 4 * 1024 * 1024


def fingerprint(x: Any) -> Hashable | None:
    """A cheap key identifying the content of ``x``, or ``None`` when ``x`` cannot be keyed."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return _array_key(x)
    if isinstance(x, (list, tuple)):
        keys = tuple(fingerprint(v) for v in x)
        return None if any(k is None for k in keys) else ("seq", keys)
    if isinstance(x, dict) and all(isinstance(k, str) for k in x):
        keys = tuple((k, fingerprint(x[k])) for k in sorted(x))
        return None if any(k[1] is None for k in keys) else ("dict", keys)
    return None


def _array_key(x: np.ndarray) -> Hashable:
    if x.dtype.hasobject:
        return None
    digest = hashlib.blake2b(digest_size=16)
    if x.nbytes <= _FULL_HASH_BYTES:
        digest.update(np.ascontiguousarray(x).view(np.uint8).reshape(-1) if x.size else b"")
        identity = None
    else:
        flat = x.reshape(-1)
        step = max(1, flat.size // max(1, _SAMPLE_BYTES // x.itemsize))
        digest.update(np.ascontiguousarray(flat[::step]).view(np.uint8).reshape(-1))
        identity = id(x)
    return ("array", x.shape, x.dtype.str, digest.hexdigest(), identity)


class PredictionCache:
    """Least-recently-used store of ``{member index: predictions}`` per dataset fingerprint.

    Args:
        max_datasets: how many datasets to remember (default 4; ``0`` turns caching off).
    """

    def __init__(self, max_datasets: int = 4):
        self.max_datasets = max_datasets
        self._entries: OrderedDict[Hashable, dict[int, np.ndarray]] = OrderedDict()

    def get(self, x: Any, index: int, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """Member ``index``'s predictions for ``x``, computed with ``compute()`` the first time."""
        key = fingerprint(x) if self.max_datasets > 0 else None
        if key is None:
            return compute()
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = {}
            while len(self._entries) > self.max_datasets:
                self._entries.popitem(last=False)
        self._entries.move_to_end(key)
        if index not in entry:
            entry[index] = compute()
        return entry[index]

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
