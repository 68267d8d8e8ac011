"""Padding variable-length sequences into one array, as ``keras.utils.pad_sequences`` does.

Example:
    >>> from loom.datasets.sequence import pad_sequences
    >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
    array([[0, 0, 1],
           [0, 2, 3],
           [4, 5, 6]], dtype=int32)
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from loom.errors import ConfigError, InputError, ShapeError

_SIDES = ("pre", "post")


def pad_sequences(
    sequences: Sequence[Sequence[Any]],
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pads (and truncates) sequences to one length, returning a ``(num_samples, maxlen, ...)`` array.

    Same behaviour as ``keras.utils.pad_sequences``: sequences shorter than ``maxlen`` are filled with
    ``value``, longer ones are cut; ``padding`` and ``truncating`` pick the side. Elements may themselves be
    arrays (all of the first non-empty sequence's element shape).

    Args:
        sequences: A list of sequences (lists or arrays of numbers).
        maxlen: Length of the output rows. Defaults to `None`: the length of the longest sequence.
        dtype: dtype of the output. Defaults to `"int32"`; use `object` to pad strings of varying length.
        padding: `"pre"` or `"post"`: pad before or after each sequence. Defaults to `"pre"`.
        truncating: `"pre"` or `"post"`: drop values from the start or the end of sequences longer than
            ``maxlen``. Defaults to `"pre"`.
        value: The padding value. Defaults to `0.0`.

    Returns:
        A NumPy array of shape ``(len(sequences), maxlen) + element_shape``.

    Raises:
        loom.errors.ConfigError: ``padding``/``truncating`` is not "pre" or "post", ``maxlen`` is negative, or
            a string ``value`` is used with a non-string ``dtype``.
        loom.errors.InputError: ``sequences`` is not a list of sequences.
        loom.errors.ShapeError: Sequence elements have different shapes.

    Example:
        >>> pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="post", truncating="post", value=-1)
        array([[ 1,  2],
               [ 4, -1]], dtype=int32)
    """
    for name, side in (("padding", padding), ("truncating", truncating)):
        if side not in _SIDES:
            raise ConfigError(f"pad_sequences: {name}={side!r} is not understood; use one of {list(_SIDES)}.")
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    if maxlen is None:
        maxlen = max(lengths, default=0)
    if maxlen < 0:
        raise ConfigError(f"pad_sequences: maxlen must be >= 0 or None; got {maxlen}.")
    _check_value_fits_dtype(value, dtype)
    padded = np.full((len(lengths), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return padded
    for index, sequence in enumerate(sequences):
        if not lengths[index]:
            continue
        kept = np.asarray(sequence[-maxlen:] if truncating == "pre" else sequence[:maxlen], dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ShapeError(
                f"pad_sequences: the elements of sequence {index} have shape {kept.shape[1:]}, but those of the "
                f"first non-empty sequence have shape {sample_shape}."
            )
        if padding == "post":
            padded[index, : len(kept)] = kept
        else:
            padded[index, -len(kept) :] = kept
    return padded


def _lengths_and_sample_shape(sequences: Any) -> tuple[list[int], tuple[int, ...]]:
    """Each sequence's length, and the element shape of the first non-empty sequence."""
    if not hasattr(sequences, "__len__"):
        raise InputError(f"pad_sequences: `sequences` must be a list of sequences; got {type(sequences).__name__}.")
    lengths, sample_shape = [], None
    for index, sequence in enumerate(sequences):
        try:
            lengths.append(len(sequence))
        except TypeError as e:
            raise InputError(
                f"pad_sequences: `sequences` must be a list of sequences; item {index} is {sequence!r}, "
                "which has no length."
            ) from e
        if sample_shape is None and lengths[-1]:
            sample_shape = np.asarray(sequence).shape[1:]
    return lengths, sample_shape or ()


def _check_value_fits_dtype(value: Any, dtype: Any) -> None:
    is_string_dtype = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.bytes_)
    if isinstance(value, str) and dtype is not object and not is_string_dtype:
        raise ConfigError(
            f"pad_sequences: dtype {dtype} cannot hold the string padding value {value!r}; "
            "use dtype=object for variable-length strings."
        )
