"""``TextVectorization``: raw strings to token indices or bag-of-words vectors, in one layer.

Steps: standardize each string, split it into tokens, form n-grams, and look the tokens up in a vocabulary
(a :class:`~loom.layers.StringLookup` inside, with the empty string as its mask). Strings come in as Python
lists or NumPy arrays (torch has no string tensors); the result is a torch tensor.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from loom import serialization
from loom.errors import ConfigError, InputError
from loom.layers.layer import Layer
from loom.layers.preprocessing import text_ops
from loom.layers.preprocessing.adapt_data import is_single_batch, iter_batches
from loom.layers.preprocessing.encoding import OUTPUT_MODES
from loom.layers.preprocessing.string_lookup import StringLookup, as_string_array


class TextVectorization(Layer):
    """Turn a batch of strings into token indices (``'int'``) or per-string vectors over the vocabulary.

    Each string is standardized, split into tokens, extended with n-grams, and looked up in the vocabulary.
    Indices: 0 is padding (``''``), 1 is out-of-vocabulary (``'[UNK]'``), then the terms, most frequent first.

    Args:
        max_tokens: the largest vocabulary, the padding (0) and OOV (1) indices included (default ``None``).
        standardize: ``'lower_and_strip_punctuation'`` (default), ``'lower'``, ``'strip_punctuation'``,
            ``None``, or a callable taking and returning a NumPy array of strings.
        split: ``'whitespace'`` (default), ``'character'``, ``None`` (inputs are already tokens), or a
            callable taking a 1D NumPy array of strings and returning one token list per string.
        ngrams: ``None`` (default), an int ``n`` (all n-grams up to ``n``) or a tuple of widths.
        output_mode: ``'int'`` (default), ``'multi_hot'``, ``'count'``, ``'tf_idf'`` (or ``'one_hot'``).
        output_sequence_length: ``'int'`` outputs are cut or zero-padded to this length (default ``None``:
            padded to the longest string of the batch).
        pad_to_max_tokens: encoded outputs are ``max_tokens`` wide (default ``False``).
        vocabulary: a list of terms or a file path (default ``None``: learnt by :meth:`adapt`).
        idf_weights: IDF weights for ``'tf_idf'`` with a given vocabulary (default ``None``).
        sparse: unsupported; must stay ``False`` (default ``False``).
        ragged: unsupported; must stay ``False`` (default ``False``).
        encoding: the encoding of ``bytes`` inputs (default ``'utf-8'``).
        name: the layer's name (default ``None``).
        **kwargs: base layer arguments and ``vocabulary_size`` (Keras's config key).

    Input shape:
        Strings as a Python list or NumPy array (torch has no string tensors, so the layer runs eagerly, not on
        symbolic model inputs): a scalar, ``(batch,)`` or ``(batch, 1)``; with ``split=None``, already split
        tokens ``(batch, tokens)``.

    Output shape:
        ``'int'``: ``(batch, output_sequence_length)``, or ``(batch, longest)`` without it.
        ``'multi_hot'`` / ``'count'`` / ``'tf_idf'``: ``(batch, vocabulary_size)``, or ``(batch, max_tokens)``
        with ``pad_to_max_tokens=True``. ``'one_hot'``: ``(batch, tokens, vocabulary_size)``. A scalar string
        gives the same without the batch axis.

    Returns:
        An int64 tensor of token indices (``'int'``, 0-padded), or a float32 tensor encoding each string's tokens.

    Raises:
        ConfigError: an unknown ``standardize`` / ``split`` / ``output_mode``, a bad ``ngrams``,
            ``output_sequence_length`` with an encoded mode, ``sparse`` or ``ragged``, or an invalid lookup
            argument (see :class:`~loom.layers.StringLookup`).
        InputError: non-string inputs, symbolic inputs, inputs to split that are not ``(batch,)`` or
            ``(batch, 1)``, or an encoded output requested before the layer has a vocabulary.

    Example:
        >>> import loom
        >>> layer = loom.layers.TextVectorization(output_sequence_length=4)
        >>> layer.adapt(["The cat sat.", "The dog sat on the cat!"])
        >>> layer.get_vocabulary()
        ['', '[UNK]', 'the', 'sat', 'cat', 'on', 'dog']
        >>> layer(["the dog ran"]).tolist()
        [[2, 6, 1, 0]]
        >>> counts = loom.layers.TextVectorization(output_mode="count", vocabulary=["a", "b"])
        >>> counts(["a b a", "b"]).tolist()
        [[0.0, 2.0, 1.0], [0.0, 0.0, 1.0]]
    """

    _casts_int_inputs = False

    def __init__(self, max_tokens: int | None = None, standardize: str | Callable | None =
                 "lower_and_strip_punctuation", split: str | Callable | None = "whitespace",
                 ngrams: int | tuple | None = None, output_mode: str = "int",
                 output_sequence_length: int | None = None, pad_to_max_tokens: bool = False, vocabulary: Any = None,
                 idf_weights: Any = None, sparse: bool = False, ragged: bool = False, encoding: str = "utf-8",
                 name: str | None = None, **kwargs: Any):
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        super().__init__(name=name, **kwargs)
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        self._check(standardize, split, ngrams, output_mode, output_sequence_length, sparse, ragged)
        self._standardize = standardize
        self._split = split
        self._ngrams_arg = ngrams
        self._ngrams = tuple(range(1, ngrams + 1)) if isinstance(ngrams, int) else ngrams
        self._output_mode = output_mode
        self._output_sequence_length = output_sequence_length
        self._ragged = ragged
        self._encoding = encoding
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode, sparse=sparse,
            encoding=encoding, vocabulary_size=vocabulary_size, name=f"{self.name}_lookup")
        self.built = True

    def _check(self, standardize, split, ngrams, output_mode, output_sequence_length, sparse, ragged) -> None:
        where = f"TextVectorization '{self.name}'"
        text_ops.check_mode(standardize, text_ops.STANDARDIZE_MODES, "standardize")
        text_ops.check_mode(split, text_ops.SPLIT_MODES, "split")
        if output_mode not in OUTPUT_MODES:
            raise ConfigError(f"{where}: output_mode must be one of {OUTPUT_MODES}; got {output_mode!r}.")
        if not (ngrams is None or isinstance(ngrams, int) and ngrams > 0
                or isinstance(ngrams, tuple) and all(isinstance(n, int) and n > 0 for n in ngrams)):
            raise ConfigError(f"{where}: ngrams must be None, a positive int or a tuple of them; got {ngrams!r}.")
        if output_mode == "int" and not (output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ConfigError(f"{where}: output_sequence_length must be None or an int; got "
                              f"{output_sequence_length!r}.")
        if output_mode != "int" and output_sequence_length is not None:
            raise ConfigError(f"{where}: output_sequence_length only applies to output_mode='int'; got "
                              f"output_mode={output_mode!r}.")
        if sparse or ragged:
            raise ConfigError(f"{where}: sparse and ragged outputs are not supported by loom (torch backend); "
                              f"leave sparse=False and ragged=False.")

    # ---------------------------------------------------------------------------------------- tokenizing
    def _tokenize(self, inputs: Any) -> tuple[list[list[str]] | np.ndarray, bool]:
        """``(token rows, scalar)``: one token list per input string (an array when ``split=None``)."""
        texts = as_string_array(inputs, self._encoding, f"TextVectorization '{self.name}'")
        scalar = texts.ndim == 0
        if self._split is None:
            texts = text_ops.standardize(texts, self._standardize)
            if not self._ngrams:
                return texts, False
            rows = [list(r) for r in (texts if texts.ndim > 1 else texts.reshape(1, -1))]
        else:
            texts = text_ops.standardize(texts.reshape(1) if scalar else texts, self._standardize)
            if texts.ndim > 1:
                if texts.shape[-1] != 1:
                    raise InputError(f"TextVectorization '{self.name}': inputs to split must have shape (batch,) "
                                     f"or (batch, 1); got {texts.shape}.")
                texts = texts.reshape(texts.shape[:-1])
            rows = text_ops.split(texts.reshape(-1), self._split)
        if self._ngrams:
            rows = text_ops.ngrams(rows, self._ngrams)
        return rows, scalar

    # --------------------------------------------------------------------------------------------- adapt
    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None) -> None:
        """Learn the vocabulary (and IDF weights) from strings: a list, a NumPy array, or an iterable of
        batches (a generator, a DataLoader, a PyDataset...).

        Raises:
            InputError: the layer has a fixed vocabulary, or the data holds no tokens.
        """
        self.reset_state()
        if is_single_batch(data):
            column = as_string_array(data, self._encoding, f"TextVectorization '{self.name}'")
            batches = [column[:, None] if column.ndim == 1 else column]
        else:
            batches = iter_batches(data, steps, f"TextVectorization '{self.name}'")
        for batch in batches:
            self.update_state(batch)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        """Count the tokens of one batch of strings."""
        rows, _ = self._tokenize(data)
        if isinstance(rows, np.ndarray):
            self._lookup_layer.update_state(rows)
        else:
            self._lookup_layer.update_documents(rows)

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list[str]:
        """The vocabulary in index order (``''`` and ``'[UNK]'`` first unless ``include_special_tokens=False``)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self) -> int:
        """The number of indices, padding and OOV included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Replace the vocabulary (a list of terms or a file path), see :meth:`StringLookup.set_vocabulary`."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    # ---------------------------------------------------------------------------------------------- call
    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any):
        return self.call(inputs)

    def call(self, inputs: Any) -> torch.Tensor:
        rows, scalar = self._tokenize(inputs)
        if isinstance(rows, np.ndarray):
            out = self._lookup_layer(rows)
            return self._fit_length(out) if self._output_mode == "int" else out
        lengths = [len(r) for r in rows]
        flat = np.array([t for r in rows for t in r] or [""], dtype=object)[:sum(lengths)]
        ids = self._lookup_layer._lookup(flat) if flat.size else torch.zeros(0, dtype=torch.int64)
        pad = 0 if self._output_mode == "int" else -1
        width = max(lengths, default=0)
        padded = torch.full((len(rows), width), pad, dtype=torch.int64)
        mask = torch.arange(width).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
        padded[mask] = ids
        if self._output_mode == "int":
            out = self._fit_length(padded)
            return out[0] if scalar else out
        out = self._lookup_layer._encode(padded)
        return out[0] if scalar else out

    def _fit_length(self, ids: torch.Tensor) -> torch.Tensor:
        length = self._output_sequence_length
        if length is None:
            return ids
        ids = ids[..., :length]
        return torch.nn.functional.pad(ids, (0, length - ids.shape[-1]))

    # -------------------------------------------------------------------------------------------- config
    def get_config(self) -> dict:
        lookup = self._lookup_layer.get_config()
        return {**super().get_config(), "max_tokens": lookup["max_tokens"],
                "standardize": _callable_config(self._standardize), "split": _callable_config(self._split),
                "ngrams": self._ngrams_arg, "output_mode": self._output_mode,
                "output_sequence_length": self._output_sequence_length,
                "pad_to_max_tokens": lookup["pad_to_max_tokens"], "sparse": False, "ragged": self._ragged,
                "vocabulary": lookup["vocabulary"], "idf_weights": lookup["idf_weights"],
                "encoding": self._encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config: dict) -> "TextVectorization":
        config = dict(config)
        for key in ("standardize", "split"):
            if isinstance(config.get(key), dict):
                config[key] = serialization.deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        if config.get("vocabulary") is None:
            config.pop("vocabulary_size", None)  # nothing learnt yet: the size is the empty vocabulary's
        return cls(**config)

    def load_assets(self, files: dict[str, bytes]) -> None:
        """Read the vocabulary of a Keras ``.keras`` archive (see :meth:`StringLookup.load_assets`)."""
        self._lookup_layer.load_assets(files)


def _callable_config(value: Any) -> Any:
    return serialization.serialize_keras_object(value) if callable(value) else value
