"""safetensors encoding, and decoding that validates every byte of the header before trusting it.

A safetensors file is an 8-byte little-endian header length, a JSON header mapping each tensor name to
``{"dtype", "shape", "data_offsets"}`` (plus an optional ``"__metadata__"`` of strings), then the raw
tensor bytes. :func:`decode` checks the header's size, types, dtypes, shapes and offsets against the
actual data before the ``safetensors`` library reads the tensors, so a truncated or hostile file raises
:class:`~loom.errors.ModelFileError` naming the problem, and never allocates more than the file holds.

Example:
    >>> import torch
    >>> data = encode({"dense/kernel": torch.ones(2, 3)}, {"format": "pt"})
    >>> tensors, metadata = decode(data, "example")
    >>> tuple(tensors["dense/kernel"].shape), metadata
    ((2, 3), {'format': 'pt'})
"""

from __future__ import annotations

import json
import math
from typing import Any

import torch

from loom.errors import ConfigError, LoomError, ModelFileError

_ITEM_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}
_NAMES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}
MAX_HEADER_BYTES = 100 * 1024 * 1024
_MAX_NDIM = 32
_MAX_DIM = 2 ** 48


def encode(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    """The safetensors bytes of ``tensors`` (copied to the CPU), byte-for-byte deterministic.

    Tensors are laid out widest dtype first, then by name, so every offset is aligned to its item size
    (the header is padded to a multiple of 8 bytes, as the format recommends).
    """
    entries = []
    for name, t in tensors.items():
        if t.dtype not in _NAMES:
            raise ConfigError(f"Cannot save tensor {name!r} of dtype {t.dtype}; safetensors dtypes: "
                              f"{sorted(str(d) for d in _NAMES)}.")
        entries.append((name, t.detach().cpu().contiguous()))
    entries.sort(key=lambda e: (-e[1].element_size(), e[0]))
    header: dict[str, Any] = {"__metadata__": dict(sorted((metadata or {}).items()))} if metadata else {}
    offset = 0
    for name, t in entries:
        size = t.numel() * t.element_size()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    chunks = [len(text).to_bytes(8, "little"), text]
    chunks += [t.reshape(-1).view(torch.uint8).numpy().tobytes() for _, t in entries if t.numel()]
    return b"".join(chunks)


def decode(data: bytes, source: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``(tensors, metadata)`` from safetensors bytes, after :func:`check_header`.

    Raises:
        ModelFileError: the bytes are not a valid safetensors file; the message names ``source``.
    """
    check_header(data, source)
    from safetensors.torch import load
    try:
        tensors = load(bytes(data))
    except LoomError:
        raise
    except Exception as e:  # noqa: BLE001 - the library's own checks, reported in loom's terms
        raise ModelFileError(f"{source}: not a valid safetensors file: {e}") from e
    return tensors, read_metadata(data)


def read_metadata(data: bytes) -> dict[str, str]:
    header = json.loads(bytes(data[8:8 + int.from_bytes(data[:8], "little")]))
    return dict(header.get("__metadata__") or {})


def check_header(data: bytes, source: str) -> dict[str, Any]:
    """Validate the header of safetensors ``data`` against its actual length; return the tensor entries.

    Raises:
        ModelFileError: truncated data, a header too large or not JSON, unknown dtypes, bad shapes, or
            offsets outside the data or inconsistent with the shapes.
    """
    if len(data) < 8:
        raise ModelFileError(f"{source}: a safetensors file needs at least 8 bytes, got {len(data)} (truncated?).")
    size = int.from_bytes(data[:8], "little")
    if size > min(len(data) - 8, MAX_HEADER_BYTES):
        raise ModelFileError(f"{source}: the safetensors header claims {size} bytes but the data holds "
                             f"{len(data) - 8} (truncated or corrupt).")
    try:
        header = json.loads(bytes(data[8:8 + size]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFileError(f"{source}: the safetensors header is not valid JSON: {e}") from e
    if not isinstance(header, dict):
        raise ModelFileError(f"{source}: the safetensors header must be a JSON object, got {type(header).__name__}.")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        raise ModelFileError(f"{source}: the safetensors __metadata__ must map strings to strings.")
    buffer_len = len(data) - 8 - size
    for name, info in header.items():
        _check_entry(name, info, buffer_len, source)
    return header


def _check_entry(name: str, info: Any, buffer_len: int, source: str) -> None:
    where = f"{source}: tensor {name!r:.80}"
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{where} must have exactly the keys dtype, shape and data_offsets.")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _ITEM_SIZES:
        raise ModelFileError(f"{where} has dtype {dtype!r:.40}; loom reads {sorted(_ITEM_SIZES)}.")
    if not (isinstance(shape, list) and len(shape) <= _MAX_NDIM and all(_is_count(d, _MAX_DIM) for d in shape)):
        raise ModelFileError(f"{where} has an invalid shape {shape!r:.100}.")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o, buffer_len) for o in offsets)
            and offsets[0] <= offsets[1]):
        raise ModelFileError(f"{where} has data_offsets {offsets!r:.100} outside the {buffer_len} data bytes "
                             f"(truncated or corrupt).")
    if offsets[1] - offsets[0] != math.prod(shape) * _ITEM_SIZES[dtype]:
        raise ModelFileError(f"{where} of shape {shape} and dtype {dtype} needs "
                             f"{math.prod(shape) * _ITEM_SIZES[dtype]} bytes, but its offsets span "
                             f"{offsets[1] - offsets[0]}.")


def _is_count(value: Any, limit: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= limit
