"""``HashedCrossing``: the cross of several categorical features, hashed into ``num_bins`` bins.

Each feature value is fingerprinted (strings by FarmHash Fingerprint64, integers as themselves), the
fingerprints are chained with TensorFlow's ``FingerprintCat64`` from its default key, and the result is
taken modulo ``num_bins``: the bins of ``tf.sparse.cross_hashed``, hence of Keras's layer.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from loom.errors import ConfigError, InputError
from loom.layers.layer import Layer
from loom.layers.preprocessing.encoding import encode_ids
from loom.layers.preprocessing.string_hash import fingerprint64
from loom.layers.preprocessing.string_lookup import is_symbolic_call, needs_values

_MASK = (1 << 64) - 1
_MUL = 0xC6A4A7935BD1E995
_CROSS_KEY = 0xDECAFCAFFE


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def fingerprint_cat(first: int, second: int) -> int:
    """TensorFlow's ``FingerprintCat64``: an order-dependent combination of two 64-bit fingerprints."""
    result = first ^ _MUL
    result ^= (_shift_mix((second * _MUL) & _MASK) * _MUL) & _MASK
    result = (result * _MUL) & _MASK
    result = (_shift_mix(result) * _MUL) & _MASK
    return _shift_mix(result)


def _feature_hashes(values: Any, where: str) -> list[int]:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return [int(v) & _MASK for v in array.reshape(-1)]
    if array.dtype.kind in "USO":
        out = []
        for v in array.reshape(-1):
            if not isinstance(v, (str, bytes)):
                raise InputError(f"{where}: inputs must be integers or strings; got {type(v).__name__} {v!r}.")
            out.append(fingerprint64(v.encode() if isinstance(v, str) else v))
        return out
    raise InputError(f"{where}: inputs must be integers or strings; got dtype {array.dtype}.")


class HashedCrossing(Layer):
    """Cross two or more categorical features and hash each combination into ``[0, num_bins)``.

    The bins are those of Keras's layer (``tf.sparse.cross_hashed``): strings are fingerprinted by FarmHash,
    integers are taken as they are, and the fingerprints of a sample's features are chained in order.

    Args:
        num_bins: the number of bins (required, a positive int).
        output_mode: ``'int'`` (default) or ``'one_hot'``.
        sparse: unsupported; must stay ``False`` (default ``False``).
        name: the layer's name (default ``None``).
        dtype: the output dtype (default ``None``: ``'int64'`` with ``'int'``, else floatx).

    Call arguments:
        inputs: a list or tuple of at least two features of equal shape ``()``, ``(batch,)`` or
            ``(batch, 1)``, each integers or strings.

    Input shape:
        A list of at least two features, all ``()``, ``(batch,)`` or ``(batch, 1)``. Strings have no torch
        tensor, so string data is crossed eagerly (Python lists / NumPy arrays); integer model inputs are
        crossed inside the graph, as in Keras.

    Output shape:
        ``'int'``: the features' shape. ``'one_hot'``: ``(batch, num_bins)`` (``(1, num_bins)`` for scalars).

    Returns:
        The bin of each crossed sample (``'int'``), or its one-hot encoding.

    Raises:
        ConfigError: an unknown ``output_mode``, a ``num_bins`` that is not a positive int, or ``sparse=True``.
        InputError: fewer than two features, features of different or unsupported shapes, values that are neither
            integers nor strings.

    Example:
        >>> import loom
        >>> layer = loom.layers.HashedCrossing(num_bins=5)
        >>> layer([["A", "B", "A"], [101, 101, 102]]).tolist()
        [1, 4, 3]
        >>> loom.layers.HashedCrossing(num_bins=5, output_mode="one_hot")([["A"], [101]]).tolist()
        [[0.0, 1.0, 0.0, 0.0, 0.0]]
    """

    _casts_int_inputs = False

    def __init__(self, num_bins: int, output_mode: str = "int", sparse: bool = False, name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        kwargs.pop("trainable", None)
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        super().__init__(name=name, dtype=dtype, **kwargs)
        if output_mode not in ("int", "one_hot"):
            raise ConfigError(f"HashedCrossing '{self.name}': output_mode must be 'int' or 'one_hot'; got "
                              f"{output_mode!r}.")
        if not isinstance(num_bins, int) or num_bins <= 0:
            raise ConfigError(f"HashedCrossing '{self.name}': num_bins must be a positive int; got {num_bins!r}.")
        if sparse:
            raise ConfigError(f"HashedCrossing '{self.name}': sparse=True is not supported by loom.")
        self.num_bins = num_bins
        self.output_mode = output_mode
        self.sparse = sparse
        self.built = True

    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any):
        if is_symbolic_call(inputs):  # integers in a model graph: a node, its shape inferred on zeros
            return super().__call__(inputs, *args, **kwargs)
        return self.call(inputs)

    def call(self, inputs: Sequence[Any]) -> torch.Tensor:
        where = f"HashedCrossing '{self.name}'"
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise InputError(f"{where} takes a list or tuple of at least two inputs; got {type(inputs).__name__}.")
        needs_values(inputs)
        device = next((x.device for x in inputs if isinstance(x, torch.Tensor)), None)
        shapes = [tuple(np.shape(x)) for x in inputs]
        if len(shapes[0]) > 2 or len(shapes[0]) == 2 and shapes[0][-1] != 1:
            raise InputError(f"{where}: inputs must have shape (), (batch,) or (batch, 1); got {shapes[0]}.")
        if any(s != shapes[0] for s in shapes[1:]):
            raise InputError(f"{where}: all inputs must have the same shape; got {shapes}.")
        columns = [_feature_hashes(x, where) for x in inputs]
        crossed = []
        for values in zip(*columns):
            h = _CROSS_KEY
            for v in values:
                h = fingerprint_cat(h, v)
            crossed.append(h % self.num_bins)
        ids = torch.tensor(crossed, dtype=torch.int64, device=device).reshape(shapes[0])
        if self.output_mode == "int":
            return ids.to(self._dtype)
        if ids.ndim and ids.shape[-1] == 1 and ids.ndim > 1:
            ids = ids.squeeze(-1)
        return encode_ids(ids, "one_hot", self.num_bins, self._dtype)

    def get_config(self) -> dict:
        return {"num_bins": self.num_bins, "output_mode": self.output_mode, "sparse": self.sparse,
                "name": self.name, "dtype": self.dtype}
