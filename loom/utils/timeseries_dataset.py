"""``timeseries_dataset_from_array``: sliding windows over an array, batch by batch, as Keras's function.

Windows are gathered per batch (index arithmetic on one tensor), so a long series costs no copy per window.

Example:
    >>> import numpy as np
    >>> ds = timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, sequence_stride=3, batch_size=2)
    >>> [b.tolist() for b in ds]
    [[[0, 1, 2], [3, 4, 5]], [[6, 7, 8]]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.errors import ConfigError, InputError
from loom.utils.py_dataset import PyDataset, batch_slice, num_batches_of

_NAME = "timeseries_dataset_from_array"


class TimeseriesDataset(PyDataset):
    """Batches of windows ``data[start + i * sampling_rate]`` (and targets ``targets[start]``).

    Built by :func:`timeseries_dataset_from_array`; see its arguments.

    Example:
        >>> ds = TimeseriesDataset(torch.arange(5), torch.arange(5) * 10, np.arange(3), 2, 1, 2, False, 0)
        >>> x, y = ds[0]
        >>> x.tolist(), y.tolist()
        ([[0, 1], [1, 2]], [0, 10])
    """

    fit_shuffles_batches = False  # a tf.data dataset in Keras: fit keeps its order

    def __init__(self, data: torch.Tensor, targets: torch.Tensor | None, start_positions: np.ndarray,
                 sequence_length: int, sampling_rate: int, batch_size: int | None, shuffle: bool, seed: int):
        super().__init__()
        self.data, self.targets = data, targets
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.RandomState(seed)
        self._positions = torch.from_numpy(np.asarray(start_positions, dtype=np.int64))
        if shuffle:
            self._shuffle_positions()
        self._offsets = torch.arange(sequence_length, dtype=torch.int64) * sampling_rate

    def __len__(self) -> int:
        return num_batches_of(len(self._positions), self.batch_size)

    def __getitem__(self, index: int) -> Any:
        starts = self._positions[batch_slice(index, len(self._positions), self.batch_size)]
        windows = self.data[starts[:, None] + self._offsets]
        item = windows if self.targets is None else (windows, self.targets[starts])
        if self.batch_size is None:
            item = tuple(v[0] for v in item) if isinstance(item, tuple) else item[0]
        return item

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._shuffle_positions()

    def _shuffle_positions(self) -> None:
        order = np.arange(len(self._positions))
        self._rng.shuffle(order)
        self._positions = self._positions[torch.from_numpy(order)]


def timeseries_dataset_from_array(
    data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1, sampling_rate: int = 1,
    batch_size: int | None = 128, shuffle: bool = False, seed: int | None = None, start_index: int | None = None,
    end_index: int | None = None, format: str = "tf",
) -> TimeseriesDataset:
    """A dataset of sliding windows over ``data`` (timesteps on axis 0), with Keras's arguments and results.

    Window ``i`` holds the ``sequence_length`` timesteps ``data[s], data[s + sampling_rate], ...`` with
    ``s = start_index + i * sequence_stride``; its target is ``targets[s]``.

    Args:
        data: Array or tensor, timesteps on the first axis (dtype kept).
        targets: Targets aligned with ``data`` (``targets[s]`` goes with the window starting at ``s``), or
            ``None``.
        sequence_length: Timesteps per window.
        sequence_stride: Offset between the starts of consecutive windows. Defaults to `1`.
        sampling_rate: Offset between consecutive timesteps within a window. Defaults to `1`.
        batch_size: Windows per batch; ``None`` yields single windows. Defaults to `128`.
        shuffle: Shuffle the windows (again after every pass). Defaults to `False`.
        seed: Seed of the shuffle. Defaults to `None`.
        start_index: First timestep used. Defaults to `None`: 0.
        end_index: Timesteps from this index on are not used. Defaults to `None`: ``len(data)``.
        format: Accepted for compatibility (``"tf"`` or ``"grain"``). Defaults to `"tf"`.

    Returns:
        A :class:`TimeseriesDataset` yielding ``windows`` or ``(windows, targets)`` tensors.

    Raises:
        ConfigError: an index, stride or rate out of range (the message gives the value and the data length).
        InputError: ``data`` cannot be converted to a tensor.

    Example:
        >>> x, y = next(iter(timeseries_dataset_from_array(np.arange(6.0), np.arange(6), 2, batch_size=4)))
        >>> tuple(x.shape), y.tolist()
        ((4, 2), [0, 1, 2, 3])
    """
    data_t, targets_t = _tensor(data, "data"), None if targets is None else _tensor(targets, "targets")
    n = len(data_t)
    _check(n, sequence_stride, sampling_rate, start_index, end_index, batch_size, format)
    start = start_index or 0
    end = n if end_index is None else end_index
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets_t is not None:
        num_seqs = min(num_seqs, len(targets_t))
        targets_t = targets_t[start:end]
    positions = np.arange(0, max(num_seqs, 0), sequence_stride)
    seed = np.random.randint(1e6) if seed is None else seed
    return TimeseriesDataset(data_t[start:end], targets_t, positions, sequence_length, sampling_rate, batch_size,
                             shuffle, seed)


def _tensor(value: Any, name: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.from_numpy(np.ascontiguousarray(np.asarray(value)))
    except TypeError as e:
        raise InputError(f"{_NAME}: `{name}` could not be converted to a tensor: {e}.") from e


def _check(n: int, stride: int, rate: int, start: int | None, end: int | None, batch_size: int | None,
           fmt: str) -> None:
    problems = []
    if start is not None and not 0 <= start < n:
        problems.append(f"`start_index` must be in [0, {n}) for data of length {n}; got {start}")
    if end is not None and not (0 < end < n and (not start or end > start)):
        problems.append(f"`end_index` must be higher than 0 and start_index, and lower than the data length {n}; "
                        f"got {end}")
    if not 0 < rate < n:
        problems.append(f"`sampling_rate` must be in [1, {n}) for data of length {n}; got {rate}")
    if not 0 < stride < n:
        problems.append(f"`sequence_stride` must be in [1, {n}) for data of length {n}; got {stride}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        problems.append(f"`batch_size` must be a positive integer or None; got {batch_size!r}")
    if fmt not in ("tf", "grain"):
        problems.append(f"`format` must be 'tf' or 'grain'; got {fmt!r}")
    if problems:
        raise ConfigError(f"{_NAME}: " + "; ".join(problems) + ".")
