"""Shared by the ensemble tests: constructed predictions and a small trained deep + shallow pair on digits."""

from __future__ import annotations

import functools

import numpy as np

import loom
from loom.datasets.sklearn_data import load_digits


def random_probabilities(rng: np.random.RandomState, samples: int, classes: int, sharpness: float = 2.0):
    logits = sharpness * rng.randn(samples, classes)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return (e / e.sum(1, keepdims=True)).astype("float32")


def noisy_member(y: np.ndarray, classes: int, accuracy: float, seed: int) -> np.ndarray:
    """Probabilities that favour the true class on about ``accuracy`` of the rows."""
    rng = np.random.RandomState(seed)
    probs = random_probabilities(rng, len(y), classes, 1.0).astype(np.float64)
    right = rng.rand(len(y)) < accuracy
    probs[right, y[right]] += 1.5
    return probs / probs.sum(1, keepdims=True)


def constant(predictions: np.ndarray, name: str):
    """A callable member returning fixed predictions (ignores its input)."""
    def member(x):
        return predictions
    member.__name__ = name
    return member


@functools.lru_cache(maxsize=None)
def digits():
    """Digits scaled to [0, 1]: ``(x_train, y_train), (x_val, y_val), (x_test, y_test)``."""
    (x_train, y_train), (x_test, y_test) = load_digits()
    x_train, x_test = x_train / 16.0, x_test / 16.0
    return (x_train[:-400], y_train[:-400]), (x_train[-400:], y_train[-400:]), (x_test, y_test)


@functools.lru_cache(maxsize=None)
def digits_mlp() -> loom.Model:
    """A small loom MLP trained on the digits (seeded, a few seconds)."""
    (x, y), _, _ = digits()
    loom.utils.set_random_seed(0)
    inputs = loom.Input((8, 8))
    h = loom.layers.Dense(64, activation="relu")(loom.layers.Flatten()(inputs))
    model = loom.Model(inputs, loom.layers.Dense(10, activation="softmax")(h), name="mlp")
    model.compile(loom.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=10, batch_size=32, verbose=0)
    return model


@functools.lru_cache(maxsize=None)
def digits_trees():
    """Histogram gradient boosting on the flattened digits, as an ensemble member."""
    from loom.ensembles import tree_member
    (x, y), _, _ = digits()
    return tree_member(x, y, kind="hist_gradient_boosting", max_iter=50, seed=0, n_threads=1)
