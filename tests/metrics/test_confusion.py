"""Precision, Recall and the confusion counts against Keras 3, over several weighted batches."""

import numpy as np
import pytest

from loom import metrics
from tests.keras_oracle import keras
from tests.metrics.helpers import assert_parity

RNG = np.random.default_rng(5)


def _batches(shape=(10, 1), n=3):
    out = []
    for i in range(n):
        y_true = RNG.integers(0, 2, size=shape).astype("float32")
        y_pred = RNG.uniform(size=shape).astype("float32")
        y_pred[0, 0] = 0.5  # exactly at the threshold counts as negative
        weight = RNG.uniform(0, 2, size=(shape[0],)).astype("float32") if i != 1 else None
        out.append((y_true, y_pred, weight))
    return out


CASES = [
    ("Precision", {}), ("Recall", {}),
    ("Precision", {"thresholds": [0.2, 0.5, 0.9]}), ("Recall", {"thresholds": 0.3}),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}),  # evenly spaced: the bucketed path
    ("TruePositives", {}), ("FalsePositives", {"thresholds": [0.1, 0.8]}), ("TrueNegatives", {}),
    ("FalseNegatives", {}),
]


@pytest.mark.parametrize("cls_name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_confusion_metric_matches_keras(cls_name, kwargs):
    assert_parity(getattr(metrics, cls_name)(**kwargs), getattr(keras.metrics, cls_name)(**kwargs), _batches())


@pytest.mark.parametrize("cls_name", ["Precision", "Recall"])
@pytest.mark.parametrize("kwargs", [{"top_k": 2}, {"class_id": 1}, {"class_id": 2, "thresholds": [0.3, 0.6]}])
def test_multiclass_options_match_keras(cls_name, kwargs):
    batches = _batches(shape=(10, 4))
    assert_parity(getattr(metrics, cls_name)(**kwargs), getattr(keras.metrics, cls_name)(**kwargs), batches)


def test_configs_match_keras():
    ours, theirs = metrics.Precision(thresholds=[0.3, 0.6], name="p"), keras.metrics.Precision(
        thresholds=[0.3, 0.6], name="p")
    assert ours.get_config() == theirs.get_config()
    keras.backend.clear_session()
    assert [metrics.Recall().name for _ in range(2)] == [keras.metrics.Recall().name for _ in range(2)]


def test_invalid_threshold_is_rejected():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.Precision(thresholds=[1.5])
