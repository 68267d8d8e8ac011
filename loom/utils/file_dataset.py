"""``FileDataset``: labelled files read from disk one batch at a time, the object ``*_dataset_from_directory`` return.

Only the list of paths lives in memory; ``dataset[i]`` reads the files of batch ``i``. With ``shuffle`` the order
of the files is drawn again (from a seeded torch generator) at the end of every pass, as Keras reshuffles its
datasets each iteration. The object is a :class:`~loom.utils.PyDataset`, so ``fit`` / ``evaluate`` /
``predict`` take it directly (with ``workers`` threads reading ahead), and iterating it yields batches.

Example:
    >>> ds = FileDataset(["a", "b", "c"], np.array([0, 1, 0], "int32"), "int", ["x", "y"], batch_size=2,
    ...                  shuffle=False, seed=None, load=lambda paths: torch.zeros(len(paths), 1))
    >>> len(ds), [tuple(y.tolist()) for _, y in ds], ds.class_names
    (2, [(0, 1), (0,)], ['x', 'y'])
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from loom.utils.py_dataset import PyDataset, batch_slice, num_batches_of


def encode_labels(labels: np.ndarray, label_mode: str, num_classes: int) -> torch.Tensor:
    """Keras's label encodings: ``int`` -> int32 ``(n,)``, ``categorical`` -> float32 one-hot, ``binary`` -> float32 ``(n, 1)``."""
    ints = torch.from_numpy(np.asarray(labels, dtype="int64"))
    if label_mode == "categorical":
        return torch.nn.functional.one_hot(ints, num_classes).to(torch.float32)
    if label_mode == "binary":
        return ints.to(torch.float32).unsqueeze(-1)
    return ints.to(torch.int32)


class FileDataset(PyDataset):
    """Batches of files (and labels) read on demand.

    Args:
        paths: The file paths, in dataset order.
        labels: One integer label per file, or ``None``.
        label_mode: ``"int"``, ``"categorical"``, ``"binary"`` or ``None`` (no labels yielded).
        class_names: The class names (label ``i`` is ``class_names[i]``), or ``None``.
        batch_size: Files per batch; ``None`` yields single samples.
        shuffle: Draw a new file order after each pass.
        seed: Seed of those draws (``None``: a random one).
        load: ``load(paths) -> x`` reading one batch of files.
        workers: Threads reading batches ahead during ``fit``. Defaults to `1`.

    Example:
        >>> ds = FileDataset(["a"], None, None, None, 1, False, None, lambda p: torch.ones(len(p)))
        >>> next(iter(ds)).tolist()
        [1.0]
    """

    fit_shuffles_batches = False  # a tf.data dataset in Keras: fit keeps its order

    def __init__(self, paths: list[str], labels: np.ndarray | None, label_mode: str | None,
                 class_names: list[str] | None, batch_size: int | None, shuffle: bool, seed: int | None,
                 load: Callable[[list[str]], Any], workers: int = 1):
        super().__init__(workers=workers)
        self.file_paths = list(paths)
        self.class_names = class_names
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._load = load
        self._labels = None
        if labels is not None and label_mode is not None:
            self._labels = encode_labels(labels, label_mode, len(class_names or []) or int(labels.max()) + 1)
        self._order = torch.arange(len(self.file_paths))
        self._generator = torch.Generator().manual_seed(int(np.random.randint(1e6) if seed is None else seed))
        self._maps: list[Callable] = []
        self._limit: int | None = None
        if shuffle:
            self._reshuffle()

    def __len__(self) -> int:
        count = num_batches_of(len(self.file_paths), self.batch_size)
        return count if self._limit is None else min(count, self._limit)

    def __getitem__(self, index: int) -> Any:
        rows = self._order[batch_slice(index, len(self.file_paths), self.batch_size)]
        x = self._load([self.file_paths[i] for i in rows.tolist()])
        item = x if self._labels is None else (x, self._labels[rows])
        if self.batch_size is None:
            item = _first(item)
        for fn in self._maps:
            item = fn(*item) if isinstance(item, tuple) else fn(item)
        return item

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._reshuffle()

    def _reshuffle(self) -> None:
        self._order = torch.randperm(len(self.file_paths), generator=self._generator)

    def map(self, fn: Callable, num_parallel_calls: int | None = None,
            deterministic: bool | None = None) -> "FileDataset":
        """A dataset whose batches are ``fn(x, y)`` (or ``fn(x)`` without labels), as ``tf.data``'s ``map``.

        Args:
            fn: The function applied to each batch.
            num_parallel_calls: Accepted for ``tf.data`` programs (``AUTOTUNE``) and ignored: ``fn`` runs in
                the threads that read the batch (``workers``). Defaults to `None`.
            deterministic: Accepted and ignored; batches always come out in order. Defaults to `None`.
        """
        return self._clone(_maps=self._maps + [fn])

    def prefetch(self, buffer_size: int | None = None) -> "FileDataset":
        """This dataset, for ``tf.data`` programs: ``fit`` already reads batches ahead with ``workers`` threads.

        Args:
            buffer_size: Accepted and ignored (``AUTOTUNE`` or a count). Defaults to `None`.
        """
        return self

    def take(self, count: int) -> "FileDataset":
        """A dataset of the first ``count`` batches (all of them when ``count`` is ``-1``), as ``tf.data``'s ``take``.

        Args:
            count: How many batches to keep; ``-1`` keeps all.
        """
        if count < 0:
            return self._clone()
        return self._clone(_limit=count if self._limit is None else min(count, self._limit))

    def _clone(self, **changes: Any) -> "FileDataset":
        """A shallow copy sharing the files and order, with some attributes changed."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.__dict__.update(changes)
        return clone


def _first(item: Any) -> Any:
    """A batch of one as a single sample."""
    if isinstance(item, tuple):
        return tuple(_first(v) for v in item)
    if isinstance(item, list):
        return item[0]
    return item[0]
