"""Accuracy metrics (functions and classes) against Keras 3, over several weighted batches."""

import numpy as np
import pytest
import torch

from loom import metrics
from tests.keras_oracle import keras
from tests.metrics.helpers import assert_parity

RNG = np.random.default_rng(3)


def _batches(make, n=3, weighted=True):
    out = []
    for i in range(n):
        y_true, y_pred = make()
        weight = RNG.uniform(0, 2, size=(len(y_true),)).astype("float32") if weighted and i != 1 else None
        out.append((y_true, y_pred, weight))
    return out


def binary():
    return RNG.integers(0, 2, size=(8, 1)).astype("float32"), RNG.uniform(size=(8, 1)).astype("float32")


def one_hot():
    labels = RNG.integers(0, 6, size=(8,))
    return np.eye(6, dtype="float32")[labels], RNG.normal(size=(8, 6)).astype("float32")


def sparse():
    return RNG.integers(0, 6, size=(8,)), RNG.normal(size=(8, 6)).astype("float32")


def sparse_column():
    return RNG.integers(0, 6, size=(8, 1)), RNG.normal(size=(8, 6)).astype("float32")


def sequence_sparse():
    return RNG.integers(0, 6, size=(8, 4)), RNG.normal(size=(8, 4, 6)).astype("float32")


CASES = [
    ("BinaryAccuracy", {}, binary),
    ("BinaryAccuracy", {"threshold": 0.7}, binary),
    ("CategoricalAccuracy", {}, one_hot),
    ("SparseCategoricalAccuracy", {}, sparse),
    ("SparseCategoricalAccuracy", {}, sparse_column),
    ("SparseCategoricalAccuracy", {}, sequence_sparse),
    ("TopKCategoricalAccuracy", {"k": 3}, one_hot),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, sparse),
    ("SparseTopKCategoricalAccuracy", {}, sparse_column),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, sequence_sparse),
]


@pytest.mark.parametrize("cls_name,kwargs,make", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_accuracy_metric_matches_keras(cls_name, kwargs, make):
    assert_parity(getattr(metrics, cls_name)(**kwargs), getattr(keras.metrics, cls_name)(**kwargs), _batches(make))


@pytest.mark.parametrize("fn_name,kwargs,make", [
    ("binary_accuracy", {}, binary), ("categorical_accuracy", {}, one_hot),
    ("sparse_categorical_accuracy", {}, sparse), ("sparse_categorical_accuracy", {}, sparse_column),
    ("top_k_categorical_accuracy", {"k": 2}, one_hot), ("sparse_top_k_categorical_accuracy", {"k": 4}, sparse)])
def test_accuracy_function_matches_keras(fn_name, kwargs, make):
    y_true, y_pred = make()
    expected = keras.ops.convert_to_numpy(getattr(keras.metrics, fn_name)(y_true, y_pred, **kwargs))
    got = getattr(metrics, fn_name)(torch.as_tensor(y_true), torch.as_tensor(y_pred), **kwargs)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_top_k_larger_than_classes_counts_everything():
    y_true, y_pred = torch.tensor([0, 1]), torch.tensor([[0.1, 0.9], [0.8, 0.2]])
    assert metrics.sparse_top_k_categorical_accuracy(y_true, y_pred, k=5).tolist() == [1.0, 1.0]


@pytest.mark.parametrize("cls_name,kwargs",
                         [(c[0], c[1]) for c in CASES[1:4]] + [("TopKCategoricalAccuracy", {"k": 2})])
def test_names_and_configs_match_keras(cls_name, kwargs):
    ours, theirs = getattr(metrics, cls_name)(**kwargs), getattr(keras.metrics, cls_name)(**kwargs)
    assert ours.name == theirs.name
    assert ours.get_config() == theirs.get_config()
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
