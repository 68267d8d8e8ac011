"""The issue-14 metrics against Keras 3: F-scores, IoUs, R2, correlations and rates at a constraint."""

import numpy as np
import pytest
import torch

from loom import metrics
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras
from tests.metrics.oracle import check

RNG = np.random.default_rng(3)


def _multilabel(n=6, c=3):
    return RNG.integers(0, 2, size=(n, c)).astype("float32"), RNG.uniform(size=(n, c)).astype("float32")


ML = [(*_multilabel(), RNG.uniform(0, 2, size=(6,)).astype("float32")), (*_multilabel(), None)]


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.4])
def test_f_scores_match_keras(average, threshold):
    check("F1Score", {"average": average, "threshold": threshold}, ML)
    check("FBetaScore", {"average": average, "threshold": threshold, "beta": 2.0}, ML)


def _labels(n=20, c=4):
    return RNG.integers(0, c, size=(n,)), RNG.integers(0, c, size=(n,)), RNG.integers(0, 3, size=(n,))


SPARSE = [_labels(), (*_labels()[:2], None)]


@pytest.mark.parametrize("kwargs", [{"num_classes": 4, "target_class_ids": [0, 2]},
                                    {"num_classes": 4, "target_class_ids": [1, 3], "ignore_class": 2}])
def test_iou_matches_keras(kwargs):
    check("IoU", kwargs, SPARSE)


def test_mean_iou_and_one_hot_variants_match_keras():
    check("MeanIoU", {"num_classes": 4}, SPARSE)
    check("MeanIoU", {"num_classes": 4, "ignore_class": 0}, SPARSE)
    eye = np.eye(4, dtype="float32")
    one_hot = [(eye[t], RNG.uniform(size=(20, 4)).astype("float32"), w) for t, _, w in SPARSE]
    check("OneHotIoU", {"num_classes": 4, "target_class_ids": [0, 3]}, one_hot)
    check("OneHotMeanIoU", {"num_classes": 4}, one_hot)
    scores = [(RNG.integers(0, 2, size=(20,)), RNG.uniform(size=(20,)).astype("float32"), w)
              for w in (RNG.integers(0, 3, size=(20,)), None)]
    check("BinaryIoU", {}, scores)
    check("BinaryIoU", {"target_class_ids": [1], "threshold": 0.3}, scores)


REG = [(RNG.normal(size=(8, 3)).astype("float32"), RNG.normal(size=(8, 3)).astype("float32"),
        RNG.uniform(size=(8,)).astype("float32")),
       (RNG.normal(size=(8, 3)).astype("float32"), RNG.normal(size=(8, 3)).astype("float32"), None)]


@pytest.mark.parametrize("kwargs", [{}, {"class_aggregation": None}, {"class_aggregation": "variance_weighted_average"},
                                    {"num_regressors": 2}])
def test_r2_score_matches_keras(kwargs):
    check("R2Score", kwargs, REG)


@pytest.mark.parametrize("cls_name", ["PearsonCorrelation", "ConcordanceCorrelation"])
def test_correlations_match_keras(cls_name):
    check(cls_name, {}, REG)
    check(cls_name, {"axis": 0}, [(t, p, None) for t, p, _ in REG])


def _binary(n=30):
    return RNG.integers(0, 2, size=(n,)).astype("float32"), RNG.uniform(size=(n,)).astype("float32")


BIN = [(*_binary(), RNG.uniform(0, 2, size=(30,)).astype("float32")), (*_binary(), None)]
CLASSES = [(RNG.integers(0, 2, size=(10, 3)).astype("float32"), RNG.uniform(size=(10, 3)).astype("float32"), None)]


@pytest.mark.parametrize("cls_name,value", [("SensitivityAtSpecificity", 0.6), ("SpecificityAtSensitivity", 0.7),
                                            ("PrecisionAtRecall", 0.5), ("RecallAtPrecision", 0.6)])
def test_rates_at_a_constraint_match_keras(cls_name, value):
    arg = {"SensitivityAtSpecificity": "specificity", "SpecificityAtSensitivity": "sensitivity",
           "PrecisionAtRecall": "recall", "RecallAtPrecision": "precision"}[cls_name]
    check(cls_name, {arg: value}, BIN)
    check(cls_name, {arg: value, "num_thresholds": 7}, BIN)
    check(cls_name, {arg: value, "num_thresholds": 1}, BIN)
    check(cls_name, {arg: value, "class_id": 1}, CLASSES)


FUNCTIONS = ["binary_crossentropy", "categorical_crossentropy", "categorical_hinge", "hinge", "huber",
             "kl_divergence", "log_cosh", "mean_absolute_error", "mean_absolute_percentage_error",
             "mean_squared_error", "mean_squared_logarithmic_error", "poisson", "squared_hinge",
             "binary_focal_crossentropy", "categorical_focal_crossentropy", "pearson_correlation",
             "concordance_correlation"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_names_match_keras(name):
    y_true = RNG.integers(0, 2, size=(5, 3)).astype("float32")
    y_pred = RNG.uniform(0.05, 0.95, size=(5, 3)).astype("float32")
    expected = keras.ops.convert_to_numpy(getattr(keras.metrics, name)(keras.ops.convert_to_tensor(y_true),
                                                                      keras.ops.convert_to_tensor(y_pred)))
    np.testing.assert_allclose(getattr(metrics, name)(torch.tensor(y_true), torch.tensor(y_pred)).numpy(),
                               expected, rtol=1e-5, atol=1e-6)


def test_sparse_categorical_crossentropy_function():
    labels, probs = np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], dtype="float32")
    expected = keras.ops.convert_to_numpy(keras.metrics.sparse_categorical_crossentropy(labels, probs))
    np.testing.assert_allclose(metrics.sparse_categorical_crossentropy(labels, probs).numpy(), expected, rtol=1e-6)


def test_state_stays_on_the_data_device_without_host_reads():
    m = metrics.F1Score(average="macro")
    m.update_state(torch.tensor(ML[0][0]), torch.tensor(ML[0][1]))
    assert all(v.device == torch.device("cpu") for v in m.variables) and m.result().dim() == 0


@pytest.mark.parametrize("make,match", [
    (lambda: metrics.F1Score(average="mean"), "average"),
    (lambda: metrics.FBetaScore(beta=2), "beta"),
    (lambda: metrics.F1Score(threshold=1.5), "threshold"),
    (lambda: metrics.IoU(num_classes=3, target_class_ids=[3]), r"out of range.*\[0, 3\)"),
    (lambda: metrics.R2Score(class_aggregation="median"), "class_aggregation"),
    (lambda: metrics.R2Score(num_regressors=-1), "num_regressors"),
    (lambda: metrics.PrecisionAtRecall(recall=1.5), r"recall.*\[0, 1\]"),
    (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "num_thresholds"),
])
def test_bad_arguments_are_config_errors(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_bad_input_ranks_are_input_errors():
    with pytest.raises(InputError, match=r"F1Score expects 2D.*\(4,\)"):
        metrics.F1Score()(torch.ones(4), torch.ones(4))
    with pytest.raises(InputError, match="R2Score expects 2D"):
        metrics.R2Score()(torch.ones(2, 3, 1), torch.ones(2, 3, 1))
