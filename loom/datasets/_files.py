"""File helpers shared by the dataset loaders: atomic writes and finding a dataset's directory.

Example:
    >>> import os, tempfile
    >>> from loom.datasets._files import atomic_write
    >>> target = os.path.join(tempfile.mkdtemp(), "hello.bin")
    >>> with atomic_write(target) as f:
    ...     _ = f.write(b"hello")
    >>> open(target, "rb").read()
    b'hello'
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO, Iterator

PathLike = str | os.PathLike


@contextlib.contextmanager
def atomic_write(path: PathLike) -> Iterator[BinaryIO]:
    """Opens a temporary file beside ``path`` for binary writing and renames it over ``path`` on success.

    The data is flushed and fsynced before the rename, so ``path`` holds either the old content or the
    complete new content, never a partial file. If the ``with`` block raises, the temporary file is removed
    and ``path`` is left untouched.

    Args:
        path: The file to write. Its directory must exist.

    Yields:
        A binary file object to write to.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temp_path = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
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


def _mode_for(path: str) -> int:
    """Keeps the permissions of a file being replaced; new files get the usual rw-r--r--."""
    try:
        return os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return 0o644


def _fsync_directory(directory: str) -> None:
    """Makes the rename itself durable where the platform allows opening a directory."""
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


def keras_cache_dir() -> str:
    """The directory where Keras caches downloaded datasets (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(keras_home, "datasets")


def candidate_locations(path: PathLike | None, env_var: str, defaults: list[str]) -> list[tuple[str, str]]:
    """Where to look for a dataset, in order, each with how that place was chosen.

    Args:
        path: The ``path=`` the caller passed; when given it is the only place looked at.
        env_var: The environment variable that overrides the default places.
        defaults: The default places, looked at in order when neither ``path`` nor ``env_var`` is set.

    Returns:
        A list of ``(location, reason)`` pairs; ``reason`` is used in "not found" messages.
    """
    if path is not None:
        return [(os.path.expanduser(os.fspath(path)), "path=")]
    from_env = os.environ.get(env_var)
    if from_env:
        return [(os.path.expanduser(from_env), f"${env_var}")]
    return [(location, "default") for location in defaults]


def describe_locations(locations: list[tuple[str, str]]) -> str:
    """Formats the places looked at for an error message, one per line."""
    return "\n".join(f"  {location}  ({reason})" for location, reason in locations)
