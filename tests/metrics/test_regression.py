"""Regression, crossentropy and hinge metrics against Keras 3, over several weighted batches."""

import numpy as np
import pytest

from loom import metrics
from tests.keras_oracle import keras
from tests.metrics.helpers import assert_parity

RNG = np.random.default_rng(13)


def _batches(make, n=3):
    out = []
    for i in range(n):
        y_true, y_pred = make()
        weight = RNG.uniform(0, 2, size=(len(y_true),)).astype("float32") if i != 1 else None
        out.append((y_true, y_pred, weight))
    return out


def regression():
    return RNG.normal(size=(8, 3)).astype("float32"), RNG.normal(size=(8, 3)).astype("float32")


def positive():
    return RNG.uniform(0.1, 2, size=(8, 3)).astype("float32"), RNG.uniform(0.1, 2, size=(8, 3)).astype("float32")


def binary():
    return RNG.integers(0, 2, size=(8, 1)).astype("float32"), RNG.uniform(size=(8, 1)).astype("float32")


def probabilities():
    logits = RNG.normal(size=(8, 5))
    p = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
    return np.eye(5, dtype="float32")[RNG.integers(0, 5, size=8)], p


def sparse():
    return RNG.integers(0, 5, size=(8,)), RNG.normal(size=(8, 5)).astype("float32")


CASES = [
    ("MeanSquaredError", {}, regression), ("MeanAbsoluteError", {}, regression),
    ("MeanAbsolutePercentageError", {}, regression), ("MeanSquaredLogarithmicError", {}, positive),
    ("RootMeanSquaredError", {}, regression), ("CosineSimilarity", {}, regression),
    ("LogCoshError", {}, regression), ("KLDivergence", {}, positive), ("Poisson", {}, positive),
    ("Hinge", {}, binary), ("SquaredHinge", {}, binary), ("CategoricalHinge", {}, probabilities),
    ("BinaryCrossentropy", {}, binary), ("BinaryCrossentropy", {"label_smoothing": 0.1}, binary),
    ("CategoricalCrossentropy", {}, probabilities),
    ("CategoricalCrossentropy", {"label_smoothing": 0.2}, probabilities),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, sparse),
]


@pytest.mark.parametrize("cls_name,kwargs,make", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_metric_matches_keras(cls_name, kwargs, make):
    ours, theirs = getattr(metrics, cls_name)(**kwargs), getattr(keras.metrics, cls_name)(**kwargs)
    assert ours.name == theirs.name
    assert_parity(ours, theirs, _batches(make))


def test_temporal_sample_weights_match_keras():
    batches = [(RNG.normal(size=(4, 6, 2)).astype("float32"), RNG.normal(size=(4, 6, 2)).astype("float32"),
                RNG.uniform(size=(4, 6)).astype("float32")) for _ in range(2)]
    assert_parity(metrics.MeanAbsoluteError(), keras.metrics.MeanAbsoluteError(), batches)
    assert_parity(metrics.RootMeanSquaredError(), keras.metrics.RootMeanSquaredError(), batches)
