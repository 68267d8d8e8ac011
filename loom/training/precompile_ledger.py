"""When a precompiled step is built: a ledger of what eager steps cost across runs, and the builder.

Building a precompiled train step (:mod:`loom.training.precompiled_step`) or predict step
(:mod:`loom.training.precompiled_predict`) takes tens of seconds of CPU, so it is bought only for a step that
has already cost time eagerly in earlier runs (the rent-or-buy rule of :mod:`loom.training.auto_jit`, across
processes), and never in the user's run:

1. While a process runs an eligible step eagerly it counts the steps per library key; at exit it adds what
   they are expected to have cost more than a precompiled step (train: steps x layers x
   ``auto_jit.GAIN_PER_LAYER_S``; predict: a share of the measured time) to ``<key>.ledger.json`` when it is at
   least :data:`RECORD_AFTER_S` (the short fits of tests and examples leave nothing behind).
2. A process whose step has no library reads the ledger; once the runs add up to :data:`BUILD_AFTER_S`
   (checked when the step first runs, and again as the process exits, its own steps added), it writes a build
   request (``<key>.request.json``: the step's kind, the model's configuration, its compile configuration and
   the batch's shapes) and starts ``python -m loom.training.precompile_worker`` on it, detached and at the
   lowest CPU priority. Only one builder runs per key (the request file is created exclusively; a request
   older than :data:`STALE_S` is taken over).
3. A build that fails, or a library whose results differ from the eager step's, leaves ``<key>.failed.json``
   (the reason): that key is not built again.

Everything written is JSON of strings and numbers, written atomically (the ledger's read-add-write under a file
lock, so runs that exit together all count); nothing read from these files is executed.

Example:
    >>> ledger_path("0123abcd").endswith("loom_precompiled/0123abcd.ledger.json")
    True
    >>> expected_overhead({"overhead_s": 0.5, "runs": 2})
    0.5
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import sys
import time
import weakref
from typing import Any

from loom.io_utils import atomic_write

#: Seconds of expected eager overhead a process must spend on one step before it is written to the ledger.
RECORD_AFTER_S = 0.05
#: Seconds of expected eager overhead in earlier runs after which a run starts the builder.
BUILD_AFTER_S = 0.25
#: Seconds after which a build request whose builder never finished is taken over.
STALE_S = 1800

_STEPS: "weakref.WeakSet" = weakref.WeakSet()

# The builder lowers its priority before importing anything (importing torch is a second of CPU): nice 19 and
# Linux's idle scheduling class. It stays in the run's session, where nice applies (a new session would get a
# CPU share of its own), in a process group of its own (Ctrl-C in the terminal does not reach it).
_LOWEST_PRIORITY_THEN_WORKER = """
import os, runpy
for lower in (lambda: os.nice(19), lambda: os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))):
    try:
        lower()
    except (AttributeError, OSError):
        pass
runpy.run_module("loom.training.precompile_worker", run_name="__main__", alter_sys=True)
"""


def _path(key: str, kind: str) -> str:
    from loom.training.precompiled_step import cache_folder
    return os.path.join(cache_folder(), f"{key}.{kind}.json")


def ledger_path(key: str) -> str:
    return _path(key, "ledger")


def _read(path: str) -> dict:
    try:
        with open(path) as f:
            value = json.load(f)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(path: str, value: dict) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    atomic_write(path, json.dumps(value, indent=1).encode())


@contextlib.contextmanager
def _locked(path: str):
    """Hold an exclusive lock on ``path + ".lock"`` (where the platform has ``fcntl``)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def add_overhead(key: str, spent: float) -> None:
    """Add one run's ``spent`` seconds of expected eager overhead to ``key``'s ledger."""
    path = ledger_path(key)
    with _locked(path):
        entry = _read(path)
        _write(path, {"overhead_s": expected_overhead(entry) + spent, "runs": int(entry.get("runs", 0) or 0) + 1})


def expected_overhead(entry: dict) -> float:
    value = entry.get("overhead_s", 0.0)
    return float(value) if isinstance(value, (int, float)) else 0.0


def remember(step: Any) -> None:
    """Have :func:`record_all` write down ``step``'s eager work: a
    :class:`~loom.training.precompiled_step.PrecompiledStep` or
    :class:`~loom.training.precompiled_predict.PrecompiledPredict`, whose ``pending_overhead()`` says what its
    eager runs since the last call are expected to have cost, per batch signature (its ``keys`` name the
    libraries)."""
    _STEPS.add(step)


def record_all(build: bool = False) -> None:
    """Add this process's eager steps to the ledger (at exit; also callable directly). With ``build`` (at
    exit), a step whose runs now add up to :data:`BUILD_AFTER_S` starts its builder as the process ends, so the
    next run finds the library."""
    for step in list(_STEPS):
        for signature, spent in step.pending_overhead().items():
            if spent >= RECORD_AFTER_S:
                key = step.keys[signature]
                add_overhead(key, spent)
                if build:
                    maybe_build(step, signature, key)


atexit.register(lambda: _quietly(lambda: record_all(build=True)))


def _quietly(fn) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - bookkeeping at exit must never turn a run into a failure
        pass


def set_aside(key: str, reason: str) -> None:
    """Never build or load ``key`` again (its library, if any, is removed), saying why; a cache folder that cannot
    be written only means the library is not used by this run."""
    from loom.training.precompiled_step import library_path
    _quietly(lambda: _write(_path(key, "failed"), {"reason": reason[:2000]}))
    _quietly(lambda: os.remove(library_path(key)))


def maybe_build(step: Any, signature: tuple, key: str) -> bool:
    """Start the builder for ``key`` when earlier runs spent :data:`BUILD_AFTER_S` on it eagerly (see the module
    docstring); returns whether one was started."""
    from loom.training.precompiled_step import library_path
    if (os.name != "posix" or os.path.exists(_path(key, "failed")) or os.path.exists(library_path(key))
            or expected_overhead(_read(ledger_path(key))) < BUILD_AFTER_S):
        return False
    request = _path(key, "request")
    try:
        os.makedirs(os.path.dirname(request), exist_ok=True)
        if os.path.exists(request) and time.time() - os.path.getmtime(request) > STALE_S:
            os.remove(request)
        fd = os.open(request, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # another run is building it
        return False
    try:
        with os.fdopen(fd, "w") as f:
            json.dump({"key": key, **step.build_request(signature)}, f)
        import loom
        here = os.path.dirname(os.path.dirname(os.path.abspath(loom.__file__)))  # the same loom as this run's
        env = {**os.environ, "LOOM_PRECOMPILE": "0", "TORCHINDUCTOR_COMPILE_THREADS": "1", "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)}
        with open(_path(key, "build-log").replace(".json", ".txt"), "wb") as log:
            subprocess.Popen([sys.executable, "-c", _LOWEST_PRIORITY_THEN_WORKER, request],
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, process_group=0,
                             close_fds=True)
    except Exception:  # noqa: BLE001 - no builder this time; the user's run goes on eagerly, a later one retries
        _quietly(lambda: os.remove(request))
        return False
    return True
