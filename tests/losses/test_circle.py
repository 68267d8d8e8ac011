"""Circle loss against Keras 3."""

import numpy as np
import pytest
import torch

from loom import losses
from loom.errors import InputError
from tests.keras_oracle import keras
from tests.losses.oracle import assert_matches_keras

RNG = np.random.default_rng(7)
EMB = RNG.normal(size=(8, 4)).astype("float32")
EMB /= np.linalg.norm(EMB, axis=1, keepdims=True)
LABELS = np.array([0, 0, 1, 1, 2, 2, 3, 1])
WEIGHTS = RNG.uniform(0, 2, size=(8,)).astype("float32")


@pytest.mark.parametrize("kwargs", [{}, {"gamma": 16.0, "margin": 0.25, "remove_diagonal": False}])
def test_circle_matches_keras(kwargs):
    assert_matches_keras("Circle", kwargs, LABELS, EMB, sample_weight=WEIGHTS, rtol=1e-4, atol=1e-4)


def test_circle_function_with_reference_embeddings_matches_keras():
    refs, ref_labels = EMB[::-1].copy(), LABELS[::-1].copy()
    expected = keras.ops.convert_to_numpy(keras.losses.circle(LABELS, EMB, ref_labels=ref_labels,
                                                              ref_embeddings=refs, gamma=10, margin=0.3))
    got = losses.circle(LABELS, EMB, ref_labels=ref_labels, ref_embeddings=refs, gamma=10, margin=0.3)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)


def test_circle_is_differentiable():
    emb = torch.tensor(EMB, requires_grad=True)
    losses.Circle(gamma=8.0)(LABELS, emb).backward()
    assert torch.isfinite(emb.grad).all()


def test_circle_rejects_mismatched_labels():
    with pytest.raises(InputError, match=r"circle.*\(5,\).*\(8, 4\)"):
        losses.circle(LABELS[:5], EMB)
