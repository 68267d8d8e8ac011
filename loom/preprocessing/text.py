"""``keras.preprocessing.text`` of Keras 2: ``Tokenizer``, ``text_to_word_sequence``, ``one_hot``, ``hashing_trick``.

Kept for code (and books) written for Keras 2; Keras 3 dropped the module in favour of the
``TextVectorization`` layer. Same rules as Keras 2: words are split after lower-casing and replacing the
``filters`` characters by ``split``; word indices start at 1, ranked by frequency (ties keep first-seen order),
with ``oov_token`` (when given) at index 1.

Example:
    >>> tokenizer = Tokenizer(num_words=4)
    >>> tokenizer.fit_on_texts(["The cat sat.", "The dog sat on the mat!"])
    >>> tokenizer.word_index["the"], tokenizer.texts_to_sequences(["the dog sat"])
    (1, [[1, 2]])
    >>> tokenizer.texts_to_matrix(["the cat the"], mode="count").tolist()
    [[0.0, 2.0, 0.0, 1.0]]
"""

from __future__ import annotations

import collections
import hashlib
import json
import math
from typing import Any, Callable, Iterable

import numpy as np

from loom.errors import ConfigError

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(input_text: str, filters: str = DEFAULT_FILTERS, lower: bool = True,
                          split: str = " ") -> list[str]:
    """The words of ``input_text``: lower-cased, ``filters`` characters replaced by ``split``, empty ones dropped.

    Example:
        >>> text_to_word_sequence("Hello, World!")
        ['hello', 'world']
    """
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in input_text.split(split) if w]


def hashing_trick(text: str, n: int, hash_function: Callable | str | None = None, filters: str = DEFAULT_FILTERS,
                  lower: bool = True, split: str = " ") -> list[int]:
    """Each word hashed to an index in ``[1, n)`` (``hash_function``: a callable, ``"md5"``, or ``None``: ``hash``).

    Example:
        >>> hashing_trick("a b a", 10, hash_function="md5")[0] == hashing_trick("a", 10, hash_function="md5")[0]
        True
    """
    if n < 2:
        raise ConfigError(f"hashing_trick: `n` must be at least 2; got {n}.")
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(word: str) -> int:
            return int(hashlib.md5(word.encode()).hexdigest(), 16)  # noqa: S324 - not security, Keras's choice
    seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [int(hash_function(w) % (n - 1) + 1) for w in seq]


def one_hot(input_text: str, n: int, filters: str = DEFAULT_FILTERS, lower: bool = True, split: str = " ",
            analyzer: Callable | None = None) -> list[int]:
    """``hashing_trick`` with Python's ``hash`` (indices in ``[1, n)``; not stable across processes).

    Example:
        >>> len(one_hot("one two three", 50))
        3
    """
    if analyzer is not None:
        return [int(hash(w) % (n - 1) + 1) for w in analyzer(input_text)]
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower, split=split)


class Tokenizer:
    """Turns texts into sequences of word indices or into bag-of-words matrices (Keras 2's ``Tokenizer``).

    Args:
        num_words: Keep only words with index below ``num_words`` when converting. Defaults to `None`: all.
        filters: Characters removed from texts. Defaults to punctuation, tabs and line breaks.
        lower: Lower-case texts. Defaults to `True`.
        split: Word separator. Defaults to `" "`.
        char_level: Treat every character as a token. Defaults to `False`.
        oov_token: Token standing for unknown words (index 1). Defaults to `None`: drop them.
        analyzer: A callable splitting a text into tokens, replacing the rules above. Defaults to `None`.

    Example:
        >>> t = Tokenizer(oov_token="<unk>")
        >>> t.fit_on_texts(["a b b"])
        >>> t.word_index, t.texts_to_sequences(["b c"])
        ({'<unk>': 1, 'b': 2, 'a': 3}, [[2, 1]])
    """

    def __init__(self, num_words: int | None = None, filters: str = DEFAULT_FILTERS, lower: bool = True,
                 split: str = " ", char_level: bool = False, oov_token: str | None = None,
                 analyzer: Callable | None = None, **kwargs: Any):
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise ConfigError(f"Tokenizer: unexpected keyword arguments {sorted(kwargs)}.")
        self.num_words, self.filters, self.lower, self.split = num_words, filters, lower, split
        self.char_level, self.oov_token, self.analyzer = char_level, oov_token, analyzer
        self.document_count = document_count
        self.word_counts: collections.OrderedDict = collections.OrderedDict()
        self.word_docs: collections.defaultdict = collections.defaultdict(int)
        self.index_docs: collections.defaultdict = collections.defaultdict(int)
        self.word_index: dict[str, int] = {}
        self.index_word: dict[int, str] = {}

    def _tokens(self, text: Any) -> list[str]:
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return list(text)
        if self.analyzer is not None:
            return list(self.analyzer(text))
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    def fit_on_texts(self, texts: Iterable[Any]) -> None:
        """Count the words of ``texts`` (strings, or lists of tokens) and rebuild ``word_index``."""
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        ranked = sorted(self.word_counts.items(), key=lambda item: item[1], reverse=True)  # stable: ties in order
        vocabulary = ([self.oov_token] if self.oov_token is not None else []) + [w for w, _ in ranked]
        self.word_index = {w: i for i, w in enumerate(vocabulary, start=1)}
        self.index_word = {i: w for w, i in self.word_index.items()}
        self.index_docs = collections.defaultdict(int, {self.word_index[w]: c for w, c in self.word_docs.items()})

    def fit_on_sequences(self, sequences: Iterable[Iterable[int]]) -> None:
        """Count in how many sequences each index appears (needed by ``mode="tfidf"`` without texts)."""
        for seq in sequences:
            self.document_count += 1
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts: Iterable[Any]) -> list[list[int]]:
        """Each text as a list of word indices (unknown or ``>= num_words`` words dropped or set to the OOV index)."""
        oov = self.word_index.get(self.oov_token) if self.oov_token is not None else None
        out = []
        for text in texts:
            seq = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and not (self.num_words and i >= self.num_words):
                    seq.append(i)
                elif oov is not None:
                    seq.append(oov)
            out.append(seq)
        return out

    def sequences_to_texts(self, sequences: Iterable[Iterable[int]]) -> list[str]:
        """Each sequence of indices back as a space-joined text (unknown indices dropped or as the OOV token)."""
        texts = []
        for seq in sequences:
            words = []
            for i in seq:
                w = self.index_word.get(i)
                if w is not None and not (self.num_words and i >= self.num_words):
                    words.append(w)
                elif self.oov_token is not None:
                    words.append(self.oov_token)
            texts.append(" ".join(words))
        return texts

    def texts_to_matrix(self, texts: Iterable[Any], mode: str = "binary") -> np.ndarray:
        """A ``(len(texts), num_words)`` matrix; see :meth:`sequences_to_matrix`."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences: list[list[int]], mode: str = "binary") -> np.ndarray:
        """Bag of words per sequence: ``"binary"`` (0/1), ``"count"``, ``"freq"`` (count / length) or ``"tfidf"``.

        Raises:
            ConfigError: unknown ``mode``, or no vocabulary to size the matrix, or tfidf before fitting.
        """
        if mode not in MODES:
            raise ConfigError(f"Tokenizer: `mode` must be one of {MODES}; got {mode!r}.")
        size = self.num_words or (len(self.word_index) + 1 if self.word_index else 0)
        if not size:
            raise ConfigError("Tokenizer: specify `num_words` or fit the tokenizer on texts first.")
        if mode == "tfidf" and not self.document_count:
            raise ConfigError("Tokenizer: fit on texts or sequences before using mode='tfidf'.")
        x = np.zeros((len(sequences), size))
        for row, seq in enumerate(sequences):
            if not seq:
                continue
            counts = collections.Counter(j for j in seq if j < size)
            for j, c in counts.items():
                if mode == "count":
                    x[row, j] = c
                elif mode == "freq":
                    x[row, j] = c / len(seq)
                elif mode == "binary":
                    x[row, j] = 1
                else:
                    idf = math.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[row, j] = (1 + math.log(c)) * idf
        return x

    def get_config(self) -> dict:
        """The settings and fitted state (JSON-encoded tables, as Keras 2)."""
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower, "split": self.split,
                "char_level": self.char_level, "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts), "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs), "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs: Any) -> str:
        """The tokenizer as JSON (read back with :func:`tokenizer_from_json`)."""
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string: str) -> Tokenizer:
    """A :class:`Tokenizer` from :meth:`Tokenizer.to_json` output (Keras 2's format).

    Example:
        >>> t = Tokenizer(); t.fit_on_texts(["x y y"])
        >>> tokenizer_from_json(t.to_json()).word_index
        {'y': 1, 'x': 2}
    """
    config = dict(json.loads(json_string).get("config", {}))
    tables = {k: json.loads(config.pop(k)) for k in ("word_counts", "word_docs", "index_docs", "index_word",
                                                     "word_index") if k in config}
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = collections.OrderedDict(tables.get("word_counts", {}))
    tokenizer.word_docs = collections.defaultdict(int, tables.get("word_docs", {}))
    tokenizer.index_docs = collections.defaultdict(int, {int(k): v for k, v in tables.get("index_docs", {}).items()})
    tokenizer.index_word = {int(k): v for k, v in tables.get("index_word", {}).items()}
    tokenizer.word_index = tables.get("word_index", {})
    return tokenizer
