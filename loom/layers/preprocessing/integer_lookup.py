"""``IntegerLookup``: integer categories to contiguous indices (or encoded vectors), and back."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.errors import ConfigError, InputError
from loom.layers.preprocessing.index_lookup import IndexLookup
from loom.layers.preprocessing.string_hash import fingerprint64, siphash64


class IntegerLookup(IndexLookup):
    """Map integers to indices of a vocabulary (learnt by :meth:`adapt` or given), or indices back.

    Indices follow Keras's layout: the mask (index 0, only with ``mask_token`` and ``output_mode='int'``), then
    ``num_oov_indices`` out-of-vocabulary (OOV) indices, then the vocabulary terms, most frequent first.

    Args:
        max_tokens: the largest vocabulary, special tokens included (default ``None``: unlimited).
        num_oov_indices: indices reserved for out-of-vocabulary values (default ``1``); with several, a value
            goes to ``value % num_oov_indices`` (``oov_method='floormod'``) or to its FarmHash bucket; with
            ``0``, an unknown value raises.
        mask_token: a value that stands for padding: index 0 with ``output_mode='int'`` (default ``None``).
        oov_token: the value returned for OOV indices when ``invert=True`` (default ``-1``).
        vocabulary: a list/array of ints or a file path, one per line (default ``None``: adapt).
        vocabulary_dtype: only ``'int64'`` (default ``'int64'``).
        idf_weights: IDF weights for ``output_mode='tf_idf'`` (default ``None``).
        invert: map indices to values (default ``False``); needs ``output_mode='int'``.
        output_mode: ``'int'``, ``'one_hot'``, ``'multi_hot'``, ``'count'`` or ``'tf_idf'`` (default ``'int'``).
        sparse: unsupported; must stay ``False`` (default ``False``).
        pad_to_max_tokens: encoded outputs are ``max_tokens`` wide (default ``False``).
        oov_method: ``'floormod'`` or ``'farmhash'`` (default ``'floormod'``).
        salt: with ``oov_method='farmhash'``: SipHash key (an int or two ints) (default ``None``).
        name: the layer's name (default ``None``).
        **kwargs: base layer arguments and ``vocabulary_size`` (Keras's config key).

    Input shape:
        Any shape of integers (float or bool inputs raise), e.g. ``(batch, values)``; indices with
        ``invert=True``.

    Output shape:
        ``'int'`` (and ``invert=True``): the input's shape. ``'one_hot'``: the input's shape plus the
        vocabulary size (a trailing axis of size 1 is replaced). ``'multi_hot'`` / ``'count'`` / ``'tf_idf'``:
        ``(batch, vocabulary_size)`` for ``(batch, values)``, or ``(batch, max_tokens)`` with
        ``pad_to_max_tokens=True``; a 1D input is one sample.

    Returns:
        An int64 tensor of indices (``'int'``), the values of the indices (``invert=True``, with ``oov_token``
        for unknown indices), or a float32 encoding of the indices.

    Raises:
        ConfigError: an invalid argument (``max_tokens <= 1``, ``pad_to_max_tokens`` without ``max_tokens``,
            negative ``num_oov_indices``, an unknown mode, ``invert`` with an encoded mode, ``sparse=True``,
            ``idf_weights`` missing or misplaced, a ``vocabulary_dtype`` other than ``'int64'``).
        InputError: non-integer inputs, an unknown value with ``num_oov_indices=0``, a bad vocabulary, or an
            encoded output requested before the layer has a vocabulary.

    Example:
        >>> import loom
        >>> layer = loom.layers.IntegerLookup(vocabulary=[12, 36, 1138, 42])
        >>> layer([[12, 1138, 42], [42, 1000, 36]]).tolist()
        [[1, 3, 4], [4, 0, 2]]
        >>> loom.layers.IntegerLookup(vocabulary=[12, 36], invert=True)([[2, 0]]).tolist()
        [[36, -1]]
    """

    def __init__(self, max_tokens: int | None = None, num_oov_indices: int = 1, mask_token: int | None = None,
                 oov_token: int = -1, vocabulary: Any = None, vocabulary_dtype: str = "int64",
                 idf_weights: Any = None, invert: bool = False, output_mode: str = "int", sparse: bool = False,
                 pad_to_max_tokens: bool = False, oov_method: str = "floormod", salt: Any = None,
                 name: str | None = None, **kwargs: Any):
        if vocabulary_dtype != "int64":
            raise ConfigError(f"IntegerLookup: only vocabulary_dtype='int64' is supported; got "
                              f"{vocabulary_dtype!r}.")
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=None if mask_token is None else int(mask_token),
                         oov_token=None if oov_token is None else int(oov_token), vocabulary_dtype="int64",
                         vocabulary=vocabulary, idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         sparse=sparse, pad_to_max_tokens=pad_to_max_tokens, oov_method=oov_method, salt=salt,
                         name=name, **kwargs)

    def _integer_keys(self) -> bool:
        return True

    def _as_token(self, value: Any) -> int:
        try:
            return int(value)
        except (TypeError, ValueError) as e:
            raise InputError(f"{self._where}: vocabulary terms must be integers; got {value!r}.") from e

    def _install(self, tokens: list) -> None:
        super()._install(tokens)
        keys = torch.tensor(self._tokens, dtype=torch.int64)
        order = torch.argsort(keys)
        self._sorted_keys = keys[order]
        self._sorted_ids = order + self._token_start_index()

    def _keys(self, inputs: Any) -> torch.Tensor:
        keys = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs))
        if keys.is_floating_point() or keys.dtype == torch.bool:
            raise InputError(f"{self._where} takes integer inputs; got dtype {keys.dtype}.")
        return keys.long()

    def _find(self, keys: torch.Tensor) -> torch.Tensor:
        if not self._tokens:
            return torch.full_like(keys, -1)
        sorted_keys = self._sorted_keys.to(keys.device)
        pos = torch.searchsorted(sorted_keys, keys.contiguous()).clamp(max=sorted_keys.numel() - 1)
        hit = sorted_keys[pos] == keys
        return torch.where(hit, self._sorted_ids.to(keys.device)[pos], torch.full_like(keys, -1))

    def _oov_bucket(self, keys: torch.Tensor) -> torch.Tensor:
        n = self.num_oov_indices
        if self.oov_method != "farmhash":
            return torch.remainder(keys, n)
        texts = [str(k).encode() for k in keys.reshape(-1).tolist()]
        if self.salt is not None:
            values = [siphash64(t, (self.salt[0], self.salt[1])) % n for t in texts]
        else:
            values = [fingerprint64(t) % n for t in texts]
        return torch.tensor(values, dtype=torch.int64, device=keys.device).reshape(keys.shape)

    def _equals(self, keys: torch.Tensor, value: Any) -> torch.Tensor:
        return keys == int(value)

    def _tokens_of(self, ids: torch.Tensor) -> torch.Tensor:
        table = torch.tensor(self.get_vocabulary(), dtype=torch.int64, device=ids.device)
        valid = (ids >= 0) & (ids < table.numel())
        oov = -1 if self.oov_token is None else self.oov_token
        out = torch.where(valid, table[ids.clamp(0, table.numel() - 1)], torch.full_like(ids, oov))
        if self.mask_token is not None:
            out = torch.where(ids == 0, torch.full_like(ids, self.mask_token), out)
        return out

    def _documents(self, batch: Any) -> list[list]:
        keys = self._keys(batch)
        if keys.ndim <= 1:
            return [keys.reshape(-1).tolist()]
        return [row.reshape(-1).tolist() for row in keys]
