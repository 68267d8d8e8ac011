"""``PyDataset`` (alias ``Sequence``): batches produced by Python code, optionally in worker threads or processes.

Subclass it, implement ``__getitem__(index)`` returning one batch (``x``, ``(x, y)`` or ``(x, y,
sample_weight)``) and ``__len__`` (or the ``num_batches`` property; ``None`` means endless), and pass an
instance to ``fit`` / ``evaluate`` / ``predict``. With ``workers > 1`` up to ``max_queue_size`` batches are
prepared ahead by a pool of threads (or processes with ``use_multiprocessing=True``); batches always come
out in index order, or in a fresh random order each epoch when ``fit`` shuffles (its default, as Keras).

Example:
    >>> import numpy as np
    >>> class Squares(PyDataset):
    ...     def __len__(self):
    ...         return 3
    ...     def __getitem__(self, i):
    ...         x = np.full((2, 1), float(i), "float32")
    ...         return x, x ** 2
    >>> [float(y[0, 0]) for _, y in Squares(workers=2)]
    [0.0, 1.0, 4.0]
"""

from __future__ import annotations

import collections
import concurrent.futures as futures
import itertools
import math
import multiprocessing
import random
from typing import Any, Iterator

import torch

from loom.errors import ConfigError

_WORKER_DATASET: Any = None


def _loader_setting(attribute: str, default: Any) -> property:
    """A read-write setting stored as ``attribute``, ``default`` for subclasses that skip ``PyDataset.__init__``."""
    return property(lambda self: getattr(self, attribute, default),
                    lambda self, value: setattr(self, attribute, value))


def num_batches_of(num_items: int, batch_size: int | None) -> int:
    """How many batches ``num_items`` make in batches of ``batch_size`` (``None``: one unbatched item each)."""
    return num_items if batch_size is None else math.ceil(num_items / batch_size)


def batch_slice(index: int, num_items: int, batch_size: int | None) -> slice:
    """The items of batch ``index`` of ``num_items`` cut into batches of ``batch_size`` (``None``: one item).

    Raises:
        IndexError: ``index`` is not a batch of the dataset.

    Example:
        >>> batch_slice(2, 5, batch_size=2)
        slice(4, 6, None)
    """
    count = num_batches_of(num_items, batch_size)
    if not 0 <= index < count:
        raise IndexError(f"batch index {index} out of range for a dataset of {count} batches.")
    size = batch_size or 1
    return slice(index * size, (index + 1) * size)


class PyDataset:
    """Base class for Python data sources that ``fit`` / ``evaluate`` / ``predict`` read batch by batch.

    Args:
        workers: Number of workers preparing batches ahead; 1 reads them in the calling thread. Defaults to `1`.
        use_multiprocessing: Use worker processes instead of threads (the dataset must be picklable where
            processes are spawned rather than forked). Defaults to `False`.
        max_queue_size: Most batches prepared ahead when ``workers > 1``. Defaults to `10`.

    Example:
        >>> class Ones(PyDataset):
        ...     def __len__(self):
        ...         return 2
        ...     def __getitem__(self, i):
        ...         return [1.0] * 3
        >>> Ones().num_batches
        2
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{type(self).__name__}: `{name}` must be a positive integer; got {value!r}.")
        self._workers = workers
        self._use_multiprocessing = bool(use_multiprocessing)
        self._max_queue_size = max_queue_size

    fit_shuffles_batches = True
    """Whether ``fit(shuffle=True)`` visits the batches in a random order (Keras's rule for a ``PyDataset``).
    loom's stand-ins for Keras's ``tf.data`` datasets (files, time series) set it ``False``: Keras's ``fit``
    never reorders a ``tf.data.Dataset``; they shuffle themselves when asked to."""

    workers = _loader_setting("_workers", 1)
    use_multiprocessing = _loader_setting("_use_multiprocessing", False)
    max_queue_size = _loader_setting("_max_queue_size", 10)

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__(index) returning a batch.")

    @property
    def num_batches(self) -> int | None:
        """Number of batches per epoch (``len(self)``), or ``None`` for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must implement __len__ or the `num_batches` property.")

    def on_epoch_begin(self) -> None:
        """Called before each pass over the data."""

    def on_epoch_end(self) -> None:
        """Called after each complete pass over the data (shuffle here)."""

    def __iter__(self) -> Iterator[Any]:
        return iterate_batches(self)


Sequence = PyDataset


def iterate_batches(dataset: PyDataset, shuffle: bool = False) -> Iterator[Any]:
    """One epoch of ``dataset``: ``on_epoch_begin``, every batch, then ``on_epoch_end``.

    Args:
        dataset: the dataset.
        shuffle: visit the batches in a fresh random order (torch's global generator), as Keras does for
            ``fit(..., shuffle=True)``; default False (index order). An endless dataset is never shuffled.

    An endless dataset (``num_batches`` ``None``) ends when ``__getitem__`` raises ``IndexError`` or
    ``StopIteration``; it is never shuffled.
    """
    dataset.on_epoch_begin()
    count = dataset.num_batches
    indices: Any = range(count) if count is not None else itertools.count()
    if shuffle and count is not None:
        indices = torch.randperm(count).tolist()
    if dataset.workers > 1 or dataset.use_multiprocessing:
        yield from _pooled(dataset, indices)
    else:
        for i in indices:
            try:
                item = dataset[i]
            except (IndexError, StopIteration):
                if count is None:
                    break
                raise
            yield item
    dataset.on_epoch_end()


def _pooled(dataset: PyDataset, indices: Any) -> Iterator[Any]:
    """Batches computed ahead by a pool, yielded in index order; the pool is shut down on exit."""
    if dataset.use_multiprocessing:
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        pool: futures.Executor = futures.ProcessPoolExecutor(dataset.workers, mp_context=context,
                                                             initializer=_set_worker_dataset, initargs=(dataset,))
        fetch: Any = _get_from_worker_dataset
    else:
        pool = futures.ThreadPoolExecutor(dataset.workers)
        fetch = dataset.__getitem__
    pending: collections.deque = collections.deque()
    endless = dataset.num_batches is None
    index_iter = iter(indices)
    try:
        for i in itertools.islice(index_iter, dataset.max_queue_size):
            pending.append(pool.submit(fetch, i))
        while pending:
            try:
                item = pending.popleft().result()
            except (IndexError, StopIteration):
                if endless:
                    return
                raise
            nxt = next(index_iter, None)
            if nxt is not None:
                pending.append(pool.submit(fetch, nxt))
            yield item
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _set_worker_dataset(dataset: PyDataset) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = dataset


def _get_from_worker_dataset(index: int) -> Any:
    return _WORKER_DATASET[index]
