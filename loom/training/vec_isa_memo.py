"""Inductor's CPU vector-ISA probe, remembered across processes.

Before the first compiled CPU kernel of every process, inductor checks each vector instruction set the CPU
claims (AVX2, AVX-512, VNNI, AMX...): it builds a small test library per check (cached on disk) and starts a
Python subprocess per check to ``dlopen`` it. The builds are cached, the subprocesses are not: about ten of
them cost a second or more of every process's first compiled step, even when all its kernels load from
inductor's cache.

Whether a given test library loads only changes with the CPU, the compiler, the kernel, torch or Python.
loom keeps the libraries that loaded in a small JSON file in torch's inductor cache directory, under a key made
of those, each with its size and modification time; a later process with the same key takes "loads" for a
library listed with the same size and time, and asks inductor's own probe for anything else. A failed probe is
never remembered (it is asked again), and the file holds only strings and numbers: nothing read from it runs.

Example:
    >>> import loom.training.vec_isa_memo as memo
    >>> memo.record_path("/tmp/cache", "abc").endswith("loom_vec_isa/abc.json")
    True
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import shutil
import sys
from typing import Any

import torch

from loom.io_utils import atomic_write

LOGGER = logging.getLogger(__name__)
_FOLDER = "loom_vec_isa"
_state: dict[str, Any] = {"installed": False, "path": None, "known": {}, "new": {}}


def record_path(cache_dir: str, key: str) -> str:
    """Where the record for ``key`` lives under inductor's ``cache_dir``."""
    return os.path.join(cache_dir, _FOLDER, f"{key}.json")


def _inductor():
    """``(cpu_vec_isa, cpp_builder, cache_dir_utils)`` of torch's inductor, or ``None`` where torch moved the
    private names loom relies on (then inductor probes as it always does)."""
    try:
        from torch._inductor import cpp_builder, cpu_vec_isa
        from torch._inductor.runtime import cache_dir_utils
        _ = (cpu_vec_isa.VecISA._probe_load, cpu_vec_isa.x86_isa_checker, cpp_builder.get_cpp_compiler,
             cache_dir_utils.cache_dir)
    except (ImportError, AttributeError):
        return None
    return cpu_vec_isa, cpp_builder, cache_dir_utils


def _stamp(path: str) -> list | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _key(cpu_vec_isa: Any, cpp_builder: Any) -> str | None:
    try:
        compiler = cpp_builder.get_cpp_compiler()
        resolved = shutil.which(compiler)
        text = json.dumps([sorted(cpu_vec_isa.x86_isa_checker()), compiler, resolved,
                           resolved and _stamp(os.path.realpath(resolved)), platform.release(), torch.__version__,
                           sys.executable])
    except (OSError, RuntimeError, ValueError, TypeError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def before_compile() -> None:
    """Once a process, before its first compilation: let inductor's probe answer from the record."""
    if _state["installed"]:
        return
    _state["installed"] = True
    parts = _inductor()
    if parts is None or sys.platform != "linux" or platform.machine() != "x86_64":
        return
    cpu_vec_isa, cpp_builder, cache_dir_utils = parts
    key = _key(cpu_vec_isa, cpp_builder)
    if key is None:
        return
    path = _state["path"] = record_path(cache_dir_utils.cache_dir(), key)
    try:
        with open(path) as f:
            record = json.load(f)
        if isinstance(record, dict) and record.get("key") == key and isinstance(record.get("loaded"), dict):
            _state["known"] = record["loaded"]
    except (OSError, ValueError):
        pass
    probe = cpu_vec_isa.VecISA._probe_load

    @functools.wraps(probe)
    def remembered_probe(self: Any, output_path: str) -> bool:
        stamp = _stamp(output_path)
        if stamp is not None and _state["known"].get(output_path) == stamp:
            return True
        loaded = probe(self, output_path)
        if loaded and stamp is not None:
            _state["new"][output_path] = stamp
        return loaded
    cpu_vec_isa.VecISA._probe_load = remembered_probe


def pending() -> bool:
    """Whether this process probed libraries it has not written down yet (checked after compiled calls)."""
    return bool(_state["new"])


def after_compile() -> None:
    """Add the libraries this process's probe loaded to the record (atomically; failures only log)."""
    path, new = _state["path"], _state["new"]
    _state["new"] = {}
    if path is None or not new:
        return
    _state["known"] = {**_state["known"], **new}
    key = os.path.basename(path)[:-len(".json")]
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, json.dumps({"key": key, "loaded": _state["known"]}, indent=1).encode())
    except OSError as e:
        LOGGER.debug("could not remember inductor's vector-ISA probe in %s: %s", path, e)
