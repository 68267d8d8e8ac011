"""AUC (ROC, PR and their options) against Keras 3 to 1e-5, over several weighted batches."""

import numpy as np
import pytest

from loom import metrics
from tests.keras_oracle import keras
from tests.metrics.helpers import assert_parity

RNG = np.random.default_rng(9)


def _batches(shape=(64,), n=3, logits=False):
    out = []
    for i in range(n):
        y_true = RNG.integers(0, 2, size=shape).astype("float32")
        y_pred = np.clip(y_true * 0.3 + RNG.uniform(size=shape) * 0.7, 0, 1).astype("float32")
        if logits:
            y_pred = (y_pred - 0.5) * 6
        y_pred.reshape(-1)[:2] = [0.0, 1.0] if not logits else [-9.0, 9.0]
        weight = RNG.uniform(0, 2, size=(shape[0],)).astype("float32") if i != 1 else None
        out.append((y_true, y_pred, weight))
    return out


CASES = [
    ({}, {}),
    ({"curve": "PR"}, {}),
    ({"num_thresholds": 37}, {}),
    ({"curve": "PR", "summation_method": "majoring"}, {}),
    ({"summation_method": "minoring"}, {}),
    ({"curve": "PRGAIN"}, {}),
    ({"thresholds": [0.1, 0.33, 0.5, 0.8]}, {}),
    ({"curve": "PR", "thresholds": [0.25, 0.5, 0.75]}, {}),
    ({"from_logits": True}, {"logits": True}),
    ({}, {"shape": (32, 1)}),
    ({"multi_label": True}, {"shape": (32, 3)}),
    ({"multi_label": True, "num_labels": 3, "label_weights": [0.2, 1.0, 0.5], "curve": "PR"}, {"shape": (32, 3)}),
    ({"label_weights": [0.2, 1.0, 0.5]}, {"shape": (32, 3)}),
]


@pytest.mark.parametrize("kwargs,data", CASES, ids=[str(i) for i in range(len(CASES))])
def test_auc_matches_keras(kwargs, data):
    assert_parity(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), _batches(**data), rtol=1e-5, atol=1e-6)


def test_auc_config_matches_keras():
    kwargs = {"num_thresholds": 50, "curve": "PR", "thresholds": None}
    keras.backend.clear_session()
    ours, theirs = metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs)
    assert ours.name == theirs.name == "auc"
    expected = {k: v for k, v in theirs.get_config().items()}
    assert ours.get_config() == expected
    assert metrics.AUC.from_config(ours.get_config()).get_config() == ours.get_config()


def test_invalid_curve_lists_valid_values():
    with pytest.raises(ValueError, match="ROC"):
        metrics.AUC(curve="DET")
