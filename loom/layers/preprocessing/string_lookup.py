"""``StringLookup``: strings to integer indices (or encoded vectors) through a vocabulary, and back.

torch has no string tensors: inputs are Python strings, (nested) lists of them or NumPy string/object
arrays; indices and encodings come back as torch tensors, inverted lookups as NumPy ``str`` arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.errors import InputError
from loom.layers.preprocessing.index_lookup import IndexLookup
from loom.layers.preprocessing.string_hash import fingerprint64, siphash64


def as_string_array(inputs: Any, encoding: str = "utf-8", where: str = "layer") -> np.ndarray:
    """``inputs`` (str, bytes, nested lists, NumPy arrays) as a NumPy array of Python ``str`` (dtype object)."""
    refuse_symbolic(inputs, where)
    if isinstance(inputs, torch.Tensor):
        raise InputError(f"{where} takes strings (a list or NumPy array of str); got a {inputs.dtype} tensor.")
    array = np.asarray(inputs, dtype=object)
    flat = array.reshape(-1)
    for i, value in enumerate(flat):
        if isinstance(value, bytes):
            flat[i] = value.decode(encoding)
        elif isinstance(value, np.str_):
            flat[i] = str(value)
        elif not isinstance(value, str):
            raise InputError(f"{where} takes strings; got {type(value).__name__} {value!r} (convert the inputs "
                             f"to str first).")
    return flat.reshape(array.shape)


def refuse_symbolic(inputs: Any, where: str) -> None:
    """Raise for symbolic inputs: loom's graph carries tensors only, and strings have no torch tensor."""
    from loom.symbolic import is_symbolic
    from loom import structure
    if structure.any_leaf(is_symbolic, inputs):
        raise InputError(f"{where} takes strings, which loom's symbolic graph cannot carry (torch has no string "
                         f"tensors). Apply it to the data before the model (e.g. vectorize the texts, then fit on "
                         f"the integer ids), or call it eagerly / inside a Pipeline.")


def is_symbolic_call(inputs: Any) -> bool:
    """Whether ``inputs`` hold a symbolic tensor: a hashing layer applied to numbers inside a model graph."""
    from loom.symbolic import is_symbolic
    from loom import structure
    return structure.any_leaf(is_symbolic, inputs)


def needs_values(inputs: Any) -> None:
    """Raise ``NotImplementedError`` for ``meta`` probes: a hash needs values, so shape inference reruns the
    layer on zeros (see :mod:`loom.symbolic`)."""
    from loom import structure
    if structure.any_leaf(lambda t: isinstance(t, torch.Tensor) and t.is_meta, inputs):
        raise NotImplementedError("hashing needs input values")


class StringLookup(IndexLookup):
    """Map strings to indices of a vocabulary (learnt by :meth:`adapt` or given), or indices back to strings.

    Indices follow Keras's layout: the mask (index 0, only with ``mask_token`` and ``output_mode='int'``), then
    ``num_oov_indices`` out-of-vocabulary (OOV) indices, then the vocabulary terms, most frequent first.

    Args:
        max_tokens: the largest vocabulary, special tokens included (default ``None``: unlimited).
        num_oov_indices: indices reserved for out-of-vocabulary strings, which hash into them (default ``1``);
            with ``0``, an unknown string raises.
        mask_token: a string that stands for padding: index 0 with ``output_mode='int'`` (default ``None``).
        oov_token: the string returned for OOV indices when ``invert=True`` (default ``'[UNK]'``).
        vocabulary: a list/array of strings or a file path, one term per line (default ``None``: adapt).
        idf_weights: IDF weights, one per vocabulary term, for ``output_mode='tf_idf'`` (default ``None``).
        invert: map indices to strings (default ``False``); needs ``output_mode='int'``.
        output_mode: ``'int'``, ``'one_hot'``, ``'multi_hot'``, ``'count'`` or ``'tf_idf'`` (default ``'int'``).
        pad_to_max_tokens: encoded outputs are ``max_tokens`` wide (default ``False``).
        sparse: unsupported; must stay ``False`` (default ``False``).
        encoding: the text encoding of ``bytes`` inputs (default ``'utf-8'``).
        name: the layer's name (default ``None``).
        salt: with ``num_oov_indices > 1``: OOV strings are bucketed by SipHash with this key (an int or two
            ints) instead of FarmHash (default ``None``).
        **kwargs: base layer arguments; ``oov_method`` and ``vocabulary_size`` (Keras's config keys).

    Input shape:
        Any shape of strings (``str`` or ``bytes``), e.g. ``(batch, tokens)``, as Python lists or NumPy arrays:
        torch has no string tensors, so the layer runs eagerly, not on symbolic model inputs. Integer
        indices with ``invert=True``.

    Output shape:
        ``'int'`` (and ``invert=True``): the input's shape. ``'one_hot'``: the input's shape plus the
        vocabulary size (a trailing axis of size 1 is replaced). ``'multi_hot'`` / ``'count'`` / ``'tf_idf'``:
        ``(batch, vocabulary_size)`` for ``(batch, tokens)``, or ``(batch, max_tokens)`` with
        ``pad_to_max_tokens=True``; a 1D input is one sample.

    Returns:
        An int64 tensor of indices (``'int'``), a NumPy ``str`` array of terms (``invert=True``, with
        ``oov_token`` for unknown indices), or a float32 encoding of the indices.

    Raises:
        ConfigError: an invalid argument (``max_tokens <= 1``, ``pad_to_max_tokens`` without ``max_tokens``,
            negative ``num_oov_indices``, an unknown mode, ``invert`` with an encoded mode, ``sparse=True``,
            ``idf_weights`` missing or misplaced).
        InputError: non-string inputs (or a tensor), symbolic inputs, an unknown string with
            ``num_oov_indices=0``, a bad vocabulary, or an encoded output requested before the layer has a
            vocabulary.

    Example:
        >>> import loom
        >>> layer = loom.layers.StringLookup(vocabulary=["a", "b", "c", "d"])
        >>> layer([["a", "c", "d"], ["d", "z", "b"]]).tolist()
        [[1, 3, 4], [4, 0, 2]]
        >>> loom.layers.StringLookup(vocabulary=["a", "b"], invert=True)([[2, 0]]).tolist()
        [['b', '[UNK]']]
        >>> loom.layers.StringLookup(vocabulary=["a", "b"], output_mode="count")([["a", "b", "b", "z"]]).tolist()
        [[1.0, 1.0, 2.0]]
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: str | None = None,
                 oov_token: str = "[UNK]", vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", pad_to_max_tokens: bool = False, sparse: bool = False,
                 encoding: str = "utf-8", name: str | None = None, salt: Any = None, **kwargs: Any):
        self.encoding = encoding
        kwargs.pop("vocabulary_dtype", None)
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices, mask_token=mask_token,
                         oov_token=oov_token, vocabulary_dtype="string", vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode, sparse=sparse,
                         pad_to_max_tokens=pad_to_max_tokens, salt=salt, name=name, **kwargs)

    def _as_token(self, value: Any) -> Any:
        return value.decode(self.encoding) if isinstance(value, bytes) else str(value)

    def _keys(self, inputs: Any) -> np.ndarray:
        refuse_symbolic(inputs, self._where)
        return as_string_array(inputs, self.encoding, self._where)

    def _find(self, keys: np.ndarray) -> torch.Tensor:
        get = self._index.get
        flat = np.fromiter((get(k, -1) for k in keys.reshape(-1)), dtype=np.int64, count=keys.size)
        return torch.from_numpy(flat.reshape(keys.shape))

    def _oov_bucket(self, keys: np.ndarray) -> torch.Tensor:
        n = self.num_oov_indices
        if self.salt is not None:
            key = (self.salt[0], self.salt[1])
            values = [siphash64(k.encode(self.encoding), key) % n for k in keys.reshape(-1)]
        else:
            values = [fingerprint64(k.encode(self.encoding)) % n for k in keys.reshape(-1)]
        return torch.tensor(values, dtype=torch.int64).reshape(keys.shape)

    def _equals(self, keys: np.ndarray, value: Any) -> torch.Tensor:
        return torch.from_numpy(np.asarray(keys == value, dtype=bool).reshape(keys.shape))

    def _tokens_of(self, ids: torch.Tensor) -> np.ndarray:
        vocab = self.get_vocabulary()
        size = len(vocab)
        flat = ids.reshape(-1).tolist()
        words = [vocab[i] if 0 <= i < size else self.oov_token for i in flat]
        if self.mask_token is not None:
            words = [self.mask_token if i == 0 else w for i, w in zip(flat, words)]
        return np.array(words, dtype=str).reshape(tuple(ids.shape))

    def _documents(self, batch: Any) -> list[list]:
        array = as_string_array(batch, self.encoding, self._where)
        if array.ndim <= 1:
            return [list(array.reshape(-1))]
        return [list(row.reshape(-1)) for row in array]

    def get_config(self) -> dict:
        config = super().get_config()
        del config["vocabulary_dtype"]
        return {**config, "encoding": self.encoding}
