"""CategoryEncoding: one-hot / multi-hot / count (with weights); parity with Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("mode,in_shape,out_shape", [("one_hot", (3, 1), (3, 5)), ("one_hot", (3, 2), (3, 2, 5)),
                                                     ("multi_hot", (3, 4), (3, 5)), ("count", (3, 4), (3, 5))])
def test_modes_match_keras(mode, in_shape, out_shape):
    run_layer_test(loom.layers.CategoryEncoding, {"num_tokens": 5, "output_mode": mode}, input_shape=in_shape,
                   input_dtype="int32", int_high=5, expected_output_shape=out_shape, run_training_check=False,
                   expected_output_dtype="float32", keras_cls=keras.layers.CategoryEncoding)


def test_count_weights_match_keras():
    ids = np.array([[0, 1, 1], [2, 2, 0]])
    weights = np.array([[0.5, 1.0, 2.0], [1.0, 0.25, 3.0]], "float32")
    ours = loom.layers.CategoryEncoding(3, output_mode="count")(ids, count_weights=weights)
    theirs = keras.layers.CategoryEncoding(3, output_mode="count")(ids, count_weights=weights)
    np.testing.assert_allclose(ours.numpy(), np.asarray(theirs))


def test_one_sample_of_ids_matches_keras():
    ids = np.array([0, 2, 2, 4])
    for mode in ("multi_hot", "count", "one_hot"):
        ours = loom.layers.CategoryEncoding(5, output_mode=mode)(ids)
        theirs = keras.layers.CategoryEncoding(5, output_mode=mode)(ids)
        np.testing.assert_allclose(ours.numpy(), np.asarray(theirs))


def test_in_a_functional_model():
    inputs = loom.Input((3,), dtype="int32")
    model = loom.Model(inputs, loom.layers.CategoryEncoding(4)(inputs))
    assert model.output_shape == (None, 4)
    np.testing.assert_allclose(model.predict(np.array([[0, 3, 3]]), verbose=0), [[1.0, 0.0, 0.0, 1.0]])


def test_bad_input():
    with pytest.raises(ConfigError, match="num_tokens"):
        loom.layers.CategoryEncoding()
    with pytest.raises(ConfigError, match="output_mode"):
        loom.layers.CategoryEncoding(3, output_mode="int")
    with pytest.raises(InputError, match=r"\[0, 3\)"):
        loom.layers.CategoryEncoding(3)(np.array([[0, 3]]))
    with pytest.raises(InputError, match="count_weights"):
        loom.layers.CategoryEncoding(3)(np.array([[0, 1]]), count_weights=np.ones((1, 2)))
