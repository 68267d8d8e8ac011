"""``loom demo``: everything loom can do, on real Fashion-MNIST, in a few minutes on two CPU cores.

Each step is its own module in this package; :func:`run_demo` runs them in order and prints what they show.

Example:
    >>> from loom.demo import run_demo
    >>> run_demo(quick=True)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time

from loom.demo.context import DemoContext
from loom.demo import (augmented_attention, callbacks_tensorboard, ensemble, functional_model, keras3_program,
                       residual_convnet, tuning)


STEPS = [
    ("Functional model on Fashion-MNIST", functional_model.run),
    ("A Keras 3 program: keras.ops metric, custom train_step, .keras archive", keras3_program.run),
    ("Residual + BatchNormalization + SeparableConv2D convnet", residual_convnet.run),
    ("Augmentation layers and MultiHeadAttention over image patches", augmented_attention.run),
    ("Callbacks, TensorBoard and plot_model", callbacks_tensorboard.run),
    ("Hyperparameter search (TPE with pruning, on Optuna)", tuning.run),
    ("Ensemble of the tuned network, a convnet and gradient-boosted trees", ensemble.run),
]


def run_demo(quick: bool = False, data_dir: str | None = None, workdir: str = "loom-demo") -> int:
    """Run every demo step; returns a process exit code (0 on success)."""
    os.makedirs(workdir, exist_ok=True)
    ctx = DemoContext.load(quick=quick, data_dir=data_dir, workdir=workdir)
    start = time.perf_counter()
    for i, (title, step) in enumerate(STEPS, 1):
        print(f"\n=== {i}. {title} ===", flush=True)
        t0 = time.perf_counter()
        step(ctx)
        print(f"({time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"\nloom demo finished in {time.perf_counter() - start:.1f} s. Results: {ctx.results}")
    return 0
