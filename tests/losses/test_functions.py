"""Per-sample loss functions against Keras 3 (torch backend)."""

import numpy as np
import pytest
import torch

from loom import losses
from loom.errors import InputError
from tests.keras_oracle import keras

RNG = np.random.default_rng(7)


def _probs(shape, axis=-1):
    x = RNG.normal(size=shape).astype("float32")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return (e / e.sum(axis=axis, keepdims=True)).astype("float32")


def _onehot(labels, n):
    return np.eye(n, dtype="float32")[labels]


REG_TRUE = RNG.normal(size=(6, 4)).astype("float32")
REG_PRED = RNG.normal(size=(6, 4)).astype("float32")
POS_TRUE = np.abs(REG_TRUE)
POS_PRED = np.abs(REG_PRED) + 0.01
BIN_TRUE = RNG.integers(0, 2, size=(6, 3)).astype("float32")
BIN_PRED = np.clip(1 / (1 + np.exp(-REG_PRED[:, :3])), 0, 1).astype("float32")
BIN_PRED[0, 0], BIN_PRED[1, 1] = 0.0, 1.0  # exercise the epsilon clipping
LABELS = RNG.integers(0, 5, size=(6,))
CAT_TRUE = _onehot(LABELS, 5)
CAT_PRED = _probs((6, 5))
CAT_PRED[0] = [0.0, 1.0, 0.0, 0.0, 0.0]
LOGITS = RNG.normal(size=(6, 5)).astype("float32") * 3

CASES = [
    ("mean_squared_error", REG_TRUE, REG_PRED, {}),
    ("mean_absolute_error", REG_TRUE, REG_PRED, {}),
    ("mean_absolute_percentage_error", REG_TRUE, REG_PRED, {}),
    ("mean_squared_logarithmic_error", POS_TRUE, REG_PRED, {}),
    ("cosine_similarity", REG_TRUE, REG_PRED, {}),
    ("cosine_similarity", REG_TRUE, REG_PRED, {"axis": 0}),
    ("huber", REG_TRUE, REG_PRED, {}),
    ("huber", REG_TRUE, REG_PRED, {"delta": 0.3}),
    ("log_cosh", REG_TRUE, REG_PRED * 5, {}),
    ("kl_divergence", CAT_PRED[::-1].copy(), CAT_PRED, {}),
    ("poisson", POS_TRUE, POS_PRED, {}),
    ("hinge", BIN_TRUE, REG_PRED[:, :3], {}),
    ("hinge", BIN_TRUE * 2 - 1, REG_PRED[:, :3], {}),
    ("squared_hinge", BIN_TRUE, REG_PRED[:, :3], {}),
    ("categorical_hinge", CAT_TRUE, LOGITS, {}),
    ("binary_crossentropy", BIN_TRUE, BIN_PRED, {}),
    ("binary_crossentropy", BIN_TRUE, BIN_PRED, {"label_smoothing": 0.2}),
    ("binary_crossentropy", BIN_TRUE, REG_PRED[:, :3], {"from_logits": True}),
    ("binary_crossentropy", BIN_TRUE, REG_PRED[:, :3], {"from_logits": True, "label_smoothing": 0.1}),
    ("categorical_crossentropy", CAT_TRUE, CAT_PRED, {}),
    ("categorical_crossentropy", CAT_TRUE, CAT_PRED * 3, {}),  # unnormalised probabilities
    ("categorical_crossentropy", CAT_TRUE, CAT_PRED, {"label_smoothing": 0.1}),
    ("categorical_crossentropy", CAT_TRUE, LOGITS, {"from_logits": True}),
    ("categorical_crossentropy", CAT_TRUE, LOGITS, {"from_logits": True, "label_smoothing": 0.3}),
    ("sparse_categorical_crossentropy", LABELS, CAT_PRED, {}),
    ("sparse_categorical_crossentropy", LABELS[:, None], CAT_PRED, {}),
    ("sparse_categorical_crossentropy", LABELS, LOGITS, {"from_logits": True}),
    ("sparse_categorical_crossentropy", LABELS, LOGITS, {"from_logits": True, "ignore_class": 2}),
]


@pytest.mark.parametrize("name,y_true,y_pred,kwargs", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_function_matches_keras(name, y_true, y_pred, kwargs):
    expected = keras.ops.convert_to_numpy(getattr(keras.losses, name)(y_true, y_pred, **kwargs))
    got = getattr(losses, name)(torch.tensor(y_true), torch.tensor(y_pred), **kwargs)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6, atol=1e-6)


def test_sequence_shaped_sparse_crossentropy_matches_keras():
    labels = RNG.integers(0, 4, size=(3, 5))
    logits = RNG.normal(size=(3, 5, 4)).astype("float32")
    expected = keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))
    got = losses.sparse_categorical_crossentropy(torch.tensor(labels), torch.tensor(logits), from_logits=True)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_aliases_are_the_functions():
    assert losses.mse is losses.mean_squared_error
    assert losses.mae is losses.mean_absolute_error
    assert losses.mape is losses.mean_absolute_percentage_error
    assert losses.msle is losses.mean_squared_logarithmic_error
    assert losses.kld is losses.kl_divergence


def test_numpy_inputs_are_accepted():
    got = losses.mean_squared_error(REG_TRUE.astype("float64"), REG_PRED)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.numpy(), ((REG_TRUE - REG_PRED) ** 2).mean(-1), rtol=1e-6)


@pytest.mark.parametrize("y_true", [LABELS, LABELS[:, None], LABELS[:, None].astype("float32")])
def test_categorical_crossentropy_with_integer_labels_suggests_sparse(y_true):
    with pytest.raises(InputError, match="sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(torch.tensor(y_true), torch.tensor(CAT_PRED))


def test_sparse_crossentropy_with_one_hot_labels_suggests_categorical():
    with pytest.raises(InputError, match="'categorical_crossentropy'"):
        losses.sparse_categorical_crossentropy(torch.tensor(CAT_TRUE), torch.tensor(CAT_PRED))


def test_binary_crossentropy_shape_mismatch_is_an_input_error():
    with pytest.raises(InputError, match=r"y_true.shape=\(6, 3\), y_pred.shape=\(6, 5\)"):
        losses.binary_crossentropy(torch.tensor(BIN_TRUE), torch.tensor(CAT_PRED))


def test_crossentropy_gradients_are_finite_at_saturated_probabilities():
    y_pred = torch.tensor(CAT_PRED, requires_grad=True)
    losses.categorical_crossentropy(torch.tensor(CAT_TRUE), y_pred).sum().backward()
    assert torch.isfinite(y_pred.grad).all()


def test_binary_crossentropy_accepts_noisy_targets_outside_zero_one():
    """GAN programs add noise to 0/1 labels (``1 + 0.05 * u``). Keras 3.15's torch backend hands them to
    ``F.binary_cross_entropy``, which raises; its TF and JAX backends apply the clipped formula, which loom follows."""
    y_true = BIN_TRUE + 0.05 * RNG.uniform(size=BIN_TRUE.shape).astype("float32")
    assert y_true.max() > 1.0
    y_pred = torch.tensor(BIN_PRED, requires_grad=True)
    got = losses.binary_crossentropy(torch.tensor(y_true), y_pred)
    p = np.clip(BIN_PRED, np.float32(1e-7), np.float32(1 - 1e-7)).astype("float64")  # clipped in float32
    expected = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p)).mean(axis=-1)
    np.testing.assert_allclose(got.detach().numpy(), expected, rtol=1e-5)
    got.sum().backward()
    assert torch.isfinite(y_pred.grad).all()
    assert float(losses.BinaryCrossentropy()(y_true, BIN_PRED)) == pytest.approx(float(expected.mean()), rel=1e-5)
