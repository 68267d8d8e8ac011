"""Focal and generalized crossentropies against Keras 3."""

import numpy as np
import pytest
import torch

from loom import losses
from loom.errors import ConfigError, InputError
from tests.losses.oracle import assert_function_matches_keras, assert_matches_keras

RNG = np.random.default_rng(5)
N = 6
BIN_TRUE = RNG.integers(0, 2, size=(N, 3)).astype("float32")
LOGITS = RNG.normal(size=(N, 3)).astype("float32") * 2
PROBS = (1 / (1 + np.exp(-LOGITS))).astype("float32")
LABELS = RNG.integers(0, 3, size=(N,))
ONE_HOT = np.eye(3, dtype="float32")[LABELS]
SOFT = (np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)).astype("float32")
WEIGHTS = RNG.uniform(0, 2, size=(N,)).astype("float32")


@pytest.mark.parametrize("kwargs,y_pred", [
    ({}, PROBS),
    ({"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5}, PROBS),
    ({"from_logits": True, "label_smoothing": 0.1}, LOGITS),
])
def test_binary_focal_matches_keras(kwargs, y_pred):
    assert_matches_keras("BinaryFocalCrossentropy", kwargs, BIN_TRUE, y_pred, sample_weight=WEIGHTS)
    assert_function_matches_keras("binary_focal_crossentropy", BIN_TRUE, y_pred, **kwargs)


@pytest.mark.parametrize("kwargs,y_pred", [
    ({}, SOFT),
    ({"alpha": 0.5, "gamma": 3.0, "label_smoothing": 0.2}, SOFT),
    ({"from_logits": True}, LOGITS),
])
def test_categorical_focal_matches_keras(kwargs, y_pred):
    assert_matches_keras("CategoricalFocalCrossentropy", kwargs, ONE_HOT, y_pred, sample_weight=WEIGHTS)
    assert_function_matches_keras("categorical_focal_crossentropy", ONE_HOT, y_pred, **kwargs)


@pytest.mark.parametrize("q", [0.5, 0.1, 0.9])
def test_generalized_crossentropy_matches_keras(q):
    assert_matches_keras("CategoricalGeneralizedCrossEntropy", {"q": q}, LABELS, SOFT, sample_weight=WEIGHTS)
    assert_function_matches_keras("categorical_generalized_cross_entropy", LABELS, SOFT, q=q)


def test_focal_loss_is_differentiable():
    logits = torch.tensor(LOGITS, requires_grad=True)
    losses.BinaryFocalCrossentropy(from_logits=True)(BIN_TRUE, logits).backward()
    assert torch.isfinite(logits.grad).all()


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ConfigError, match=r"q must be in the interval \(0, 1\).*q=1.5"):
        losses.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(ConfigError, match="axis"):
        losses.CategoricalFocalCrossentropy(axis=True)
    with pytest.raises(InputError, match=r"binary_focal_crossentropy.*\(6, 3\).*\(6, 2\)"):
        losses.binary_focal_crossentropy(BIN_TRUE, PROBS[:, :2])
    with pytest.raises(InputError, match="categorical_focal_crossentropy"):
        losses.CategoricalFocalCrossentropy()(LABELS, SOFT)
    with pytest.raises(InputError, match="categorical_generalized_cross_entropy"):
        losses.categorical_generalized_cross_entropy(ONE_HOT, SOFT, q=0.5)
