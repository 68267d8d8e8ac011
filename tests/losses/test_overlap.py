"""Dice and Tversky against Keras 3."""

import numpy as np
import pytest

from loom import losses
from loom.errors import InputError
from tests.losses.oracle import assert_function_matches_keras, assert_matches_keras

RNG = np.random.default_rng(6)
MASKS = RNG.integers(0, 2, size=(4, 5, 5, 1)).astype("float32")
PROBS = RNG.uniform(size=(4, 5, 5, 1)).astype("float32")
WEIGHTS = RNG.uniform(0, 2, size=(4,)).astype("float32")


@pytest.mark.parametrize("axis", [None, (1, 2, 3)])
def test_dice_matches_keras(axis):
    weights = None if axis is None else WEIGHTS
    assert_matches_keras("Dice", {"axis": axis}, MASKS, PROBS, sample_weight=weights)
    assert_function_matches_keras("dice", MASKS, PROBS, axis=axis)


@pytest.mark.parametrize("alpha,beta,axis", [(0.5, 0.5, None), (0.7, 0.3, (1, 2, 3)), (0.2, 0.9, (1, 2))])
def test_tversky_matches_keras(alpha, beta, axis):
    weights = WEIGHTS if axis == (1, 2, 3) else None
    assert_matches_keras("Tversky", {"alpha": alpha, "beta": beta, "axis": axis}, MASKS, PROBS,
                         sample_weight=weights)
    assert_function_matches_keras("tversky", MASKS, PROBS, alpha=alpha, beta=beta, axis=axis)


def test_mismatched_shapes_raise():
    with pytest.raises(InputError, match=r"dice.*\(4, 5, 5, 1\).*\(4, 3\)"):
        losses.dice(MASKS, PROBS[:, :3, 0, 0])
