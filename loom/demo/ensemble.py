"""Demo step: an ensemble of diverse models (book section 7.3.3) on Fashion-MNIST.

Three different learners: the tuned network from the hyperparameter-search step when one ran before
(``ctx.tuner``), else a small MLP trained here; a small convnet; and histogram gradient-boosted trees on the
flattened pixels (a subset, to stay fast). Their weights are fitted on a validation split the models did not
train on, then the report compares every member with the ensemble on the test set. The ensemble is saved
as one file and reloaded.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

import loom
from loom import layers
from loom.ensembles import Ensemble, EnsembleWarning, load, tree_member

FULL = {"validation": 5000, "mlp_samples": 30000, "conv_samples": 15000, "tree_samples": 4000, "tree_iter": 25}
QUICK = {"validation": 500, "mlp_samples": 2500, "conv_samples": 2500, "tree_samples": 1000, "tree_iter": 8}


def build_mlp() -> loom.Model:
    inputs = loom.Input((28, 28), name="image")
    x = layers.Flatten()(inputs)
    x = layers.Dense(256, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax", name="label")(x)
    return loom.Model(inputs, outputs, name="mlp")


def build_convnet() -> loom.Model:
    inputs = loom.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax", name="label")(x)
    return loom.Model(inputs, outputs, name="small_convnet")


def _train(model: loom.Model, x: np.ndarray, y: np.ndarray, epochs: int, batch_size: int) -> loom.Model:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=0)
    return model


def _network(ctx, x: np.ndarray, y: np.ndarray, sizes: dict) -> tuple[str, loom.Model]:
    """The tuning step's best model when there is one, else a small MLP trained here."""
    tuner = getattr(ctx, "tuner", None)
    if tuner is not None:
        try:
            return "tuned_network", tuner.best_model()
        except Exception as e:  # noqa: BLE001 - a demo step goes on with its own network
            print(f"(could not load the tuned model: {type(e).__name__}: {e}; training an MLP instead)")
    n = sizes["mlp_samples"]
    return "mlp", _train(build_mlp(), x[:n], y[:n], epochs=ctx.epochs(3), batch_size=128)


def run(ctx) -> None:
    loom.utils.set_random_seed(0)
    sizes = QUICK if ctx.quick else FULL
    v = sizes["validation"]
    x_fit, y_fit = ctx.x_train[:-v], ctx.y_train[:-v]
    x_val, y_val = ctx.x_train[-v:], ctx.y_train[-v:]
    name, network = _network(ctx, x_fit, y_fit, sizes)
    n = sizes["conv_samples"]
    convnet = _train(build_convnet(), x_fit[:n], y_fit[:n], epochs=ctx.epochs(2), batch_size=64)
    trees = tree_member(x_fit, y_fit, kind="hist_gradient_boosting", max_samples=sizes["tree_samples"],
                        max_iter=sizes["tree_iter"], learning_rate=0.2, n_threads=1, name="boosted_trees")
    ensemble = Ensemble({name: network, "convnet": convnet, "boosted_trees": trees})
    ensemble.fit_weights(x_val, y_val, metric="log_loss")
    print(f"weights fitted on {v} validation images: "
          + ", ".join(f"{n} {w:.3f}" for n, w in zip(ensemble.names, ensemble.weights)))
    with warnings.catch_warnings():  # the report's table already lists its warnings
        warnings.simplefilter("ignore", EnsembleWarning)
        report = ensemble.report(ctx.x_test, ctx.y_test)
    accuracy = report.accuracy["ensemble"]
    path = os.path.join(ctx.workdir, "ensemble.zip")
    ensemble.save(path)
    same = np.array_equal(load(path).predict(ctx.x_test[:256]), ensemble.predict(ctx.x_test[:256]))
    print(f"test accuracy {accuracy:.4f}; saved to {path}; reloaded ensemble predicts identically: {same}")
    ctx.results["ensemble_test_acc"] = round(float(accuracy), 4)
    ctx.results["ensemble_gain_log_loss"] = round(float(report.gain), 4)
