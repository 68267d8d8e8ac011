"""``Hashing``: strings or integers to one of ``num_bins`` bins by FarmHash (or salted SipHash), as Keras."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.errors import ConfigError, InputError
from loom.layers.layer import Layer
from loom.layers.preprocessing.encoding import encode_ids
from loom.layers.preprocessing.string_hash import fingerprint64, siphash64
from loom.layers.preprocessing.string_lookup import is_symbolic_call, needs_values

_MODES = ("int", "one_hot", "multi_hot", "count")


def hash_keys(values: Any, encoding: str = "utf-8") -> tuple[list[bytes], tuple[int, ...]]:
    """``values`` (strings, ints, or floats truncated to ints) as the byte strings TensorFlow hashes, and their
    shape: integers hash as their decimal text."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.dtype.kind == "f":
        array = array.astype(np.int64)
    if array.dtype.kind in "iub":
        return [str(int(v)).encode() for v in array.reshape(-1)], array.shape
    flat = array.astype(object).reshape(-1)
    keys = []
    for v in flat:
        if isinstance(v, (str, np.str_)):
            keys.append(str(v).encode(encoding))
        elif isinstance(v, bytes):
            keys.append(v)
        elif isinstance(v, (int, np.integer)):
            keys.append(str(int(v)).encode())
        else:
            raise InputError(f"Hashing takes strings or integers; got {type(v).__name__} {v!r}.")
    return keys, array.shape


class Hashing(Layer):
    """Hash each input into ``[0, num_bins)`` (``[1, num_bins)`` when a ``mask_value`` takes bin 0).

    Strings hash by FarmHash Fingerprint64 of their UTF-8 bytes, integers by that of their decimal text, so
    bins equal Keras's (TensorFlow's ``to_hash_bucket_fast``); with a ``salt``, by SipHash-2-4 keyed by it.

    Args:
        num_bins: the number of bins, mask bin included (required, > 0).
        mask_value: a value mapped to bin 0 (default ``None``: no mask); other values hash into
            ``[1, num_bins)``.
        salt: an int or two ints keying SipHash instead of FarmHash (default ``None``).
        output_mode: ``'int'`` (default), ``'one_hot'``, ``'multi_hot'`` or ``'count'``.
        sparse: unsupported; must stay ``False`` (default ``False``).
        **kwargs: base layer arguments; ``dtype`` defaults to ``'int64'`` with ``'int'`` (which takes only
            ``'int32'`` or ``'int64'``), else ``'float32'``.

    Input shape:
        Any shape of strings or integers (floats are truncated to integers), e.g. ``(batch, 1)``. Strings have no
        torch tensor, so string data is hashed eagerly (Python lists / NumPy arrays); integer model inputs
        (``Input(dtype="int64")``) are hashed inside the graph, as in Keras.

    Output shape:
        ``'int'``: the input's shape. ``'one_hot'``: the input's shape plus ``num_bins`` (a trailing axis of
        size 1 is replaced). ``'multi_hot'`` / ``'count'``: ``(batch, num_bins)`` for ``(batch, values)``;
        ``(num_bins,)`` for a 1D input (one sample).

    Returns:
        The bin of each value (``'int'``), or the bins encoded as float vectors.

    Raises:
        ConfigError: a non-positive ``num_bins``, an unknown ``output_mode``, a non-integer dtype with
            ``'int'``, ``sparse=True``, or a ``salt`` that is not an int or a pair of ints.
        InputError: values that are neither strings nor numbers.

    Example:
        >>> import loom
        >>> loom.layers.Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
        [[1], [0], [1], [1], [2]]
        >>> loom.layers.Hashing(num_bins=3, mask_value="")([["A"], [""], ["B"]]).tolist()
        [[1], [0], [1]]
    """

    _casts_int_inputs = False

    def __init__(self, num_bins: int, mask_value: Any = None, salt: Any = None, output_mode: str = "int",
                 sparse: bool = False, **kwargs: Any):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else "float32"
        super().__init__(**kwargs)
        where = f"Hashing '{self.name}'"
        if num_bins is None or num_bins <= 0:
            raise ConfigError(f"{where}: num_bins must be a positive int; got {num_bins}.")
        if output_mode not in _MODES:
            raise ConfigError(f"{where}: output_mode must be one of {_MODES}; got {output_mode!r}.")
        if output_mode == "int" and self._dtype not in (torch.int32, torch.int64):
            raise ConfigError(f"{where}: with output_mode='int' the dtype must be 'int32' or 'int64'; got "
                              f"{self.dtype!r}.")
        if sparse:
            raise ConfigError(f"{where}: sparse=True is not supported by loom; use sparse=False.")
        if salt is not None and not (isinstance(salt, int) or isinstance(salt, (list, tuple)) and len(salt) == 2):
            raise ConfigError(f"{where}: salt must be an int or a pair of ints; got {salt!r}.")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.salt = None if salt is None else [salt, salt] if isinstance(salt, int) else [int(s) for s in salt]
        self.output_mode = output_mode
        self.sparse = sparse
        self.built = True

    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any):
        if is_symbolic_call(inputs):  # numbers in a model graph: a node, its shape inferred on zeros
            return super().__call__(inputs, *args, **kwargs)
        return self.call(inputs)

    def _bins(self, inputs: Any) -> torch.Tensor:
        needs_values(inputs)
        device = inputs.device if isinstance(inputs, torch.Tensor) else None
        keys, shape = hash_keys(inputs)
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask_key = hash_keys([self.mask_value])[0][0]
            masked = [k == mask_key for k in keys]
        if self.salt is not None:
            key = (self.salt[0], self.salt[1])
            ids = [siphash64(k, key) % bins for k in keys]
        else:
            ids = [fingerprint64(k) % bins for k in keys]
        if masked is not None:
            ids = [0 if m else i + 1 for i, m in zip(ids, masked)]
        return torch.tensor(ids, dtype=torch.int64, device=device).reshape(shape)

    def call(self, inputs: Any) -> torch.Tensor:
        ids = self._bins(inputs)
        if self.output_mode == "int":
            return ids.to(self._dtype)
        if self.output_mode == "one_hot" and ids.ndim and ids.shape[-1] == 1:
            ids = ids.squeeze(-1)
        return encode_ids(ids, self.output_mode, self.num_bins, self._dtype)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_bins": self.num_bins, "salt": self.salt,
                "mask_value": self.mask_value, "output_mode": self.output_mode, "sparse": self.sparse}
