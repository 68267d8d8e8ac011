"""Read and write the IDX format that MNIST, Fashion-MNIST and their relatives are shipped in.

An IDX file is a small header followed by the values, row-major and big-endian:

====================  ==========================================================================
bytes 0-1             zero
byte 2                dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                      0x0E float64
byte 3                number of dimensions ``n``
next ``4 * n`` bytes  each dimension as a big-endian unsigned 32-bit integer
the rest              the values
====================  ==========================================================================

Files may be gzip-compressed. The reader recognises gzip by its magic bytes, whatever the file is named;
the writer compresses when the file name ends in ``.gz``.

Example:
    >>> import os, tempfile
    >>> import numpy as np
    >>> from loom.datasets.idx import read_idx, write_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte.gz")
    >>> write_idx(path, np.array([3, 1, 4], dtype="uint8"))
    >>> read_idx(path)
    array([3, 1, 4], dtype=uint8)
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from typing import BinaryIO

import numpy as np

from loom.io_utils import PathLike, atomic_open
from loom.errors import ConfigError, InputError

_CODE_TO_DTYPE = {
    0x08: np.dtype("uint8"),
    0x09: np.dtype("int8"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_NAME_TO_CODE = {dtype.name: code for code, dtype in _CODE_TO_DTYPE.items()}
_VALID_CODES = ", ".join(f"0x{code:02X} ({dtype.name})" for code, dtype in _CODE_TO_DTYPE.items())
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK_BYTES = 1 << 24
_MAX_DIM = 2**32 - 1


def read_idx(path: PathLike) -> np.ndarray:
    """Reads an IDX file, gzip-compressed or not, into a NumPy array.

    The header is checked against the data: a file whose header is garbled, whose data is shorter than the
    header says, or which has bytes left over after the data is refused.

    Args:
        path: The file to read (``.gz`` or uncompressed; gzip is detected from the content).

    Returns:
        A writable array with the file's shape and dtype, in native byte order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        loom.errors.InputError: The file is not a valid IDX file; the message names the file and the fault.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "images-idx3-ubyte")
        >>> write_idx(path, np.zeros((2, 28, 28), dtype="uint8"))
        >>> read_idx(path).shape
        (2, 28, 28)
    """
    path = os.fspath(path)
    with open(path, "rb") as raw:
        compressed = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            return _read_stream(raw, path, file_size=os.fstat(raw.fileno()).st_size)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                return _read_stream(stream, path, file_size=None)
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise InputError(f"{path}: corrupt or truncated gzip data ({e}). Download the file again.") from e


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Writes ``array`` as an IDX file, atomically; gzip-compressed when ``path`` ends in ``.gz``.

    The file is written to a temporary file in the same directory, flushed, fsynced and renamed over
    ``path``, so a reader never sees a partial file.

    Args:
        array: The values; dtype one of uint8, int8, int16, int32, float32, float64, with 1 to 255 dimensions.
        path: The file to write; its directory must exist.

    Raises:
        loom.errors.ConfigError: The dtype or the shape cannot be stored in IDX.

    Example:
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "x.idx")
        >>> write_idx(path, np.arange(6, dtype="float32").reshape(2, 3))
        >>> read_idx(path)
        array([[0., 1., 2.],
               [3., 4., 5.]], dtype=float32)
    """
    array = np.asarray(array)
    header = _encode_header(array)
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder(">"))
    path = os.fspath(path)
    with atomic_open(path) as f:
        if path.endswith(".gz"):
            with gzip.GzipFile(filename=os.path.basename(path), mode="wb", fileobj=f, compresslevel=6, mtime=0) as gz:
                _write_payload(gz, header, data)
        else:
            _write_payload(f, header, data)


def _write_payload(f: BinaryIO, header: bytes, data: np.ndarray) -> None:
    f.write(header)
    if data.size:
        f.write(memoryview(data.reshape(-1)).cast("B"))


def _encode_header(array: np.ndarray) -> bytes:
    code = _NAME_TO_CODE.get(array.dtype.name)
    if code is None:
        raise ConfigError(
            f"write_idx: dtype {array.dtype.name} cannot be stored in IDX; use one of: "
            f"{', '.join(_NAME_TO_CODE)} (for example array.astype('float32'))."
        )
    if not 1 <= array.ndim <= 255:
        raise ConfigError(f"write_idx: IDX stores arrays with 1 to 255 dimensions; got shape {array.shape}.")
    if max(array.shape) > _MAX_DIM:
        raise ConfigError(f"write_idx: IDX dimensions must be below 2**32; got shape {array.shape}.")
    return bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)


def _read_stream(stream: BinaryIO, path: str, file_size: int | None) -> np.ndarray:
    dtype, shape = _read_header(stream, path)
    header_bytes = 4 + 4 * len(shape)
    data_bytes = math.prod(shape) * dtype.itemsize
    described = f"shape {shape} of {dtype.name} ({data_bytes} bytes of data)"
    if file_size is not None and file_size != header_bytes + data_bytes:
        found = file_size - header_bytes
        fault = "truncated" if found < data_bytes else f"too long by {found - data_bytes} bytes"
        raise InputError(f"{path}: IDX file is {fault}: the header says {described}, but {found} bytes follow it.")
    buffer = _read_exactly(stream, data_bytes)
    if len(buffer) < data_bytes:
        raise InputError(f"{path}: IDX file is truncated: the header says {described}, but only {len(buffer)} follow.")
    if stream.read(1):
        raise InputError(f"{path}: IDX file is too long: bytes are left over after the {described} of its header.")
    values = np.frombuffer(buffer, dtype=dtype).reshape(shape)
    return values.astype(dtype.newbyteorder("="), copy=False)


def _read_header(stream: BinaryIO, path: str) -> tuple[np.dtype, tuple[int, ...]]:
    magic = stream.read(4)
    if len(magic) < 4:
        raise InputError(f"{path}: not an IDX file: it has {len(magic)} bytes, fewer than the 4-byte magic number.")
    if magic[:2] != b"\x00\x00":
        raise InputError(f"{path}: not an IDX file: the magic number must start with two zero bytes, got {magic!r}.")
    code, ndim = magic[2], magic[3]
    if code not in _CODE_TO_DTYPE:
        raise InputError(f"{path}: IDX header has unknown dtype code 0x{code:02X}; valid codes: {_VALID_CODES}.")
    if ndim == 0:
        raise InputError(f"{path}: IDX header says 0 dimensions; IDX files have at least one.")
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise InputError(f"{path}: IDX file is truncated inside its header ({ndim} dimensions announced).")
    return _CODE_TO_DTYPE[code], struct.unpack(f">{ndim}I", dims)


def _read_exactly(stream: BinaryIO, count: int) -> bytearray:
    """Reads up to ``count`` bytes in chunks, so a garbled header cannot make us allocate a huge buffer."""
    buffer = bytearray()
    while len(buffer) < count:
        chunk = stream.read(min(_CHUNK_BYTES, count - len(buffer)))
        if not chunk:
            break
        buffer += chunk
    return buffer
