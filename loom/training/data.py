"""Data adapters: everything ``fit`` / ``evaluate`` / ``predict`` accept, turned into batches of flat tensors.

A batch is ``(xs, ys, sws)``: lists of tensors in the model's input order, output order, and the per-output
sample weights (``ys`` / ``sws`` are ``None`` when absent). Two sources make them:

* :class:`ArrayData` for in-memory data (NumPy arrays, torch tensors, nested lists; a single array, a list, or
  a dict keyed by input / output names). Everything is validated, converted and moved to the device **once**;
  an epoch permutes the whole dataset with one ``index_select`` per tensor and hands out contiguous slices
  (views) as batches, so a step costs no copy, no conversion and no host work.
* :class:`IterableData` for a ``torch.utils.data.Dataset`` (batched with a ``DataLoader``), a ``DataLoader``,
  a Keras-style ``Sequence`` (``__len__`` + ``__getitem__`` returning batches), or a Python generator /
  iterator. Each element is ``x``, ``(x, y)`` or ``(x, y, sample_weight)``; the first batch is validated, later
  ones are converted and moved to the device as they come.

:class:`EpochIterator` adds Keras's ``steps_per_epoch`` rules on top of either source.

Example:
    >>> import numpy as np
    >>> data = ArrayData.from_arrays(np.zeros((10, 3)), np.ones(10), input_names=["x"], output_names=["y"])
    >>> [xs[0].shape[0] for xs, ys, sws in data.batches(batch_size=4, shuffle=False)]
    [4, 4, 2]
    >>> train, val = data.split(0.2)
    >>> train.num_samples, val.num_samples
    (8, 2)
"""

from __future__ import annotations

import math
import types
import warnings
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch

from loom import backend
from loom.errors import ConfigError, InputError
from loom.utils.py_dataset import PyDataset, iterate_batches

Batch = tuple  # (xs: list[Tensor], ys: list[Tensor] | None, sws: list[Tensor | None] | None)


def unpack_x_y_sample_weight(data: Any) -> tuple[Any, Any, Any]:
    """``x`` / ``(x,)`` / ``(x, y)`` / ``(x, y, sample_weight)`` -> ``(x, y, sample_weight)``, as Keras."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data
    raise InputError(f"Data should be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(data)} "
                     f"elements.")


def is_array_like(value: Any) -> bool:
    """A NumPy array, torch tensor, pandas object or number list (one array, as opposed to a structure)."""
    if isinstance(value, (np.ndarray, torch.Tensor, np.generic)):
        return True
    if hasattr(value, "__array__") and not isinstance(value, (dict, list, tuple)):
        return True
    if isinstance(value, (list, tuple)) and value:
        first = value[0]
        return isinstance(first, (int, float, np.number)) or (
            isinstance(first, (list, tuple)) and bool(first) and isinstance(first[0], (int, float, np.number, list)))
    return False


def flatten_named(value: Any, names: Sequence[str] | None, what: str) -> list[Any]:
    """``value`` (one array, a list, or a dict keyed by ``names``) as a list in ``names`` order.

    Args:
        value: the data.
        names: the expected names (model input or output names); ``None`` when unknown (subclassed models).
        what: ``'x'``, ``'y'`` or ``'sample_weight'``, for messages.

    An ``x`` dict may hold extra keys (ignored with a warning, as Keras); ``y`` and ``sample_weight`` may not.

    Raises:
        InputError: missing dict keys, unknown ``y`` / ``sample_weight`` keys (the message lists the expected
            names), or a wrong count.
    """
    if isinstance(value, dict):
        if names is None:
            return [value[k] for k in sorted(value)]
        missing = [k for k in names if k not in value]
        unknown = [k for k in value if k not in names]
        if unknown and not missing and what == "x":
            warn_unused_input_keys(unknown, names)
        elif missing or (unknown and len(value) > len(names) - len(missing)):
            raise InputError(f"`{what}` is a dict with keys {sorted(value)}, but the model expects the keys "
                             f"{list(names)}" + (f"; missing {missing}" if missing else "")
                             + (f"; unknown {unknown}" if unknown else "") + ".")
        return [value[k] for k in names]
    if isinstance(value, (list, tuple)) and not is_array_like(value):
        flat = list(value)
        if names is not None and len(flat) != len(names):
            if len(names) == 1:
                raise InputError(f"The model has one {_role(what)} {list(names)}, but `{what}` is a list of "
                                 f"{len(flat)} arrays. Pass a single array.")
            raise InputError(f"The model has {len(names)} {_role(what)}s {list(names)}, but `{what}` is a list of "
                             f"{len(flat)} arrays. Pass one array per {_role(what)}, or a dict keyed by these names.")
        return flat
    if names is not None and len(names) > 1 and value is not None:
        raise InputError(f"The model has {len(names)} {_role(what)}s {list(names)}, but `{what}` is a single "
                         f"{type(value).__name__}. Pass a list of {len(names)} arrays or a dict keyed by these names.")
    return [value]


def warn_unused_input_keys(unknown: Sequence[str], names: Sequence[str]) -> None:
    """Warn that input-dict keys matching no model input are ignored (Keras accepts such dicts, e.g. a table's
    columns that include the target, with a warning)."""
    warnings.warn(f"The input dict has keys {list(unknown)} that match no model input {list(names)}; they are "
                  f"ignored.", stacklevel=4)


def _role(what: str) -> str:
    return "input" if what.startswith("x") else "output"


def as_tensor(value: Any, name: str) -> torch.Tensor:
    """An array-like as a tensor (NumPy float64 becomes float32, as Keras)."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        return backend.to_tensor(value)
    except (TypeError, ValueError) as e:
        raise InputError(f"`{name}` could not be converted to a tensor ({type(value).__name__}): {e}") from e


def check_cardinality(groups: dict[str, list[torch.Tensor | None]]) -> int:
    """The common number of samples of every tensor in ``groups`` ({'x': [...], 'y': [...], ...}).

    Raises:
        InputError: the counts differ; the message gives each group's counts.
    """
    counts = {k: [int(t.shape[0]) if t.dim() else 1 for t in ts if t is not None] for k, ts in groups.items()}
    distinct = {c for cs in counts.values() for c in cs}
    if len(distinct) > 1:
        detail = "; ".join(f"{k} has {', '.join(map(str, cs))} samples" for k, cs in counts.items() if cs)
        raise InputError(f"Data cardinality is ambiguous: {detail}. Make sure all arrays contain the same number "
                         f"of samples.")
    if not distinct:
        raise InputError("No data given: `x` is empty.")
    return distinct.pop()


class ArrayData:
    """In-memory data as flat tensor lists, all with the same number of samples.

    Build it with :meth:`from_arrays`; the trainer then converts the tensors for the model (dtypes, device)
    with :meth:`map_tensors` once per ``fit``.
    """

    def __init__(self, xs: list[torch.Tensor], ys: list[torch.Tensor] | None,
                 sws: list[torch.Tensor | None] | None, num_samples: int, originals: Any = None):
        self.xs = xs
        self.ys = ys
        self.sws = sws
        self.num_samples = num_samples
        self.originals = originals

    @classmethod
    def from_arrays(cls, x: Any, y: Any = None, sample_weight: Any = None, *,
                    input_names: Sequence[str] | None = None,
                    output_names: Sequence[str] | None = None) -> "ArrayData":
        """Validate and convert ``x`` / ``y`` / ``sample_weight`` (arrays, lists of arrays, or name-keyed dicts).

        A single ``sample_weight`` array for a multi-output model weights every output, as Keras.
        """
        xs = [as_tensor(v, f"x[{i}]") for i, v in enumerate(flatten_named(x, input_names, "x"))]
        ys = None if y is None else [as_tensor(v, f"y[{i}]") for i, v in enumerate(flatten_named(y, output_names, "y"))]
        sws = None
        if sample_weight is not None:
            if ys is None:
                raise InputError("`sample_weight` was given without targets `y`.")
            if isinstance(sample_weight, (list, tuple, dict)) and not is_array_like(sample_weight):
                sws = [None if v is None else as_tensor(v, "sample_weight")
                       for v in flatten_named(sample_weight, output_names, "sample_weight")]
            else:
                sw = as_tensor(sample_weight, "sample_weight")
                if len(ys) > 1 and not (sw.dim() == 1 or (sw.dim() == 2 and sw.shape[1] == 1)):
                    raise InputError(f"For a model with {len(ys)} outputs, a single `sample_weight` array must hold one "
                                     f"weight per sample (shape (n,)); got shape {tuple(sw.shape)}. Pass one array "
                                     f"per output for per-timestep weights.")
                sws = [sw] * len(ys)
            sws = [None if w is None else (w.float() if not w.dtype.is_floating_point else w) for w in sws]
        n = check_cardinality({"x": xs, "y": ys or [], "sample_weight": sws or []})
        return cls(xs, ys, sws, n, originals=(x, y, sample_weight))

    def map_tensors(self, fx: Callable | None = None, fy: Callable | None = None,
                    device: torch.device | None = None) -> "ArrayData":
        """A copy with ``fx(i, x)`` / ``fy(i, y)`` applied (dtype conversion, checks) and moved to ``device``."""
        def move(t):
            return t if t is None or device is None or t.device == device else t.to(device)
        xs = [move(fx(i, t) if fx else t) for i, t in enumerate(self.xs)]
        ys = None if self.ys is None else [move(fy(i, t) if fy else t) for i, t in enumerate(self.ys)]
        sws = None if self.sws is None else [move(w) for w in self.sws]
        return ArrayData(xs, ys, sws, self.num_samples, self.originals)

    def split(self, validation_split: float) -> tuple["ArrayData", "ArrayData"]:
        """``(train, validation)``: the validation part is the LAST ``validation_split`` fraction, as Keras.

        Raises:
            ConfigError: the fraction is outside (0, 1) or leaves one side empty.
        """
        if not 0 < validation_split < 1:
            raise ConfigError(f"validation_split must be between 0 and 1 (exclusive); got {validation_split}.")
        n = self.num_samples
        split_at = int(math.floor(n * (1.0 - validation_split)))
        if split_at == 0 or split_at == n:
            raise ConfigError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                              f"validation and training set as specified by validation_split={validation_split}.")

        def part(ts, start, stop):
            return None if ts is None else [None if t is None else t[start:stop] for t in ts]
        train = ArrayData(part(self.xs, 0, split_at), part(self.ys, 0, split_at), part(self.sws, 0, split_at),
                          split_at)
        val = ArrayData(part(self.xs, split_at, n), part(self.ys, split_at, n), part(self.sws, split_at, n),
                        n - split_at)
        return train, val

    def as_tuple(self) -> tuple:
        """``(x, y)`` or ``(x, y, sample_weight)`` with single tensors unwrapped (for ``validation_data``)."""
        def unwrap(ts):
            return None if ts is None else (ts[0] if len(ts) == 1 else list(ts))
        if self.sws is None:
            return unwrap(self.xs), unwrap(self.ys)
        return unwrap(self.xs), unwrap(self.ys), unwrap(self.sws)

    def num_batches(self, batch_size: int) -> int:
        return int(math.ceil(self.num_samples / batch_size))

    def batches(self, batch_size: int, shuffle: bool) -> Iterator[Batch]:
        """One pass over the data; with ``shuffle`` a fresh permutation (torch's global generator)."""
        xs, ys, sws = self.xs, self.ys or [], self.sws or []
        tensors = xs + ys + [w for w in sws if w is not None]
        if shuffle:
            perm = torch.randperm(self.num_samples)
            perm = perm.to(tensors[0].device)
            tensors = [t.index_select(0, perm) for t in tensors]
        splits = [t.split(batch_size) for t in tensors]
        nx, ny = len(xs), len(ys)
        sw_slots = [None if w is None else i for i, w in enumerate(sws)]
        has_y, has_sw = self.ys is not None, self.sws is not None
        for parts in zip(*splits):
            batch_x = list(parts[:nx])
            batch_y = list(parts[nx:nx + ny]) if has_y else None
            if has_sw:
                weights = parts[nx + ny:]
                batch_sw = [None if s is None else weights[k] for k, s in enumerate(_compact(sw_slots))]
            else:
                batch_sw = None
            yield batch_x, batch_y, batch_sw


def _compact(slots: list) -> list:
    """[None, 3, None, 5] -> [None, 0, None, 1]: positions of the present weights among the present ones."""
    out, k = [], 0
    for s in slots:
        if s is None:
            out.append(None)
        else:
            out.append(k)
            k += 1
    return out


class IterableData:
    """Batches from a DataLoader, a torch Dataset, a Keras-style Sequence, or a generator / iterator.

    Args:
        source: the data object.
        batch_size: batch size for a ``torch.utils.data.Dataset`` (default 32); must be ``None`` otherwise.
        shuffle: shuffle a ``Dataset``'s samples, or the order of a ``PyDataset``'s / ``Sequence``'s batches, each
            epoch (default ``False``; a ``PyDataset`` standing in for a tf.data pipeline keeps its order, as
            Keras never reorders those); ignored for other sources.
        convert: ``convert(x, y, sw) -> (xs, ys, sws)`` turning one raw batch into flat tensors on the device.
    """

    def __init__(self, source: Any, batch_size: int | None, shuffle: bool, convert: Callable):
        from torch.utils.data import DataLoader, Dataset, IterableDataset
        self.convert = convert
        self.checked = False
        if isinstance(source, Dataset) and not isinstance(source, IterableDataset):
            source = DataLoader(source, batch_size=batch_size or 32, shuffle=bool(shuffle))
        elif isinstance(source, IterableDataset):
            source = DataLoader(source, batch_size=batch_size or 32)
        self.source = source
        self._is_py_dataset = isinstance(source, PyDataset)
        self.num_batches_hint = source.num_batches if self._is_py_dataset else _length(source)
        self._is_sequence = is_sequence(source)
        self._pending: tuple | None = None

    def peek(self) -> Any:
        """The first raw element (for building and validating before the loop), or ``None`` when empty.

        For iterators and DataLoaders the element is not lost: the next pass starts with it.
        """
        if self._is_sequence:
            return self.source[0] if self.num_batches_hint != 0 else None
        if self._pending is not None:
            return self._pending[0]
        iterator = iter(self.source)
        try:
            first = next(iterator)
        except StopIteration:
            return None
        self._pending = (first, iterator)
        return first

    def batches(self, batch_size: int | None = None, shuffle: bool = False) -> Iterator[Batch]:
        if self._is_py_dataset:
            shuffle = shuffle and self.source.fit_shuffles_batches
            raw: Any = iterate_batches(self.source, shuffle)  # workers, on_epoch_begin / on_epoch_end
        elif self._is_sequence:
            order = torch.randperm(len(self.source)).tolist() if shuffle else range(len(self.source))
            raw = (self.source[i] for i in order)
        elif self._pending is not None:
            first, rest = self._pending
            self._pending = None
            raw = _chain(first, rest)
        else:
            raw = iter(self.source)
        for item in raw:
            yield self.convert(*unpack_x_y_sample_weight(item))
        if self._is_sequence and not self._is_py_dataset and hasattr(self.source, "on_epoch_end"):
            self.source.on_epoch_end()

    def num_batches(self, batch_size: int | None = None) -> int | None:
        return self.num_batches_hint


def _chain(first: Any, rest: Iterator) -> Iterator:
    yield first
    yield from rest


def _length(source: Any) -> int | None:
    try:
        return len(source)
    except TypeError:
        return None


def is_sequence(source: Any) -> bool:
    """A Keras-style ``Sequence`` / ``PyDataset``: indexable batches with a length, not an array or Dataset."""
    from torch.utils.data import DataLoader, Dataset
    if isinstance(source, PyDataset):
        return True
    if isinstance(source, (Dataset, DataLoader, np.ndarray, torch.Tensor, list, tuple, dict, str)):
        return False
    return hasattr(source, "__getitem__") and hasattr(source, "__len__") and not hasattr(source, "__array__")


def is_iterable_source(x: Any) -> bool:
    """Whether ``x`` is a batch source (DataLoader, Dataset, Sequence, generator) rather than arrays."""
    from torch.utils.data import DataLoader, Dataset
    if isinstance(x, (DataLoader, Dataset, types.GeneratorType, Iterator)):
        return True
    return is_sequence(x)


class EpochIterator:
    """Batches per epoch from a source, with Keras's ``steps_per_epoch`` rules.

    Without ``steps_per_epoch`` every epoch is one full pass. With it, one iterator continues across epochs
    and a new pass starts when the data runs out (for in-memory data, the epoch ends early at that point).
    A pass that yields nothing at all means the data is exhausted (a used-up generator): :attr:`exhausted`
    becomes true and a warning is issued.

    Args:
        source: an :class:`ArrayData` or :class:`IterableData`.
        batch_size: the batch size for in-memory data.
        shuffle: reshuffle in-memory data every pass.
        steps_per_epoch: batches per epoch (default ``None``: one full pass).
    """

    def __init__(self, source: Any, batch_size: int | None, shuffle: bool, steps_per_epoch: int | None = None):
        self.source = source
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.steps_per_epoch = steps_per_epoch
        self._iterator: Iterator | None = None
        self.exhausted = False
        full = source.num_batches(batch_size)
        self.steps = steps_per_epoch or full

    def __iter__(self) -> Iterator[Batch]:
        if self.steps_per_epoch is None:
            yield from self._fresh_pass()
            return
        produced = 0
        while produced < self.steps_per_epoch:
            if self._iterator is None:
                self._iterator = self.source.batches(self.batch_size, self.shuffle)
                fresh = True
            else:
                fresh = False
            try:
                batch = next(self._iterator)
            except StopIteration:
                self._iterator = None
                if fresh or produced:
                    self._warn_ran_out(fresh)
                    return
                continue
            produced += 1
            yield batch

    def _fresh_pass(self) -> Iterator[Batch]:
        count = 0
        for batch in self.source.batches(self.batch_size, self.shuffle):
            count += 1
            yield batch
        if count == 0:
            self._warn_ran_out(True)

    def _warn_ran_out(self, empty: bool) -> None:
        if empty:
            self.exhausted = True
        warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or "
                      "generator can generate at least `steps_per_epoch * epochs` batches.", stacklevel=3)
