"""Keep freed tensor memory for reuse on Linux CPUs, instead of handing it back to the OS after every op.

glibc serves large blocks (the activations of a convnet batch are megabytes each) with ``mmap`` and returns
them to the kernel on ``free``; the next op's output then page-faults its way into fresh memory. On a CPU that
costs as much as the arithmetic: a ReLU over 16 MB is four times slower out of place than in place. XLA and
``torch.compile`` avoid it by planning their buffers; PyTorch's CUDA allocator caches blocks for the same
reason. loom asks glibc (``mallopt``) to serve blocks up to 32 MB from its heap and to keep freed heap memory
(up to 2 GiB) for the next allocation. The trade-off: the process's resident memory stays at its peak
instead of shrinking between batches.

:func:`enable` is called when ``fit`` / ``evaluate`` / ``predict`` run on the CPU. It does nothing on other
C libraries, and nothing when the environment variable ``LOOM_CPU_ALLOCATOR`` is ``system``.

Example:
    >>> from loom import cpu_allocator
    >>> cpu_allocator.enable() in (True, False)   # False where glibc's mallopt is not available
    True
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024   # glibc's largest allowed value on 64-bit systems
_TRIM_THRESHOLD = 2 * 1024 ** 3 - 1

_state: dict[str, bool] = {}


def enable() -> bool:
    """Tune glibc's allocator once per process; returns whether it is tuned."""
    if "enabled" not in _state:
        _state["enabled"] = _tune()
    return _state["enabled"]


def _tune() -> bool:
    if os.environ.get("LOOM_CPU_ALLOCATOR", "").lower() == "system" or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
