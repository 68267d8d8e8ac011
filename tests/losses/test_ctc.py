"""CTC loss against Keras 3."""

import numpy as np
import pytest
import torch

from loom import losses
from loom.errors import InputError
from tests.losses.oracle import assert_function_matches_keras, assert_matches_keras

RNG = np.random.default_rng(8)
LOGITS = RNG.normal(size=(3, 10, 5)).astype("float32")
LABELS = np.array([[1, 2, 3, 0], [4, 4, 0, 0], [2, 1, 3, 4]], dtype="int32")
WEIGHTS = np.array([1.0, 0.5, 2.0], dtype="float32")


def test_ctc_matches_keras():
    assert_matches_keras("CTC", {}, LABELS, LOGITS, sample_weight=WEIGHTS, rtol=1e-5, atol=1e-5)
    assert_function_matches_keras("ctc", LABELS, LOGITS, atol=1e-5)


def test_ctc_is_differentiable():
    logits = torch.tensor(LOGITS, requires_grad=True)
    losses.CTC()(LABELS, logits).backward()
    assert torch.isfinite(logits.grad).all()


def test_ctc_rejects_bad_ranks():
    with pytest.raises(InputError, match=r"ctc.*y_true.*\(3, 4, 1\)"):
        losses.ctc(LABELS[..., None], LOGITS)
    with pytest.raises(InputError, match=r"ctc.*y_pred.*\(3, 5\)"):
        losses.ctc(LABELS, LOGITS[:, 0])
