"""``get_file``: a file from a URL or a local path into Keras's cache, hash-checked and optionally extracted.

Nothing half-written ever sits in the cache: the data goes to a temporary file beside the target and is
renamed into place only after the whole file arrived and its hash (if given) matched; an archive is extracted
into a temporary directory, member names checked first (no absolute paths, no ``..``, no links leaving the
archive, no device files), then renamed into place. Local paths and ``file://`` URLs work offline.

Example:
    >>> import os, tempfile
    >>> src = os.path.join(tempfile.mkdtemp(), "data.txt")
    >>> with open(src, "w") as f:
    ...     _ = f.write("hello")
    >>> path = get_file(origin=src, cache_dir=tempfile.mkdtemp(),
    ...                 file_hash="2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
    >>> os.path.basename(path), open(path).read()
    ('data.txt', 'hello')
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import urllib.request
import zipfile
from typing import Any, BinaryIO

from loom.errors import ConfigError, InputError
from loom.io_utils import atomic_directory

_CHUNK = 1 << 20
ARCHIVE_FORMATS = ("tar", "zip")


def get_file(fname: str | None = None, origin: str | None = None, untar: bool = False, md5_hash: str | None = None,
             file_hash: str | None = None, cache_subdir: str = "datasets", hash_algorithm: str = "auto",
             extract: bool = False, archive_format: Any = "auto", cache_dir: str | None = None,
             force_download: bool = False) -> str:
    """Fetches ``origin`` into ``cache_dir/cache_subdir`` unless a good copy is already there; returns its path.

    Args:
        fname: File name in the cache (no directory part). Defaults to `None`: the last part of ``origin``.
        origin: URL (``http(s)://``, ``file://``) or local path of the file.
        untar: Deprecated: same as ``extract=True, archive_format="tar"``. Defaults to `False`.
        md5_hash: Deprecated: same as ``file_hash`` with ``hash_algorithm="md5"``. Defaults to `None`.
        file_hash: Expected sha256 or md5 hex digest. Defaults to `None`: no check.
        cache_subdir: Subdirectory of ``cache_dir`` (an absolute path is used as is). Defaults to `"datasets"`.
        hash_algorithm: ``"sha256"``, ``"md5"`` or ``"auto"`` (by the hash's length). Defaults to `"auto"`.
        extract: Extract the archive and return the extraction directory. Defaults to `False`.
        archive_format: ``"auto"``, ``"tar"``, ``"zip"``, a list of them, or ``None``. Defaults to `"auto"`.
        cache_dir: Cache root. Defaults to `None`: ``$KERAS_HOME`` or ``~/.keras`` (``/tmp/.keras`` if not
            writable).
        force_download: Fetch again even if the file is cached. Defaults to `False`.

    Returns:
        The cached file's path (the extraction directory with ``extract``).

    Raises:
        ConfigError: no ``origin``, a bad ``fname`` or ``hash_algorithm``.
        InputError: the download failed, the hash did not match, or the archive is unsafe or unreadable.
    """
    if origin is None:
        raise ConfigError('get_file: pass the "origin" argument (URL or path of the file to fetch).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    datadir = _cache_dir(cache_dir, cache_subdir)
    fname = os.fspath(fname) if fname else os.path.basename(urllib.parse.urlsplit(os.fspath(origin)).path)
    if not fname:
        raise ConfigError(f"get_file: cannot tell a file name from origin {origin!r}; pass `fname`.")
    if os.sep in fname or fname in (".", ".."):
        raise ConfigError(f"get_file: `fname` must be a file name without directories (use `cache_dir` / "
                          f"`cache_subdir` for the directory); got {fname!r}.")
    target, extraction_dir = _targets(datadir, fname, extract or untar)
    fetched = force_download or not os.path.exists(target) or (
        file_hash is not None and not validate_file(target, file_hash, hash_algorithm))
    if fetched:
        _fetch(os.fspath(origin), target, file_hash, hash_algorithm)
    if not (extract or untar):
        return target
    if fetched or not os.path.isdir(extraction_dir):
        extract_archive(target, extraction_dir, "tar" if untar else archive_format)
    return extraction_dir


def _cache_dir(cache_dir: str | None, cache_subdir: str) -> str:
    base = os.path.expanduser(cache_dir or os.environ.get("KERAS_HOME") or os.path.join("~", ".keras"))
    with contextlib.suppress(OSError):
        os.makedirs(base, exist_ok=True)
    if not os.access(base, os.W_OK):
        base = os.path.join(tempfile.gettempdir(), ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    return datadir


def _targets(datadir: str, fname: str, extract: bool) -> tuple[str, str]:
    """(download target, extraction directory), named as Keras names them."""
    if not extract:
        return os.path.join(datadir, fname), ""
    if "." in fname:
        stem = fname[:fname.find(".")]
        return os.path.join(datadir, fname), os.path.join(datadir, f"{stem}_extracted")
    return os.path.join(datadir, f"{fname}_archive"), os.path.join(datadir, fname)


def _open_origin(origin: str) -> BinaryIO:
    scheme = urllib.parse.urlsplit(origin).scheme
    try:
        if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
            path = urllib.request.url2pathname(urllib.parse.urlsplit(origin).path) if scheme == "file" else origin
            return open(os.path.expanduser(path), "rb")
        return urllib.request.urlopen(origin, timeout=60)  # noqa: S310 - the user's own URL
    except OSError as e:
        raise InputError(f"get_file: cannot fetch {origin!r}: {e}.") from e


def _fetch(origin: str, target: str, file_hash: str | None, algorithm: str) -> None:
    """Copy ``origin`` to a temporary file beside ``target``, check the hash, then rename it into place."""
    if not origin.startswith("file:") and "://" in origin:
        print(f"Downloading data from {origin}")
    fd, temp = tempfile.mkstemp(dir=os.path.dirname(target), prefix="." + os.path.basename(target) + ".",
                                suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, contextlib.closing(_open_origin(origin)) as src:
            try:
                shutil.copyfileobj(src, out, _CHUNK)
            except OSError as e:
                raise InputError(f"get_file: fetching {origin!r} failed midway: {e}.") from e
            out.flush()
            os.fsync(out.fileno())
        if file_hash is not None and not validate_file(temp, file_hash, algorithm):
            raise InputError(f"get_file: {origin!r} does not match the expected {_algorithm(file_hash, algorithm)} "
                             f"hash {file_hash}; the file was not kept.")
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def _algorithm(file_hash: str, algorithm: str) -> str:
    if algorithm not in ("auto", "sha256", "md5"):
        raise ConfigError(f"get_file: `hash_algorithm` must be 'auto', 'sha256' or 'md5'; got {algorithm!r}.")
    if algorithm == "auto":
        return "sha256" if len(file_hash) == 64 else "md5"
    return algorithm


def hash_file(fpath: str, algorithm: str = "sha256", chunk_size: int = 65535) -> str:
    """The hex digest of a file (``"sha256"`` or ``"md5"``), read in chunks."""
    hasher = hashlib.sha256() if algorithm in ("sha256", "auto") else hashlib.md5()  # noqa: S324 - Keras's md5 hashes
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath: str, file_hash: str, algorithm: str = "auto") -> bool:
    """Whether ``fpath``'s digest equals ``file_hash`` (algorithm chosen by the hash's length with ``"auto"``)."""
    return hash_file(fpath, _algorithm(file_hash, algorithm)) == str(file_hash).lower()


def extract_archive(file_path: str, path: str = ".", archive_format: Any = "auto") -> bool:
    """Safely extract a tar or zip archive into ``path`` (atomically: a temporary directory renamed into place).

    Returns:
        ``True`` when extracted, ``False`` when ``file_path`` is not an archive of the allowed formats.

    Raises:
        InputError: a member would land outside ``path`` (absolute name, ``..``, link leaving the archive) or is
            a device file.
    """
    if archive_format is None:
        return False
    formats = ARCHIVE_FORMATS if archive_format == "auto" else (
        (archive_format,) if isinstance(archive_format, str) else tuple(archive_format))
    unknown = [f for f in formats if f not in ARCHIVE_FORMATS]
    if unknown:
        raise ConfigError(f"get_file: `archive_format` must be 'auto', None, or among {ARCHIVE_FORMATS}; got "
                          f"{archive_format!r}.")
    for fmt in formats:
        is_fmt = tarfile.is_tarfile(file_path) if fmt == "tar" else zipfile.is_zipfile(file_path)
        if is_fmt:
            _extract_atomically(file_path, path, fmt)
            return True
    return False


def _extract_atomically(file_path: str, path: str, fmt: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_directory(path) as temp:
        if fmt == "tar":
            with tarfile.open(file_path) as archive:
                members = archive.getmembers()
                for member in members:
                    _check_tar_member(member, file_path)
                archive.extractall(temp, members=members, filter="data")
        else:
            with zipfile.ZipFile(file_path) as archive:
                for name in archive.namelist():
                    _check_name(name, file_path)
                archive.extractall(temp)


def _check_name(name: str, archive: str) -> None:
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or os.path.isabs(name) or ".." in parts or (len(name) > 1 and name[1] == ":"):
        raise InputError(f"get_file: refusing to extract {archive!r}: member {name!r} would be written outside the "
                         f"extraction directory.")


def _check_tar_member(member: tarfile.TarInfo, archive: str) -> None:
    _check_name(member.name, archive)
    if member.isdev():
        raise InputError(f"get_file: refusing to extract {archive!r}: member {member.name!r} is a device file.")
    if member.issym() or member.islnk():
        target = member.linkname if member.islnk() else os.path.join(os.path.dirname(member.name), member.linkname)
        if os.path.isabs(member.linkname) or os.path.normpath(target).startswith(".."):
            raise InputError(f"get_file: refusing to extract {archive!r}: link {member.name!r} points outside the "
                             f"archive ({member.linkname!r}).")
