"""Inference settings read from the environment when a plan is made (never at import), with clear errors.

``LOOM_INFERENCE_CHUNK_BYTES``: the largest activation of one piece when CPU inference runs a large batch in
pieces, and of the merged batches ``predict`` runs (default 16 MiB; ``0`` never splits or merges a batch).

Example:
    >>> chunk_bytes() >= 0
    True
"""

from __future__ import annotations

import os

from loom.errors import ConfigError

CHUNK_BYTES_ENV = "LOOM_INFERENCE_CHUNK_BYTES"
DEFAULT_CHUNK_BYTES = 16 << 20


def chunk_bytes() -> int:
    """The piece budget in bytes from ``LOOM_INFERENCE_CHUNK_BYTES`` (default 16 MiB).

    Raises:
        ConfigError: the variable is not a whole number >= 0 (the message shows what it holds).
    """
    value = os.environ.get(CHUNK_BYTES_ENV)
    if value is None or not value.strip():
        return DEFAULT_CHUNK_BYTES
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise ConfigError(f"{CHUNK_BYTES_ENV} must be a whole number of bytes >= 0 (0 never splits a batch), "
                          f"got {value!r}.")
    return number
