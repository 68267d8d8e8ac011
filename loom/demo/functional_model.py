"""Demo step: a functional DAG (two branches joined by ``add``), trained, evaluated, saved and reloaded; then
the same model with ``jit_compile=True`` (the whole gradient step as one compiled graph) against eager."""

from __future__ import annotations

import os
import time

import numpy as np

import loom
from loom import layers


def build() -> loom.Model:
    inputs = loom.Input((28, 28), name="image")
    x = layers.Flatten()(inputs)
    h1 = layers.Dense(256, activation="relu")(x)
    h2 = layers.Dense(256, activation="relu")(layers.Dropout(0.2)(h1))
    x = layers.add([h1, h2])
    outputs = layers.Dense(10, activation="softmax", name="label")(x)
    return loom.Model(inputs, outputs, name="fashion_mlp")


def run(ctx) -> None:
    loom.utils.set_random_seed(0)
    model = build()
    model.summary()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["acc"])
    model.fit(ctx.x_train, ctx.y_train, batch_size=128, epochs=ctx.epochs(4), validation_split=0.1, verbose=2)
    loss, acc = model.evaluate(ctx.x_test, ctx.y_test, batch_size=512, verbose=0)
    print(f"test accuracy: {acc:.4f} (loss {loss:.4f})")
    path = os.path.join(ctx.workdir, "fashion_mlp.loom")
    model.save(path)
    reloaded = loom.models.load_model(path)
    same = np.allclose(model.predict(ctx.x_test[:256], verbose=0), reloaded.predict(ctx.x_test[:256], verbose=0))
    print(f"saved to {path}; reloaded model gives identical predictions: {same}")
    ctx.results["functional_test_acc"] = round(float(acc), 4)
    show_jit_speedup(ctx)


def show_jit_speedup(ctx) -> None:
    """One epoch of the same model eager and with ``jit_compile=True``, after a warm-up epoch (which compiles)."""
    x, y = ctx.x_train[:12800], ctx.y_train[:12800]
    speed = {}
    for jit in (False, True):
        loom.utils.set_random_seed(0)
        model = build()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["acc"], jit_compile=jit)
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        start = time.perf_counter()
        model.fit(x, y, batch_size=128, epochs=1, verbose=0)
        speed[jit] = len(x) / (time.perf_counter() - start)
    print(f"jit_compile=True (forward, loss, gradients and metrics as one graph): {speed[True]:,.0f} samples/s, "
          f"eager: {speed[False]:,.0f} samples/s ({speed[True] / speed[False]:.2f}x)")
    ctx.results["jit_speedup"] = round(speed[True] / speed[False], 2)
