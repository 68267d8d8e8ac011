"""Shared by the tuning tests: scikit-learn's digits (real data, 8x8 images flattened) and small model builders."""

from __future__ import annotations

import functools

import loom
from loom import layers, optimizers


@functools.lru_cache(maxsize=None)
def digits_data():
    """``(x_train, y_train), (x_val, y_val), (x_test, y_test)``: 1078 / 360 / 359 digits scaled to [0, 1]."""
    from loom.datasets.sklearn_data import load_digits
    (x, y), (x_test, y_test) = load_digits()
    x, x_test = x.reshape(len(x), -1) / 16.0, x_test.reshape(len(x_test), -1) / 16.0
    return (x[:1078], y[:1078]), (x[1078:], y[1078:]), (x_test, y_test)


def build_mlp(hp):
    """A one-hidden-layer MLP; its default configuration (4 units, learning rate 1e-5) barely learns."""
    model = loom.Sequential([loom.Input((64,)),
                             layers.Dense(hp.Int("units", 4, 64, step=4), activation="relu"),
                             layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(learning_rate=hp.Float("lr", 1e-5, 1e-1, log=True)),
                  loss="sparse_categorical_crossentropy", metrics=["acc"])
    return model


def build_conditional(hp):
    """A choice that adds layers: units_1 exists only when layers == 2."""
    model = loom.Sequential([loom.Input((64,))])
    for i in range(hp.Int("layers", 1, 2)):
        model.add(layers.Dense(hp.Int(f"units_{i}", 8, 32, step=8), activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(optimizer=optimizers.Adam(learning_rate=hp.Choice("lr", [1e-2, 1e-3])),
                  loss="sparse_categorical_crossentropy", metrics=["acc"])
    return model


def default_val_acc(build, epochs: int, batch_size: int = 64, samples: int | None = None) -> float:
    """Validation accuracy of ``build(HyperParameters())`` trained like a trial (best epoch)."""
    from loom.tuning import HyperParameters
    (x, y), val, _ = digits_data()
    x, y = x[:samples], y[:samples]
    loom.utils.set_random_seed(0)
    history = build(HyperParameters()).fit(x, y, validation_data=val, epochs=epochs, batch_size=batch_size,
                                           verbose=0)
    return max(history.history["val_acc"])
