"""Run the benchmark: every implementation in its own process, one Markdown table of samples/s, peak memory
and time to first step.

    python bench/run.py                 # all models, all implementations (minutes)
    python bench/run.py --quick         # smoke run: few samples, two repeats (under a minute for M1)
    python bench/run.py --models M1 --impls loom,torch

Before each timed process the runner waits (up to --wait seconds) until fewer than --max-load CPUs are busy,
so other work on the machine does not distort the numbers; the table says when it did not.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from bench.models import SPECS  # noqa: E402

IMPLS = {
    "loom": ("impl_loom.py", [], {}),
    "loom-jit": ("impl_loom.py", ["--compile"], {}),
    "torch": ("impl_torch.py", [], {}),
    "torch-compile": ("impl_torch.py", ["--compile"], {}),
    "keras-torch": ("impl_keras.py", [], {"KERAS_BACKEND": "torch"}),
    "keras-jax": ("impl_keras.py", [], {"KERAS_BACKEND": "jax"}),
}


def busy_cpus(window: float = 1.0) -> float:
    """How many CPUs were busy, on average, over the last ``window`` seconds (``/proc/stat``; elsewhere the
    1-minute load average). Unlike the load average it does not remember the previous benchmark process, which
    kept the 1-minute average above half a CPU for a minute after every run."""
    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return values[3] + values[4], sum(values[:8])  # idle + iowait, all but guest time
    try:
        idle_before, total_before = sample()
        time.sleep(window)
        idle_after, total_after = sample()
    except (OSError, ValueError, IndexError):
        return os.getloadavg()[0]
    total = max(1, total_after - total_before)
    return (os.cpu_count() or 1) * (1 - (idle_after - idle_before) / total)


def wait_for_idle(max_load: float, wait: float) -> float:
    """Wait until fewer than ``max_load`` CPUs are busy (:func:`busy_cpus`; at most ``wait`` s); return that."""
    deadline = time.monotonic() + wait
    load = busy_cpus(1.0 if wait > 0 else 0.2)
    while load >= max_load and time.monotonic() < deadline:
        load = busy_cpus()
    return load


def _pin_to(threads: int):
    """Pin the process to ``threads`` CPUs: some engines (XLA's CPU runtime) start more threads than asked."""
    cpus = sorted(os.sched_getaffinity(0))[:threads]
    return lambda: os.sched_setaffinity(0, cpus)


def run_one(impl: str, model: str, args: argparse.Namespace) -> dict:
    script, extra, env_extra = IMPLS[impl]
    if impl == "keras-jax" and importlib.util.find_spec("jax") is None:
        return {"impl": impl, "model": model, "skipped": "jax is not installed"}
    cmd = [sys.executable, os.path.join(HERE, script), "--model", model, "--repeats", str(args.repeats), *extra]
    if args.quick:
        cmd.append("--quick")
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    load = wait_for_idle(args.max_load, args.wait)
    env = {**os.environ, **env_extra}
    if args.threads:  # the same thread budget for every engine (OpenMP, MKL and XLA's Eigen pool)
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
                   XLA_FLAGS=f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={args.threads}")
    pin = _pin_to(args.threads) if args.threads else None
    env["BENCH_T0"] = repr(time.time())  # the child's time to first step counts from here
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout, preexec_fn=pin)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["impl"] = impl
            result["load"] = load
            return result
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
    return {"impl": impl, "model": model, "skipped": f"failed: {tail[0][:120]}"}


def best_of(kept: dict | None, result: dict) -> dict:
    """The best of two rounds of one implementation, per measurement: the faster training (with that round's
    memory and first step) and, on its own, the faster prediction."""
    if kept is None or "train" not in kept:
        return result
    if "train" not in result:
        return kept
    best = dict(result if result["train"] > kept["train"] else kept)
    fastest = result if result["predict"] > kept["predict"] else kept
    best.update(predict=fastest["predict"], predict_seconds=fastest["predict_seconds"],
                load=max(best.get("load", 0.0), fastest.get("load", 0.0)))
    return best


def table(results: list[dict], max_load: float) -> str:
    lines = ["| model | implementation | train samples/s | train vs fastest | predict samples/s | "
             "predict vs fastest | peak memory MiB | first step s |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for model in dict.fromkeys(r["model"] for r in results):
        rows = [r for r in results if r["model"] == model]
        timed = [r for r in rows if "train" in r]
        best_train = max((r["train"] for r in timed), default=None)
        best_predict = max((r["predict"] for r in timed), default=None)
        title = f"{model} {SPECS[model].title}"
        for r in rows:
            if "skipped" in r:
                lines.append(f"| {title} | {r['impl']} | skipped: {r['skipped']} | | | | | |")
                continue
            busy = " (busy machine)" if r["load"] >= max_load else ""
            first = f"{r['first_step_s']:.1f}" if r.get("first_step_s") is not None else "n/a"
            lines.append(f"| {title} | {r['impl']}{busy} | {r['train']:,.0f} | {r['train'] / best_train:.2f} | "
                         f"{r['predict']:,.0f} | {r['predict'] / best_predict:.2f} | {r['peak_mib']:,.0f} | "
                         f"{first} |")
    return "\n".join(lines)


def _default_threads(results: list[dict]) -> str:
    counts = sorted({r["threads"] for r in results if r.get("threads")})
    return ", ".join(map(str, counts)) or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(SPECS), help="comma-separated, e.g. M1,M2")
    parser.add_argument("--impls", default=",".join(IMPLS), help=f"comma-separated from {list(IMPLS)}")
    parser.add_argument("--quick", action="store_true", help="smoke run (few samples, 2 repeats)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs per implementation (median)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every implementation this many times, interleaved; keep each one's best round")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads in every process, pinned to as many CPUs (default 0: each engine's "
                             "own default, as users run it)")
    parser.add_argument("--max-load", type=float, default=max(0.5, 0.25 * (os.cpu_count() or 1)),
                        help="wait until fewer CPUs than this are busy (over one second) before timing")
    parser.add_argument("--wait", type=float, default=None,
                        help="longest wait for an idle machine (s; default 60, 0 with --quick)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="per-process time limit (s)")
    args = parser.parse_args()
    if args.wait is None:
        args.wait = 0.0 if args.quick else 60.0
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    impls = [i.strip() for i in args.impls.split(",") if i.strip()]
    unknown = [m for m in models if m not in SPECS] + [i for i in impls if i not in IMPLS]
    if unknown:
        parser.error(f"unknown model/implementation {unknown}; models {list(SPECS)}, implementations {list(IMPLS)}")
    results = []
    for model in models:
        best: dict[str, dict] = {}
        for round_index in range(args.rounds):
            for impl in impls:
                result = run_one(impl, model, args)
                print(f"  {model} {impl} round {round_index + 1}: {result.get('train', 'skipped')}", file=sys.stderr)
                best[impl] = best_of(best.get(impl), result)
        results.extend(best[impl] for impl in impls)
    import torch
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"torch {torch.__version__}, device {device}, {os.cpu_count()} CPUs, {platform.python_version()}, "
          f"{'quick' if args.quick else f'median of {args.repeats}'} epochs, best of {args.rounds} round(s), "
          f"threads {args.threads or f'default ({_default_threads(results)})'}\n")
    print(table(results, args.max_load))


if __name__ == "__main__":
    main()
