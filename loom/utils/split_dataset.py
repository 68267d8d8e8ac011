"""``split_dataset``: one dataset split into two (left, right), as ``keras.utils.split_dataset`` on torch.

Arrays, tensors, tuples/lists of arrays and dicts of arrays are wrapped as a ``torch.utils.data.Dataset``
first; the two parts are ``torch.utils.data.Subset`` objects that ``fit`` takes directly. With ``shuffle`` the
split is ``torch.utils.data.random_split`` with a generator seeded by ``seed`` (Keras's exact split); without
it the left part is the first ``left_size`` samples and the right part the ``right_size`` samples after them.

Example:
    >>> import numpy as np
    >>> left, right = split_dataset(np.arange(10.0), left_size=0.8)
    >>> len(left), len(right), float(right[0][0])
    (8, 2, 8.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Subset, TensorDataset, random_split

from loom.errors import ConfigError, InputError

_NAME = "split_dataset"


class _DictDataset(Dataset):
    """Samples of a dict of equally long tensors, as dicts."""

    def __init__(self, tensors: dict[str, torch.Tensor]):
        self.tensors = tensors

    def __len__(self) -> int:
        return len(next(iter(self.tensors.values())))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {k: v[index] for k, v in self.tensors.items()}


def _as_tensor(value: Any) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    return torch.from_numpy(np.ascontiguousarray(np.asarray(value)))


def as_torch_dataset(dataset: Any) -> Dataset:
    """``dataset`` as a map-style torch ``Dataset`` (arrays, tuples/lists/dicts of arrays, or a Dataset)."""
    if isinstance(dataset, Dataset):
        return dataset
    if isinstance(dataset, dict):
        tensors = {k: _as_tensor(v) for k, v in dataset.items()}
        _same_length(list(tensors.values()))
        return _DictDataset(tensors)
    if isinstance(dataset, (list, tuple)):
        tensors = [_as_tensor(v) for v in dataset]
        _same_length(tensors)
        return TensorDataset(*tensors)
    if isinstance(dataset, (np.ndarray, torch.Tensor)):
        return TensorDataset(_as_tensor(dataset))
    raise InputError(f"{_NAME}: `dataset` must be an array, a tuple/list/dict of arrays, or a torch Dataset; got "
                     f"{type(dataset).__name__}.")


def _same_length(tensors: list[torch.Tensor]) -> None:
    lengths = [len(t) for t in tensors]
    if not lengths or len(set(lengths)) > 1:
        raise InputError(f"{_NAME}: the arrays of `dataset` must have the same (non-zero) number of samples; got "
                         f"{lengths}.")


def split_sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    """Keras's rules: ints are counts in ``(0, total)``, floats fractions in ``(0, 1)``; one may be ``None``."""
    if left_size is None and right_size is None:
        raise ConfigError(f"{_NAME}: give at least one of `left_size` and `right_size`.")
    sizes = []
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is None:
            sizes.append(None)
        elif isinstance(size, bool) or not isinstance(size, (int, float)):
            raise ConfigError(f"{_NAME}: `{name}` must be an int, a float or None; got {type(size).__name__}.")
        elif isinstance(size, int):
            if not 0 < size < total:
                raise ConfigError(f"{_NAME}: `{name}` must be a positive integer smaller than {total} (the dataset "
                                  f"length) or a float in (0, 1); got {size}.")
            sizes.append(size)
        else:
            if not 0 < size < 1:
                raise ConfigError(f"{_NAME}: `{name}` must be a float in (0, 1) or a positive integer smaller than "
                                  f"{total}; got {size}.")
            sizes.append(round(size * total))
    left, right = sizes
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ConfigError(f"{_NAME}: left_size + right_size is {left + right}, more than the dataset length {total}.")
    if left == 0 or right == 0:
        raise ConfigError(f"{_NAME}: with a dataset of length {total}, left_size={left_size} and "
                          f"right_size={right_size} leave one side empty.")
    return int(left), int(right)


def split_dataset(dataset: Any, left_size: int | float | None = None, right_size: int | float | None = None,
                  shuffle: bool = False, seed: int | None = None,
                  preferred_backend: str | None = None) -> tuple[Subset, Subset]:
    """Splits a dataset into a left and a right part.

    Args:
        dataset: An array or tensor, a tuple/list/dict of arrays (same length), or a map-style torch Dataset.
        left_size: Samples (int) or fraction (float) in the left part. Defaults to `None`: the rest.
        right_size: Samples (int) or fraction (float) in the right part. Defaults to `None`: the rest.
        shuffle: Shuffle the samples before splitting. Defaults to `False`.
        seed: Seed of the shuffle. Defaults to `None`: random.
        preferred_backend: Accepted for compatibility; only ``None`` or ``"torch"``. Defaults to `None`.

    Returns:
        ``(left, right)`` torch ``Subset`` objects.

    Raises:
        ConfigError: invalid sizes (the message gives the dataset length).
        InputError: an unsupported dataset or arrays of different lengths.
    """
    if preferred_backend not in (None, "torch"):
        raise ConfigError(f"{_NAME}: loom returns torch datasets; preferred_backend must be None or 'torch', got "
                          f"{preferred_backend!r}.")
    data = as_torch_dataset(dataset)
    total = len(data)
    left, right = split_sizes(left_size, right_size, total)
    if shuffle:
        generator = torch.Generator()
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(seed)
        parts = random_split(data, [left, right, total - left - right], generator=generator)
        return parts[0], parts[1]
    return Subset(data, range(left)), Subset(data, range(left, left + right))
