"""Shared command line and timing for the ``impl_*.py`` runners (each runs in its own process)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.models import SPECS, Spec  # noqa: E402


# When the runner started this process (it passes the time in BENCH_T0); run by hand: when this module loaded.
T0 = float(os.environ.get("BENCH_T0") or time.time())
_FIRST_STEP: list[float] = []


def first_step_done() -> None:
    """Record (once) the seconds from process start to the end of the first training batch."""
    if not _FIRST_STEP:
        _FIRST_STEP.append(time.time() - T0)


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM; ``ru_maxrss`` where /proc is missing), in MiB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_args(impl: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=f"Time one model with the {impl} implementation.")
    parser.add_argument("--model", required=True, choices=sorted(SPECS))
    parser.add_argument("--quick", action="store_true", help="few samples, few repeats (a smoke run)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs (median reported)")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--compile", action="store_true", help="torch loop only: use torch.compile")
    args = parser.parse_args()
    if args.threads:
        import torch
        torch.set_num_threads(args.threads)
    return args


def data_for(spec: Spec, quick: bool):
    n = spec.quick_samples if quick else spec.samples
    x, y = spec.make_data(n, np.random.default_rng(0))
    return n, x, y


def time_runs(fn: Callable[[], None], repeats: int) -> list[float]:
    """Wall-clock seconds of ``repeats`` calls of ``fn`` (which must finish its device work)."""
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def report(impl: str, spec: Spec, n: int, train_seconds: list[float], predict_seconds: list[float],
           device: str, note: str = "") -> None:
    result = {"impl": impl, "model": spec.name, "samples": n, "device": device,
              "train": n / statistics.median(train_seconds), "predict": n / statistics.median(predict_seconds),
              "train_seconds": train_seconds, "predict_seconds": predict_seconds, "note": note,
              "peak_mib": peak_rss_mib(), "first_step_s": _FIRST_STEP[0] if _FIRST_STEP else None,
              "threads": _threads()}
    print("RESULT " + json.dumps(result))


def _threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def skip(impl: str, spec: Spec, reason: str) -> None:
    print("RESULT " + json.dumps({"impl": impl, "model": spec.name, "skipped": reason}))
