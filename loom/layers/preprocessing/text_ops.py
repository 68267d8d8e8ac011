"""The string steps of ``TextVectorization``: standardize, split and n-grams, as TensorFlow does them.

Strings are NumPy arrays of Python ``str``; tokens are lists of ``str`` per input string. ``lower`` changes
ASCII letters only and punctuation is the ASCII set Keras strips, so tokens equal Keras's.

Example:
    >>> import numpy as np
    >>> from loom.layers.preprocessing.text_ops import ngrams, split, standardize
    >>> texts = standardize(np.array(["The cat, the HAT!"], dtype=object), "lower_and_strip_punctuation")
    >>> tokens = split(texts, "whitespace")
    >>> tokens
    [['the', 'cat', 'the', 'hat']]
    >>> ngrams(tokens, (2,))
    [['the cat', 'cat the', 'the hat']]
"""

from __future__ import annotations

import re
from typing import Any, Callable, Sequence

import numpy as np

from loom.errors import ConfigError, InputError

PUNCTUATION = re.compile(r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']')
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
STANDARDIZE_MODES = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
SPLIT_MODES = ("whitespace", "character")


def standardize(texts: np.ndarray, mode: str | Callable | None) -> np.ndarray:
    """``texts`` lowercased and/or stripped of punctuation, or passed through a callable (which gets and
    returns a NumPy array of strings, as Keras's callables on non-TensorFlow backends)."""
    if mode is None:
        return texts
    if callable(mode):
        result = np.asarray(mode(texts.astype(str)), dtype=object)
        if result.shape != texts.shape:
            raise InputError(f"TextVectorization: the standardize callable returned shape {result.shape} for "
                             f"inputs of shape {texts.shape}; it must keep the shape.")
        return np.vectorize(str, otypes=[object])(result) if result.size else result
    flat = texts.reshape(-1).copy()
    for i, text in enumerate(flat):
        if mode in ("lower", "lower_and_strip_punctuation"):
            text = text.translate(_ASCII_LOWER)
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            text = PUNCTUATION.sub("", text)
        flat[i] = text
    return flat.reshape(texts.shape)


def split(texts: np.ndarray, mode: str | Callable) -> list[list[str]]:
    """One token list per string of the 1D ``texts``: on ASCII whitespace, per character, or by a callable
    (which gets the 1D array and returns one sequence of tokens per string)."""
    if callable(mode):
        rows = mode(texts.astype(str))
        rows = [[str(t) for t in row] for row in rows]
        if len(rows) != len(texts):
            raise InputError(f"TextVectorization: the split callable returned {len(rows)} token lists for "
                             f"{len(texts)} strings; it must return one per string.")
        return rows
    if mode == "character":
        return [list(text) for text in texts]
    return [[t for t in _WHITESPACE.split(text) if t] for text in texts]


def ngrams(rows: Sequence[Sequence[str]], widths: Sequence[int]) -> list[list[str]]:
    """The n-grams of every width in ``widths`` (all of the first width, then the next...), joined by a space."""
    out = []
    for row in rows:
        grams: list[str] = []
        for n in widths:
            grams.extend(" ".join(row[i:i + n]) for i in range(len(row) - n + 1))
        out.append(grams)
    return out


def check_mode(value: Any, allowed: tuple, arg: str) -> None:
    """Raise unless ``value`` is ``None``, a callable or one of ``allowed``."""
    if value is None or callable(value) or value in allowed:
        return
    raise ConfigError(f"TextVectorization: {arg} must be None, a callable or one of {allowed}; got {value!r}.")
