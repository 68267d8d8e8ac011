"""File helpers used by every loom writer and reader: atomic writes and size-bounded reads.

Every file loom writes goes through :func:`atomic_write` (or its context-manager form
:func:`atomic_open`): the data goes to a temporary file in the target's directory, is flushed and
fsynced, then renamed over the target, and the directory is fsynced. A crash or an exception midway
leaves the old file untouched and no temporary file behind. A directory written as a whole (an export,
an extracted archive) goes through :func:`atomic_directory` the same way.

Example:
    >>> import os, tempfile
    >>> from loom.io_utils import atomic_write, read_bounded
    >>> target = os.path.join(tempfile.mkdtemp(), "hello.bin")
    >>> atomic_write(target, b"hello")
    >>> atomic_write(target, lambda f: f.write(b" world"))
    >>> read_bounded(target, limit=1024)
    b' world'
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from typing import BinaryIO, Callable, Iterator, Union

from loom.errors import ConfigError, LoomError, ModelFileError

PathLike = Union[str, os.PathLike]
Writer = Union[bytes, bytearray, memoryview, Callable[[BinaryIO], object]]


@contextlib.contextmanager
def atomic_open(path: PathLike, overwrite: bool = True) -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` (read-write binary) and rename it over ``path`` on success.

    If the ``with`` block raises, the temporary file is removed and ``path`` keeps its old content.

    Args:
        path: the file to write; its directory must exist.
        overwrite: replace an existing ``path`` (default ``True``); if ``False`` and ``path`` exists,
            raise ``FileExistsError`` before writing anything.

    Yields:
        A seekable binary file object opened for reading and writing (``'w+b'``).
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        raise ConfigError(f"Expected a text file path, got {path!r}.")
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"{path} already exists and overwrite=False.")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"Cannot write {path}: directory {directory} does not exist.")
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w+b") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp_path, _mode_for(path))
        os.replace(temp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_path)
        raise
    _fsync_directory(directory)


@contextlib.contextmanager
def atomic_directory(path: PathLike, prefix: str | None = None) -> Iterator[str]:
    """Fill a temporary directory beside ``path`` and move it to ``path`` on success, replacing what was there.

    If the ``with`` block raises, the temporary directory is removed and ``path`` keeps its old content.

    Args:
        path: the directory to write; its parent directory must exist.
        prefix: the temporary directory's name prefix (its suffix is ``.part``). Defaults to `None`:
            ``.<name of path>.``.

    Yields:
        The temporary directory's path, to write the content into.

    Example:
        >>> import os, tempfile
        >>> target = os.path.join(tempfile.mkdtemp(), "out")
        >>> with atomic_directory(target) as staging:
        ...     open(os.path.join(staging, "a.txt"), "w").close()
        >>> os.listdir(target)
        ['a.txt']
    """
    path = os.path.abspath(os.fspath(path))
    if prefix is None:
        prefix = "." + os.path.basename(path) + "."
    staging = tempfile.mkdtemp(dir=os.path.dirname(path), prefix=prefix, suffix=".part")
    try:
        yield staging
        if os.path.isdir(path):
            shutil.rmtree(path)
        os.replace(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def atomic_write(path: PathLike, data: Writer, overwrite: bool = True) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory, fsync, rename).

    Args:
        path: the file to write; its directory must exist.
        data: the bytes to write, or a callable receiving a binary file object (opened ``'w+b'``, so
            seekable and readable, as ``zipfile`` and ``h5py`` need) that writes the content.
        overwrite: replace an existing ``path`` (default ``True``).

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is ``False``.
        Whatever the writer raises; ``path`` is then left as it was.
    """
    with atomic_open(path, overwrite=overwrite) as f:
        if isinstance(data, (bytes, bytearray, memoryview)):
            f.write(data)
        elif callable(data):
            data(f)
        else:
            raise ConfigError(f"atomic_write needs bytes or a callable writer, got {type(data).__name__}.")


def read_bounded(path: PathLike, limit: int, what: str = "file") -> bytes:
    """Read a whole file, refusing files over ``limit`` bytes (checked before and while reading).

    Raises:
        ModelFileError: the file is missing, is not a regular file, cannot be read or is too large.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise ModelFileError(f"{path}: the {what} is {size} bytes, more than the limit of {limit}.")
            data = f.read(size + 1)  # one read in the usual case; the loop covers a file that grows
            while len(data) <= limit and (chunk := f.read(min(1 << 24, limit + 1 - len(data)))):
                data += chunk
    except FileNotFoundError as e:
        raise ModelFileError(f"{path}: no such file.") from e
    except IsADirectoryError as e:
        raise ModelFileError(f"{path} is a directory, not a {what}.") from e
    except OSError as e:
        raise ModelFileError(f"{path}: cannot read the {what}: {e}") from e
    if len(data) > limit:
        raise ModelFileError(f"{path}: the {what} grew past the limit of {limit} bytes while being read.")
    return data


def _mode_for(path: str) -> int:
    """Keep the permissions of a file being replaced; new files get the usual rw-r--r--."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return 0o644


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable where the platform allows opening a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


MAX_COMPRESSION_RATIO = 100


def parse_json_object(data: bytes, path: str, entry: str) -> dict:
    """The JSON object stored as ``entry`` of the file at ``path``; anything else is a :class:`ModelFileError`."""
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelFileError(f"{path} ({entry}) is not valid JSON: {e}") from e
    if not isinstance(document, dict):
        raise ModelFileError(f"{path} ({entry}) must hold a JSON object, got {type(document).__name__}.")
    return document


def read_zip_entries(path: str, check_names: Callable[[list[str]], None],
                     entry_limit: Callable[[str], int | None] = lambda name: None) -> dict[str, bytes]:
    """Every entry of the zip archive ``path``, each refused when damaged, encrypted or out of proportion.

    Args:
        path: the archive (its signature is checked by the caller, which knows what it expects).
        check_names: called with the entry names (duplicates included); raises ModelFileError for an
            unexpected set of entries, before anything is decompressed.
        entry_limit: an extra byte limit per entry name (e.g. for JSON documents), or ``None``.

    Raises:
        ModelFileError: anything wrong with the archive, naming the file and the entry.
    """
    size = os.path.getsize(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            check_names([info.filename for info in infos])
            return {info.filename: _read_zip_entry(archive, info, size, path, entry_limit(info.filename))
                    for info in infos}
    except LoomError:
        raise
    except Exception as e:  # noqa: BLE001 - zipfile raises many types for damaged archives
        raise ModelFileError(f"{path}: damaged or truncated archive: {type(e).__name__}: {e}") from e


def _read_zip_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_size: int, path: str,
                    extra_limit: int | None) -> bytes:
    """One entry, refusing encryption, odd compression and sizes out of proportion to the archive."""
    where = f"{path} ({info.filename})"
    if info.flag_bits & 0x1:
        raise ModelFileError(f"{where} is encrypted.")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFileError(f"{where} uses compression method {info.compress_type}; only stored and deflated "
                             f"entries are read.")
    limit = min(max(info.compress_size, 1) * MAX_COMPRESSION_RATIO, archive_size * MAX_COMPRESSION_RATIO)
    if extra_limit is not None:
        limit = min(limit, extra_limit)
    if info.compress_size > archive_size or info.file_size > limit:
        raise ModelFileError(f"{where} declares {info.file_size} bytes ({info.compress_size} compressed) in a "
                             f"{archive_size}-byte file: refused (corrupt or a zip bomb).")
    with archive.open(info) as handle:
        data = handle.read(info.file_size + 1)
    if len(data) != info.file_size:
        raise ModelFileError(f"{where} holds {len(data)} bytes but declares {info.file_size}.")
    return data



# ------------------------------------------------------------------------------ allocations while loading
#: Bytes a model rebuilt from a file may allocate beyond twice the bytes of the weights the file holds
#: (layers' own buffers, temporaries of initializers). Raise it for a file you trust that needs more.
LOAD_ALLOCATION_MARGIN = 64 * 1024 * 1024

_FACTORIES = {"empty", "zeros", "ones", "full", "rand", "randn", "empty_strided", "eye"}


def allocation_limit(weight_bytes: int) -> int:
    """What a model rebuilt from a file holding ``weight_bytes`` of weights may allocate while building."""
    return 2 * int(weight_bytes) + LOAD_ALLOCATION_MARGIN


@contextlib.contextmanager
def bounded_allocations(limit: int, source: str) -> Iterator[None]:
    """Refuse tensor allocations past ``limit`` bytes in total inside the block, before they happen.

    A config read from a file decides layer sizes (``Dense(units=10**12)``); under this guard the layer's
    ``torch.empty`` / ``zeros`` / ``ones`` / ``full`` / ``rand*`` call raises instead of allocating.
    Tensors on the ``meta`` device (shape inference) cost nothing and are not counted.

    Raises:
        ModelFileError: the block asked for more; the message names ``source``, the shape and the limit.

    Example:
        >>> import torch
        >>> with bounded_allocations(1024, "example"):
        ...     small = torch.zeros(16)
        >>> try:
        ...     with bounded_allocations(1024, "example"):
        ...         torch.zeros(10 ** 6, 10 ** 6)
        ... except ModelFileError as e:
        ...     print(str(e)[:44])
        example: building the model would allocate a
    """
    from torch.overrides import TorchFunctionMode

    class _Bounded(TorchFunctionMode):
        total = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            name = getattr(func, "__name__", "")
            if name in _FACTORIES and str(kwargs.get("device", "")) != "meta":
                self._count(name, args, kwargs)
            return func(*args, **kwargs)

        def _count(self, name: str, args: tuple, kwargs: dict) -> None:
            shape = _factory_shape(name, args, kwargs)
            if shape is None:
                return
            import torch
            dtype = kwargs.get("dtype") or torch.get_default_dtype()
            size = _product(shape) * torch.empty((), dtype=dtype, device="meta").element_size()
            self.total += size
            if self.total > limit:
                raise ModelFileError(
                    f"{source}: building the model would allocate a {name}{tuple(shape)} tensor ({size} bytes; "
                    f"{self.total} in all), more than the {limit} bytes allowed for the weights this file holds. "
                    f"The file's config declares layers far larger than its weights (corrupt or hostile). For a "
                    f"file you trust, raise loom.io_utils.LOAD_ALLOCATION_MARGIN.")

    with _Bounded():
        yield


def _factory_shape(name: str, args: tuple, kwargs: dict) -> list[int] | None:
    if name == "eye":
        n = args[0] if args else kwargs.get("n")
        m = args[1] if len(args) > 1 and isinstance(args[1], int) else kwargs.get("m", n)
        return [n, m] if isinstance(n, int) and isinstance(m, int) else None
    size = kwargs.get("size", args[0] if args else None)
    if not isinstance(size, (list, tuple)):
        size = list(args) if name not in ("full", "empty_strided") else None
        if name == "full" or size is None:
            return None
    dims = list(size)
    return dims if all(isinstance(d, int) and not isinstance(d, bool) for d in dims) else None


def _product(dims: list[int]) -> int:
    out = 1
    for d in dims:
        out *= max(int(d), 0)
    return out


# ------------------------------------------------------------------------------------ stale temporaries
def remove_stale_temporaries(path_template: PathLike) -> list[str]:
    """Delete the temporary files a killed :func:`atomic_open` left beside the files ``path_template`` names.

    Call it when a writer that owns these files starts (a callback's ``on_train_begin``): a temporary file
    is ``.<name>.<random characters>.tmp`` in the target's directory. ``path_template`` may hold
    ``str.format`` fields (``'ckpt/epoch{epoch:02d}.h5'``), which match any text; a template whose directory
    part has fields is left alone.

    Returns:
        The paths removed.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> open(os.path.join(folder, ".epoch03.h5.ab_cd123.tmp"), "w").close()
        >>> [os.path.basename(p) for p in remove_stale_temporaries(os.path.join(folder, "epoch{epoch:02d}.h5"))]
        ['.epoch03.h5.ab_cd123.tmp']
    """
    import re
    import string
    directory, name = os.path.split(os.path.abspath(os.fspath(path_template)))
    if "{" in directory or not os.path.isdir(directory):
        return []
    try:
        parts = [re.escape(text) + (".*" if field is not None else "")
                 for text, field, _, _ in string.Formatter().parse(name)]
    except ValueError:
        parts = [re.escape(name)]
    pattern = re.compile(r"\." + "".join(parts) + r"\.[A-Za-z0-9_]+\.tmp")
    removed = []
    for entry in os.listdir(directory):
        if pattern.fullmatch(entry):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(directory, entry))
                removed.append(os.path.join(directory, entry))
    return removed
