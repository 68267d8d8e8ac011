"""Demo step: hyperparameter search (book section 7.3.2) with :mod:`loom.tuning`.

TPE proposes configurations of a small MLP (depth, widths, dropout, learning rate), the median rule prunes
the hopeless ones, and the best model is measured once on the test images, beside its validation score. The
search's tuner stays on ``ctx.tuner`` for later steps (an ensemble of its best trials).
"""

from __future__ import annotations

import os

import loom
from loom import layers, optimizers
from loom.tuning import Tuner

#: (training images, validation images, trials, epochs per trial)
FULL = (10000, 2500, 10, 4)
QUICK = (1000, 500, 3, 1)


def build(hp) -> loom.Model:
    """An MLP whose depth, widths, dropout and learning rate come from ``hp``."""
    inputs = loom.Input((28, 28), name="image")
    x = layers.Flatten()(inputs)
    dropout = hp.Float("dropout", 0.0, 0.4, step=0.1)
    for i in range(hp.Int("layers", 1, 2)):
        x = layers.Dense(hp.Int(f"units_{i}", 32, 256, step=32), activation="relu")(x)
        x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(10, activation="softmax", name="label")(x)
    model = loom.Model(inputs, outputs, name="searched_mlp")
    model.compile(optimizer=optimizers.Adam(learning_rate=hp.Float("lr", 1e-4, 1e-2, log=True)),
                  loss="sparse_categorical_crossentropy", metrics=["acc"])
    return model


def run(ctx) -> None:
    n_train, n_val, trials, epochs = QUICK if ctx.quick else FULL
    x, y = ctx.x_train[:n_train], ctx.y_train[:n_train]
    validation = (ctx.x_train[-n_val:], ctx.y_train[-n_val:])  # disjoint from the training images
    tuner = Tuner(build, objective="val_acc", algorithm="tpe", max_trials=trials, pruner="median", seed=0,
                  directory=os.path.join(ctx.workdir, "tuning"), study_name="fashion_mlp", overwrite=True)
    tuner.search(x, y, validation_data=validation, epochs=epochs, batch_size=128)
    tuner.summary(top=5)
    best = tuner.best_trial
    print(f"best params: {best.params} (best epoch {best.best_epoch})")
    report = tuner.evaluate_best(ctx.x_test, ctx.y_test, batch_size=512)
    print(f"best validation accuracy {report['validation']:.4f}, test accuracy {report['test']:.4f} "
          f"({report['configurations_scored']} configurations scored on the validation set)")
    try:
        for kind, path in tuner.plot().items():
            print(f"{kind} plot: {path}")
    except ImportError as e:
        print(f"(plots skipped: {e})")
    print(f"TensorBoard HParams of every trial: loom board {tuner.directory}")
    ctx.results["tuning_best_val_acc"] = round(float(report["validation"]), 4)
    ctx.results["tuning_test_acc"] = round(float(report["test"]), 4)
    ctx.tuner = tuner
