"""The data-parallel speed-up of ``fit``: the same script in 1 process and under torchrun with N processes.

    python bench/ddp_speedup.py                 # 1 vs 2 processes on the CPU (gloo)
    python bench/ddp_speedup.py --nproc 4 --batch-size 1024

Each run trains an MLP (256 -> 512 -> 512 -> 10, Adam) for a few epochs on random data with one torch
thread per process and reports the median epoch time; the table gives samples/s and the speed-up over one
process. On a GPU machine torchrun uses nccl and one GPU per process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def train(out: str, samples: int, batch_size: int, epochs: int) -> None:
    """The user script: plain ``fit``, unchanged under torchrun."""
    import numpy as np
    import torch

    import loom
    torch.set_num_threads(1)
    loom.utils.set_random_seed(0)
    x = np.random.RandomState(0).rand(samples, 256).astype("float32")
    y = np.random.RandomState(1).randint(0, 10, samples)
    inputs = loom.Input((256,))
    h = loom.layers.Dense(512, activation="relu")(inputs)
    h = loom.layers.Dense(512, activation="relu")(h)
    model = loom.Model(inputs, loom.layers.Dense(10, activation="softmax")(h))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    times = []

    class Timer(loom.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0, callbacks=[Timer()])
    if loom.distributed.is_rank_zero():
        with open(out, "w") as f:
            json.dump({"epoch_s": statistics.median(times[1:] or times)}, f)


def measure(nproc: int, args: argparse.Namespace) -> float:
    out = os.path.join(tempfile.mkdtemp(), "result.json")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    worker = [__file__, "--worker", out, str(args.samples), str(args.batch_size), str(args.epochs)]
    if nproc == 1:
        command = [sys.executable] + worker
    else:
        from loom.distributed import free_port
        command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
                   f"--master_port={free_port()}"] + worker
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
    with open(out) as f:
        return json.load(f)["epoch_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=int, default=2)
    parser.add_argument("--samples", type=int, default=16384)
    parser.add_argument("--batch-size", type=int, default=1024, help="the global batch size")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        out, samples, batch_size, epochs = args.worker
        train(out, int(samples), int(batch_size), int(epochs))
        return
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min)")
    one, many = measure(1, args), measure(args.nproc, args)
    print(f"| processes | epoch (s) | samples/s | speed-up |\n|---:|---:|---:|---:|")
    print(f"| 1 | {one:.3f} | {args.samples / one:,.0f} | 1.00 |")
    print(f"| {args.nproc} | {many:.3f} | {args.samples / many:,.0f} | {one / many:.2f} |")


if __name__ == "__main__":
    main()
