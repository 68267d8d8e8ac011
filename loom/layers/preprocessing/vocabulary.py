"""Vocabulary building blocks shared by the lookup layers: token counting, ordering, files and IDF weights.

Example:
    >>> from loom.layers.preprocessing.vocabulary import TokenCounter
    >>> counter = TokenCounter(count_documents=False)
    >>> counter.update([["b", "a", "b"], ["c"]])
    >>> counter.most_common(None, exclude=())
    ['b', 'c', 'a']
"""

from __future__ import annotations

import collections
import math
import os
from typing import Any, Hashable, Iterable, Sequence

from loom.errors import ConfigError, InputError


class TokenCounter:
    """Occurrence counts (and, for TF-IDF, document counts) of the tokens seen by ``adapt``."""

    def __init__(self, count_documents: bool):
        self.counts: collections.Counter = collections.Counter()
        self.document_counts: collections.Counter | None = collections.Counter() if count_documents else None
        self.num_documents = 0

    def update(self, documents: Iterable[Sequence[Hashable]]) -> None:
        """Count the tokens of each document (a sequence of tokens)."""
        for doc in documents:
            self.counts.update(doc)
            if self.document_counts is not None:
                self.document_counts.update(set(doc))
                self.num_documents += 1

    def most_common(self, limit: int | None, exclude: Iterable[Any]) -> list:
        """The tokens by count, high to low, ties broken by token, high to low (Keras's deterministic order)."""
        skip = set(exclude)
        items = [(count, token) for token, count in self.counts.items() if token not in skip]
        items.sort(reverse=True)
        tokens = [token for _, token in items]
        return tokens if limit is None else tokens[:max(limit, 0)]

    def idf(self, tokens: Sequence[Any]) -> list[float]:
        """``log(1 + num_documents / (1 + document_count))`` of each token."""
        return [math.log(1 + self.num_documents / (1 + self.document_counts[t])) for t in tokens]


def read_vocabulary_file(path: str, where: str) -> list[str]:
    """The lines of a vocabulary file (one token per line; trailing empty lines dropped)."""
    if not os.path.isfile(path):
        raise InputError(f"{where}: vocabulary file {path!r} does not exist.")
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def check_unique(tokens: Sequence[Any], where: str) -> None:
    """Raise when a vocabulary repeats a token (the repeated tokens are named)."""
    if len(set(tokens)) != len(tokens):
        repeated = [t for t, c in collections.Counter(tokens).items() if c > 1]
        raise InputError(f"{where}: the vocabulary repeats the term(s) {repeated[:10]}; each term must appear once.")


def pad_idf(weights: Sequence[float], front: int, front_value: float, back: int) -> list[float]:
    """IDF weights with ``front`` special-token entries and ``back`` zero entries (``pad_to_max_tokens``)."""
    if back < 0:
        raise ConfigError(f"The vocabulary ({front + len(weights)} entries) is larger than max_tokens.")
    return [front_value] * front + [float(w) for w in weights] + [0.0] * back
