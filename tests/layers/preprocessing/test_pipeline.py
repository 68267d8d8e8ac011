"""Pipeline: layers applied in order, weights of its layers, config round trip; Keras's config keys."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras


def test_applies_layers_in_order_and_round_trips():
    pipeline = loom.layers.Pipeline([loom.layers.StringLookup(vocabulary=["a", "b"]),
                                     loom.layers.CategoryEncoding(num_tokens=3, output_mode="count")])
    assert pipeline([["a", "b", "b", "z"]]).tolist() == [[1.0, 1.0, 2.0]]
    copy = loom.layers.Pipeline.from_config(pipeline.get_config())
    assert copy([["b", "q"]]).tolist() == [[1.0, 0.0, 1.0]]
    assert [type(x).__name__ for x in copy.layers] == ["StringLookup", "CategoryEncoding"]


def test_weights_are_its_layers_and_match_keras():
    data = np.random.default_rng(0).normal(size=(6, 2)).astype("float32")
    ours = loom.layers.Pipeline([loom.layers.Normalization(), loom.layers.Discretization(bin_boundaries=[0.0])])
    theirs = keras.layers.Pipeline([keras.layers.Normalization(), keras.layers.Discretization(bin_boundaries=[0.0])])
    ours.layers[0].adapt(data)
    theirs.layers[0].adapt(data)
    assert len(ours.weights) == len(theirs.weights) == 3
    np.testing.assert_array_equal(ours(data).numpy(), np.asarray(theirs(data)))
    assert sorted(ours.get_config()) == sorted(theirs.get_config())


def test_bad_input():
    with pytest.raises(ConfigError, match="list of loom layers"):
        loom.layers.Pipeline(["not a layer"])


def test_training_reaches_layers_whose_call_takes_no_training_argument():
    # Dropout's call has no `training` parameter; its mode comes from Layer.__call__, which the pipeline uses.
    pipeline = loom.layers.Pipeline([loom.layers.Dropout(0.5, seed=1)])
    x = np.ones((4, 10), dtype="float32")
    assert (np.asarray(pipeline(x, training=True)) == 0).any()
    np.testing.assert_array_equal(np.asarray(pipeline(x, training=False)), x)
