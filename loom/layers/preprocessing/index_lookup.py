"""The index-lookup core of ``StringLookup``, ``IntegerLookup`` and ``TextVectorization``.

Index layout (Keras's): with ``output_mode='int'`` and a ``mask_token``, index 0 is the mask; then come
``num_oov_indices`` out-of-vocabulary (OOV) indices; then the vocabulary terms, most frequent first. Other
output modes drop the mask (it encodes to nothing). ``invert=True`` maps indices back to terms.

Subclasses say how inputs become keys (:meth:`IndexLookup._keys`), how keys are found
(:meth:`IndexLookup._find`), and how OOV keys hash into the OOV indices (:meth:`IndexLookup._oov_bucket`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from loom.errors import ConfigError, InputError
from loom.layers.layer import Layer
from loom.layers.preprocessing.adapt_data import is_single_batch, iter_batches
from loom.layers.preprocessing.encoding import OUTPUT_MODES, encode_ids
from loom.layers.preprocessing.vocabulary import TokenCounter, check_unique, pad_idf, read_vocabulary_file


class IndexLookup(Layer):
    """Base of the lookup layers (not exported): see :class:`~loom.layers.StringLookup` for the arguments.

    Example:
        >>> import loom
        >>> layer = loom.layers.IntegerLookup(vocabulary=[12, 36])
        >>> layer([[12, 7, 36]]).tolist()
        [[1, 0, 2]]
    """

    _casts_int_inputs = False

    def __init__(self, max_tokens: int | None, num_oov_indices: int, mask_token: Any, oov_token: Any,
                 vocabulary_dtype: str, vocabulary: Any = None, idf_weights: Any = None, invert: bool = False,
                 output_mode: str = "int", sparse: bool = False, pad_to_max_tokens: bool = False,
                 oov_method: str = "floormod", salt: Any = None, vocabulary_size: int | None = None,
                 has_input_vocabulary: bool | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        self._check_arguments(max_tokens, num_oov_indices, output_mode, invert, sparse, pad_to_max_tokens,
                              idf_weights, oov_method)
        self.max_tokens = max_tokens
        self.num_oov_indices = int(num_oov_indices)
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.vocabulary_dtype = vocabulary_dtype
        self.invert = bool(invert)
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.oov_method = oov_method
        self.salt = self._check_salt(salt)
        self.input_vocabulary = vocabulary if not isinstance(vocabulary, str) else None
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None else has_input_vocabulary
        self._frozen_vocab_size = vocabulary_size
        self._tokens: list = []
        self._index: dict = {}
        self.idf_weights: torch.Tensor | None = None
        self._counter: TokenCounter | None = None
        self.built = True  # no weights: the vocabulary is plain Python state
        if output_mode == "tf_idf" and vocabulary is not None and idf_weights is None:
            raise ConfigError(f"{self._where}: with output_mode='tf_idf' and a vocabulary, idf_weights must be "
                              f"given too.")
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    @property
    def _where(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _check_arguments(self, max_tokens, num_oov_indices, output_mode, invert, sparse, pad_to_max_tokens,
                         idf_weights, oov_method) -> None:
        where = f"{type(self).__name__} '{self.name}'"
        if max_tokens is not None and max_tokens <= 1:
            raise ConfigError(f"{where}: max_tokens must be greater than 1 when set; got {max_tokens}.")
        if pad_to_max_tokens and max_tokens is None:
            raise ConfigError(f"{where}: pad_to_max_tokens=True needs max_tokens.")
        if num_oov_indices < 0:
            raise ConfigError(f"{where}: num_oov_indices must be >= 0; got {num_oov_indices}.")
        if output_mode not in OUTPUT_MODES:
            raise ConfigError(f"{where}: output_mode must be one of {OUTPUT_MODES}; got {output_mode!r}.")
        if oov_method not in ("floormod", "farmhash"):
            raise ConfigError(f"{where}: oov_method must be 'floormod' or 'farmhash'; got {oov_method!r}.")
        if invert and output_mode != "int":
            raise ConfigError(f"{where}: invert=True needs output_mode='int'; got {output_mode!r}.")
        if sparse:
            raise ConfigError(f"{where}: sparse=True is not supported by loom (no sparse torch outputs).")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ConfigError(f"{where}: idf_weights are only used with output_mode='tf_idf'; got "
                              f"output_mode={output_mode!r}.")

    def _check_salt(self, salt: Any) -> list[int] | None:
        if salt is None:
            return None
        if self._integer_keys() and self.oov_method != "farmhash":
            raise ConfigError(f"{self._where}: salt is only used with oov_method='farmhash'; got "
                              f"oov_method={self.oov_method!r}.")
        if isinstance(salt, (tuple, list)) and len(salt) == 2:
            return [int(s) for s in salt]
        if isinstance(salt, int):
            return [salt, salt]
        raise ConfigError(f"{self._where}: salt must be an int or a pair of ints; got {salt!r}.")

    # ------------------------------------------------------------------------------------- subclass hooks
    def _integer_keys(self) -> bool:
        return False

    def _keys(self, inputs: Any) -> Any:
        """Inputs as keys (a NumPy array of ``str``, or an integer tensor)."""
        raise NotImplementedError

    def _find(self, keys: Any) -> torch.Tensor:
        """The index of each key, ``-1`` where it is not in the vocabulary (an int64 tensor of keys' shape)."""
        raise NotImplementedError

    def _oov_bucket(self, keys: Any) -> torch.Tensor:
        """The OOV bucket in ``[0, num_oov_indices)`` of each key."""
        raise NotImplementedError

    def _equals(self, keys: Any, value: Any) -> torch.Tensor:
        """Where ``keys`` equal ``value`` (a bool tensor)."""
        raise NotImplementedError

    def _tokens_of(self, ids: torch.Tensor) -> Any:
        """The terms of indices ``ids`` (``invert=True``)."""
        raise NotImplementedError

    def _documents(self, batch: Any) -> list[list]:
        """A batch as documents (lists of Python tokens) for counting: rows of a 2D batch, a 1D batch is one."""
        raise NotImplementedError

    def _as_token(self, value: Any) -> Any:
        return value

    # -------------------------------------------------------------------------------------- vocabulary
    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def vocabulary_size(self) -> int:
        """The number of indices: the terms plus the mask and OOV indices."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The terms in index order (with the mask and OOV tokens first unless ``include_special_tokens=False``)."""
        if not include_special_tokens:
            return list(self._tokens)
        special = [self.oov_token] * self._token_start_index()
        if self._oov_start_index():
            special[0] = self.mask_token
        return special + list(self._tokens)

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary: a sequence of terms or the path of a file with one term per line.

        A vocabulary may start with the special tokens in index order (as :meth:`get_vocabulary` returns it).

        Raises:
            ConfigError: idf_weights missing with ``'tf_idf'`` (or given without it), or too many terms.
            InputError: the vocabulary is empty, repeats a term, holds the mask/OOV token elsewhere, or its
                file does not exist.
        """
        if self.output_mode == "tf_idf" and idf_weights is None:
            raise ConfigError(f"{self._where}: output_mode='tf_idf' needs idf_weights with the vocabulary.")
        if self.output_mode != "tf_idf" and idf_weights is not None:
            raise ConfigError(f"{self._where}: idf_weights are only used with output_mode='tf_idf'.")
        if isinstance(vocabulary, str):
            vocabulary = read_vocabulary_file(vocabulary, self._where)
        vocabulary = self._vocabulary_list(vocabulary)
        if not vocabulary:
            raise InputError(f"{self._where}: cannot set an empty vocabulary.")
        start = self._token_start_index()
        found_special = vocabulary[:start] == self.get_vocabulary()[:start] and len(vocabulary) >= start
        tokens = vocabulary[start:] if found_special else vocabulary
        self._check_tokens(tokens)
        if self.max_tokens is not None and start + len(tokens) > self.max_tokens:
            raise ConfigError(f"{self._where}: the vocabulary has {start + len(tokens)} entries (with special "
                              f"tokens); max_tokens is {self.max_tokens}.")
        self._install(tokens)
        if self.output_mode == "tf_idf":
            self._set_idf(idf_weights, len(vocabulary), front=0 if found_special else start)

    def _vocabulary_list(self, vocabulary: Any) -> list:
        if isinstance(vocabulary, torch.Tensor):
            vocabulary = vocabulary.tolist()
        elif isinstance(vocabulary, np.ndarray):
            vocabulary = vocabulary.tolist()
        return [self._as_token(v) for v in vocabulary]

    def _check_tokens(self, tokens: list) -> None:
        check_unique(tokens, self._where)
        special = self.get_vocabulary()[:self._token_start_index()]
        if self.mask_token is not None and self.mask_token in tokens:
            raise InputError(f"{self._where}: the mask token {self.mask_token!r} is in the vocabulary at index "
                             f"{tokens.index(self.mask_token)}; leave it out, or start the vocabulary with "
                             f"exactly {special}.")
        if self.invert and self.oov_token is not None and self.oov_token in tokens:
            raise InputError(f"{self._where}: the OOV token {self.oov_token!r} is in the vocabulary; leave it "
                             f"out, or start the vocabulary with exactly {special}.")

    def _install(self, tokens: list) -> None:
        start = self._token_start_index()
        self._tokens = list(tokens)
        self._index = {t: i + start for i, t in enumerate(self._tokens)}
        self._frozen_vocab_size = self.vocabulary_size()

    def _set_idf(self, weights: Any, vocab_len: int, front: int) -> None:
        weights = [float(w) for w in np.asarray(weights, dtype="float64").reshape(-1)]
        if len(weights) != vocab_len:
            raise ConfigError(f"{self._where}: idf_weights has {len(weights)} entries; the vocabulary has "
                              f"{vocab_len}.")
        front_value = float(np.mean(weights)) if front else 0.0
        back = self.max_tokens - front - len(weights) if self.pad_to_max_tokens else 0
        self.idf_weights = torch.tensor(pad_idf(weights, front, front_value, back), dtype=torch.float32)

    # ------------------------------------------------------------------------------------------- adapt
    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Build the vocabulary from ``data``: a list/array of terms, or an iterable of batches.

        Terms are sorted by count, ties by the term itself (both high to low), and cut to ``max_tokens``.

        Raises:
            InputError: the layer has a fixed vocabulary, or the data holds no terms.
        """
        self.reset_state()
        if is_single_batch(data):
            self.update_state(self._as_column(data))
        else:
            for batch in iter_batches(data, steps, self._where):
                self.update_state(batch)
        self.finalize_state()

    def _as_column(self, data: Any) -> Any:
        """One array given to ``adapt``: a 1D array is one term per document (Keras expands it)."""
        array = data if isinstance(data, torch.Tensor) else np.asarray(data)
        if array.ndim == 1:
            return array[:, None]
        return array

    def update_state(self, data: Any) -> None:
        """Count the terms of one batch."""
        if self._has_input_vocabulary:
            raise InputError(f"{self._where}: cannot adapt a layer given a fixed vocabulary (vocabulary= or "
                             f"set_vocabulary()).")
        self.update_documents(self._documents(data))

    def update_documents(self, documents: list[list]) -> None:
        """Count the terms of already-tokenized documents (what ``TextVectorization`` feeds in)."""
        if self._has_input_vocabulary:
            raise InputError(f"{self._where}: cannot adapt a layer given a fixed vocabulary (vocabulary= or "
                             f"set_vocabulary()).")
        if self._counter is None:
            self.reset_state()
        self._counter.update(documents)

    def reset_state(self) -> None:
        """Forget the counts of ``update_state``."""
        self._counter = TokenCounter(count_documents=self.output_mode == "tf_idf")

    def finalize_state(self) -> None:
        """Turn the counts into the vocabulary (and the IDF weights with ``'tf_idf'``)."""
        if self._has_input_vocabulary:
            return
        exclude = [t for t in (self.mask_token, self.oov_token) if t is not None]
        limit = None if not self.max_tokens else self.max_tokens - self._token_start_index()
        tokens = self._counter.most_common(limit, exclude) if self._counter is not None else []
        if not tokens:
            raise InputError(f"{self._where}.adapt() found no terms in the data; pass non-empty data.")
        self._install(tokens)
        if self.output_mode == "tf_idf":
            idf = self._counter.idf(tokens)
            back = self.max_tokens - self.vocabulary_size() if self.pad_to_max_tokens else 0
            self.idf_weights = torch.tensor(
                pad_idf(idf, self._token_start_index(), float(np.mean(idf)), back), dtype=torch.float32)
        self._counter = None

    # -------------------------------------------------------------------------------------------- call
    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs  # keys are made by ``_keys`` (strings have no tensor form)

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any):
        if isinstance(inputs, torch.Tensor) or not self._symbolic(inputs):
            return self.call(inputs)
        if not self._integer_keys() or self.invert and self.vocabulary_dtype == "string":
            self._keys(inputs)  # raises: strings cannot flow through the symbolic graph
        return super().__call__(inputs, *args, **kwargs)

    @staticmethod
    def _symbolic(inputs: Any) -> bool:
        from loom.symbolic import is_symbolic
        return is_symbolic(inputs)

    def call(self, inputs: Any) -> Any:
        if self.invert:
            return self._tokens_of(self._int_ids(inputs))
        keys = self._keys(inputs)
        ids = self._lookup(keys)
        if self.output_mode == "int":
            return ids
        return self._encode(ids)

    def _encode(self, ids: torch.Tensor) -> torch.Tensor:
        """Indices (``-1`` for nothing) as ``output_mode`` vectors."""
        if self._frozen_vocab_size is None and not self.pad_to_max_tokens:
            raise InputError(f"{self._where}: output_mode={self.output_mode!r} needs a vocabulary before the "
                             f"layer is called: pass vocabulary= or call adapt().")
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        out = encode_ids(ids, mode, depth, torch.float32)
        if self.output_mode == "tf_idf":
            out = out * self.idf_weights.to(out.device)
        return out

    def _int_ids(self, inputs: Any) -> torch.Tensor:
        ids = inputs if isinstance(inputs, torch.Tensor) else torch.as_tensor(np.asarray(inputs))
        if ids.is_floating_point() or ids.dtype == torch.bool:
            raise InputError(f"{self._where}: invert=True takes integer indices; got dtype {ids.dtype}.")
        return ids.long()

    def _lookup(self, keys: Any) -> torch.Tensor:
        ids = self._find(keys)
        missing = ids < 0
        masked = self._equals(keys, self.mask_token) if self.mask_token is not None else None
        if masked is not None:
            missing = missing & ~masked
        if self.num_oov_indices == 0:
            if ids.device.type != "meta" and bool(missing.any()):
                raise InputError(f"{self._where}: with num_oov_indices=0 every input must be in the vocabulary; "
                                 f"found {self._describe(keys, missing)}. Set num_oov_indices=1 to map them to "
                                 f"an OOV index.")
        elif self.num_oov_indices == 1:
            ids = torch.where(missing, torch.full_like(ids, self._oov_start_index()), ids)
        else:
            ids = torch.where(missing, self._oov_bucket(keys) + self._oov_start_index(), ids)
        if masked is not None:
            ids = torch.where(masked, torch.full_like(ids, 0 if self.output_mode == "int" else -1), ids)
        return ids

    def _describe(self, keys: Any, where: torch.Tensor) -> str:
        flat = keys.reshape(-1) if isinstance(keys, (np.ndarray, torch.Tensor)) else np.asarray(keys).reshape(-1)
        picked = [flat[i] for i in torch.nonzero(where.reshape(-1)).reshape(-1)[:5].tolist()]
        return f"out-of-vocabulary values {[p.item() if hasattr(p, 'item') else p for p in picked]}"

    # ------------------------------------------------------------------------------------------- config
    def get_config(self) -> dict:
        """Keras's keys; an adapted (or file) vocabulary is kept in ``vocabulary`` so the config rebuilds it."""
        vocabulary = self.input_vocabulary
        idf = self.input_idf_weights
        if vocabulary is None and self._tokens:
            vocabulary = self.get_vocabulary()
            if self.output_mode == "tf_idf":
                idf = self.idf_weights[:self.vocabulary_size()].tolist()
        return {**super().get_config(), "invert": self.invert, "max_tokens": self.max_tokens,
                "num_oov_indices": self.num_oov_indices, "oov_token": self.oov_token,
                "mask_token": self.mask_token, "output_mode": self.output_mode, "sparse": self.sparse,
                "pad_to_max_tokens": self.pad_to_max_tokens, "vocabulary_dtype": self.vocabulary_dtype,
                "idf_weights": _listify(idf), "vocabulary": _listify(vocabulary),
                "vocabulary_size": self._frozen_vocab_size, "oov_method": self.oov_method, "salt": self.salt}

    def load_assets(self, files: dict[str, bytes]) -> None:
        """Read the vocabulary Keras stores in a ``.keras`` archive's ``assets/.../vocabulary.txt``."""
        if "vocabulary.txt" not in files or self.input_vocabulary is not None:
            return
        lines = files["vocabulary.txt"].decode("utf-8").splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        idf = self.idf_weights[:len(lines)].tolist() if self.output_mode == "tf_idf" else None
        self.set_vocabulary(lines, idf)


def _listify(value: Any) -> Any:
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return value
