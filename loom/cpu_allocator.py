"""Keep freed tensor memory for reuse on Linux CPUs, instead of handing it back to the OS after every op.

glibc serves large blocks (the activations of a convnet batch are megabytes each) with ``mmap`` and returns
them to the kernel on ``free``; the next op's output then page-faults its way into fresh memory. On a CPU that
costs as much as the arithmetic: a ReLU over 16 MB is four times slower out of place than in place. XLA and
``torch.compile`` avoid it by planning their buffers; PyTorch's CUDA allocator caches blocks for the same
reason. :func:`enable` asks glibc (``mallopt``) to serve blocks up to 32 MB from its heap and to keep freed
heap memory (up to 2 GiB) for the next allocation. The trade-off: the process's resident memory stays at its
peak instead of shrinking between batches.

The setting is process-wide, so it is reversible and under the user's control:

* ``fit`` / ``evaluate`` / ``predict`` on the CPU call :func:`auto_enable`, which tunes the allocator unless
  the environment variable ``LOOM_CPU_ALLOCATOR`` is ``system`` or :func:`disable` was called. ``import loom``
  and ``compile()`` change nothing.
* :func:`disable` puts glibc's documented default thresholds (128 KiB) back and keeps ``fit`` from tuning
  again; :func:`enable` tunes explicitly.

It does nothing on other C libraries (musl has no ``mallopt``) or operating systems.

Example:
    >>> from loom import cpu_allocator
    >>> cpu_allocator.enable() in (True, False)   # False where glibc's mallopt is not available
    True
    >>> cpu_allocator.disable() in (True, False)
    True
"""

from __future__ import annotations

import ctypes
import os
import sys
from typing import Callable

from loom.errors import ConfigError

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024   # glibc's largest allowed value on 64-bit systems
_TRIM_THRESHOLD = 2 * 1024 ** 3 - 1
_GLIBC_DEFAULT = 128 * 1024          # both thresholds' documented defaults (mallopt(3))

_ENV = "LOOM_CPU_ALLOCATOR"
_ENV_VALUES = ("auto", "system")

#: ``enabled``: the tuning is in force; ``declined``: the user called disable(), so auto_enable() stays away.
_state: dict[str, bool] = {"enabled": False, "declined": False}


def _mallopt() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc
        return None
    fn.argtypes, fn.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return fn


def _set(mmap_threshold: int, trim_threshold: int) -> bool:
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))


def enable() -> bool:
    """Tune glibc's allocator to keep freed blocks (idempotent); returns whether it is tuned."""
    if not _state["enabled"]:
        _state["enabled"] = _set(_MMAP_THRESHOLD, _TRIM_THRESHOLD)
    _state["declined"] = False
    return _state["enabled"]


def disable() -> bool:
    """Put glibc's default thresholds back and stop :func:`auto_enable` from tuning again.

    Returns:
        Whether glibc's settings were restored (``False`` where there is no glibc ``mallopt``).
    """
    _state["declined"] = True
    restored = _set(_GLIBC_DEFAULT, _GLIBC_DEFAULT)
    _state["enabled"] = False
    return restored


def is_enabled() -> bool:
    """Whether the tuning made by :func:`enable` is in force."""
    return _state["enabled"]


def auto_enable() -> bool:
    """What ``fit`` / ``evaluate`` / ``predict`` call on the CPU: :func:`enable`, unless ``LOOM_CPU_ALLOCATOR``
    is ``system`` or :func:`disable` was called.

    Raises:
        ConfigError: ``LOOM_CPU_ALLOCATOR`` holds something other than ``auto``, ``system`` or nothing.
    """
    value = os.environ.get(_ENV, "").strip().lower()
    if value and value not in _ENV_VALUES:
        raise ConfigError(f"{_ENV} must be one of {list(_ENV_VALUES)} (or unset: auto), got "
                          f"{os.environ[_ENV]!r}.")
    if value == "system" or _state["declined"]:
        return _state["enabled"]
    return enable()
