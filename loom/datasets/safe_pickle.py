"""Reading the pickled files of the standard datasets without executing code.

CIFAR's Python batches and Keras's ``reuters.npz`` (ragged object arrays) are pickles. They are read with an
unpickler that only rebuilds NumPy arrays and dtypes (plus plain Python containers, numbers, strings and
bytes); any other global in the stream is refused, so a crafted file cannot run code.

Example:
    >>> import io, pickle
    >>> import numpy as np
    >>> safe_load(io.BytesIO(pickle.dumps({"a": np.arange(3)})))["a"].tolist()
    [0, 1, 2]
    >>> safe_load(io.BytesIO(pickle.dumps(print)))
    Traceback (most recent call last):
    ...
    loom.errors.InputError: Refusing to unpickle builtins.print in a dataset file: only NumPy arrays may be rebuilt.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from typing import Any, BinaryIO

import numpy as np

from loom.errors import InputError

_ALLOWED = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                      ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
                      ("numpy._core.multiarray", "scalar"),
                      ("_codecs", "encode")})  # how Python 3 writes bytes at protocol 2: str -> bytes, nothing more


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise InputError(f"Refusing to unpickle {module}.{name} in a dataset file: only NumPy arrays may be "
                             f"rebuilt.")
        return super().find_class(module, name)


def safe_load(stream: BinaryIO, encoding: str = "ASCII") -> Any:
    """Unpickle ``stream`` allowing only NumPy array reconstruction (``encoding="bytes"`` for Python 2 files)."""
    try:
        return _NumpyOnlyUnpickler(stream, encoding=encoding).load()
    except InputError:
        raise
    except Exception as e:  # truncated or corrupt streams raise many types
        raise InputError(f"Corrupt pickled dataset file ({type(e).__name__}: {e}).") from e


def load_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` archive; object arrays (ragged sequences) go through :func:`safe_load`."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                data = io.BytesIO(archive.read(name))
                key = name[:-4] if name.endswith(".npy") else name
                try:
                    arrays[key] = np.lib.format.read_array(data, allow_pickle=False)
                except ValueError:
                    data.seek(0)
                    major, _ = np.lib.format.read_magic(data)
                    if major == 1:
                        np.lib.format.read_array_header_1_0(data)
                    else:
                        np.lib.format.read_array_header_2_0(data)
                    arrays[key] = safe_load(data)
    except zipfile.BadZipFile as e:
        raise InputError(f"{path} is not an .npz archive ({e}).") from e
    return arrays
