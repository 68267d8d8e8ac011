"""Demo step: training watched by callbacks (early stopping, best checkpoint, LR on plateau) and TensorBoard.

It writes, under the demo's work directory: ``logs/callbacks`` (TensorBoard: scalars, weight and activation
histograms, the graph), ``checkpoints/best.loom`` (the best model by validation loss) and
``callbacks_model.png`` (the model plot). Then it prints the ``loom board`` command to look at the logs.
"""

from __future__ import annotations

import os
import shutil

import numpy as np

import loom
from loom import callbacks, layers


def build() -> loom.Model:
    inputs = loom.Input((28, 28), name="image")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(128, activation="relu", name="hidden")(x)
    x = layers.Dropout(0.3, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="label")(x)
    return loom.Model(inputs, outputs, name="watched_mlp")


def run(ctx) -> None:
    loom.utils.set_random_seed(0)
    model = build()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["acc"])
    log_dir = os.path.join(ctx.workdir, "logs", "callbacks")
    best_path = os.path.join(ctx.workdir, "checkpoints", "best.loom")
    shutil.rmtree(log_dir, ignore_errors=True)  # a rerun of the demo shows only its own curves
    watchers = [
        callbacks.EarlyStopping(monitor="val_acc", patience=2, restore_best_weights=True, verbose=1),
        callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True),
        callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, verbose=1),
        callbacks.TensorBoard(log_dir, histogram_freq=1, write_graph=True),
    ]
    history = model.fit(ctx.x_train, ctx.y_train, batch_size=256, epochs=ctx.epochs(5), validation_split=0.1,
                        verbose=2, callbacks=watchers)
    rates = ", ".join(f"{lr:g}" for lr in history.history["learning_rate"])
    print(f"{len(history.epoch)} epochs; learning rate per epoch: {rates}")
    best = loom.models.load_model(best_path)
    _, acc = best.evaluate(ctx.x_test, ctx.y_test, batch_size=512, verbose=0)
    print(f"best checkpoint {best_path}: test accuracy {acc:.4f}")
    plot_path = os.path.join(ctx.workdir, "callbacks_model.png")
    loom.utils.plot_model(model, to_file=plot_path, show_shapes=True, show_layer_activations=True)
    print(f"model plot: {plot_path}")
    print(f"TensorBoard logs: {log_dir} (train/ and validation/ runs)")
    print(f"look at them with:  loom board {log_dir}")
    same = np.array_equal(best.predict(ctx.x_test[:8], verbose=0).argmax(-1),
                          model.predict(ctx.x_test[:8], verbose=0).argmax(-1))
    print(f"checkpoint and restored best weights agree on a few test images: {same}")
    ctx.results["callbacks_test_acc"] = round(float(acc), 4)
