"""Reading CIFAR's "python version" batch files (shared by :mod:`cifar10` and :mod:`cifar100`).

A dataset is found as a directory holding the batch files, a directory containing that directory, or the
original ``.tar.gz`` archive (members are read from it directly, nothing is extracted). Batches are pickled
dicts; they are read with :func:`loom.datasets.safe_pickle.safe_load`, which rebuilds NumPy arrays only.

Example:
    >>> import io, pickle
    >>> import numpy as np
    >>> blob = pickle.dumps({b"data": np.zeros((2, 3072), "uint8"), b"labels": [3, 5]}, protocol=2)
    >>> x, y = parse_batch(blob, "labels", "demo")
    >>> x.shape, y
    ((2, 3, 32, 32), [3, 5])
"""

from __future__ import annotations

import io
import os
import tarfile

import numpy as np

from loom import config
from loom.datasets._files import PathLike, candidate_locations, describe_locations, keras_cache_dir
from loom.datasets.safe_pickle import safe_load
from loom.errors import DatasetNotFoundError, InputError


def parse_batch(blob: bytes, label_key: str, name: str) -> tuple[np.ndarray, list]:
    """``(data (n, 3, 32, 32) uint8, labels)`` from one pickled batch."""
    batch = safe_load(io.BytesIO(blob), encoding="bytes")
    if not isinstance(batch, dict):
        raise InputError(f"CIFAR batch {name} is not a dict.")
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or label_key not in batch:
        raise InputError(f"CIFAR batch {name} has no 'data' or {label_key!r} entry (keys: {sorted(batch)}).")
    data = np.asarray(batch["data"])
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(batch[label_key]) != len(data):
        raise InputError(f"CIFAR batch {name}: data of shape {data.shape} with {len(batch[label_key])} labels; "
                         f"expected (n, 3072) and n labels.")
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def read_members(path: PathLike | None, env_var: str, folder: str, archive: str, target: str,
                 names: list[str], url: str) -> dict[str, bytes]:
    """The bytes of each batch file ``names`` of dataset ``folder`` (e.g. ``cifar-10-batches-py``).

    Looked for in ``path`` (a directory or the archive), else ``$env_var``, else Keras's cache
    (``~/.keras/datasets/<target>/<folder>``, ``~/.keras/datasets/<folder>``, ``~/.keras/datasets/<archive>``).
    """
    cache = keras_cache_dir()
    defaults = [os.path.join(cache, target), os.path.join(cache, folder), os.path.join(cache, archive)]
    locations = candidate_locations(path, env_var, defaults)
    for location, _ in locations:
        for directory in (location, os.path.join(location, folder)):
            if all(os.path.isfile(os.path.join(directory, n)) for n in names):
                return {n: _read(os.path.join(directory, n)) for n in names}
        if os.path.isfile(location) and tarfile.is_tarfile(location):
            return _from_archive(location, folder, names)
    raise DatasetNotFoundError(f"{folder} not found. Looked in:\n{describe_locations(locations)}\nNothing is "
                               f"downloaded: get {url} on a machine with internet access (or run Keras's loader once),"
                               f" then pass path= (the archive or the extracted directory) or set ${env_var}.")


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _from_archive(archive: str, folder: str, names: list[str]) -> dict[str, bytes]:
    found = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if member.isfile() and len(parts) >= 2 and parts[-2] == folder and parts[-1] in names:
                found[parts[-1]] = tar.extractfile(member).read()
    missing = [n for n in names if n not in found]
    if missing:
        raise InputError(f"{archive} lacks {folder}/{missing[0]} (missing: {missing}).")
    return found


def to_data_format(x: np.ndarray) -> np.ndarray:
    """``(n, 3, 32, 32)`` as ``(n, 32, 32, 3)`` under channels_last (the global image data format)."""
    return x.transpose(0, 2, 3, 1) if config.image_data_format() == "channels_last" else x
