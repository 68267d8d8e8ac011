"""ReversibleEmbedding against Keras 3: both directions, tied and untied, soft cap, masks, config."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import make_inputs, run_layer_test


@pytest.mark.parametrize("init,weights", [({"input_dim": 10, "output_dim": 4}, 1),
                                          ({"input_dim": 10, "output_dim": 4, "tie_weights": False}, 2)])
def test_forward_matches_keras(init, weights):
    run_layer_test(loom.layers.ReversibleEmbedding, init, input_shape=(2, 5), input_dtype="int32",
                   expected_output_shape=(2, 5, 4), expected_num_trainable_weights=weights,
                   run_training_check=weights == 1, keras_cls=keras.layers.ReversibleEmbedding)


@pytest.mark.parametrize("init", [{"input_dim": 10, "output_dim": 4},
                                  {"input_dim": 10, "output_dim": 4, "tie_weights": False, "logit_soft_cap": 0.05}])
def test_reverse_matches_keras(init):
    run_layer_test(loom.layers.ReversibleEmbedding, init, input_data=make_inputs((2, 5, 4)),
                   call_kwargs={"reverse": True}, expected_output_shape=(2, 5, 10),
                   run_training_check=init.get("tie_weights", True), keras_cls=keras.layers.ReversibleEmbedding)


def test_config_equals_keras_and_tied_logits_use_the_table():
    layer = loom.layers.ReversibleEmbedding(10, 4, mask_zero=True)
    assert set(layer.get_config()) == set(keras.layers.ReversibleEmbedding(10, 4).get_config())
    vectors = layer(torch.tensor([[1, 0]]))
    torch.testing.assert_close(layer(vectors, reverse=True), vectors @ layer.embeddings.t())
    assert layer.compute_mask(torch.tensor([[1, 0]])).tolist() == [[True, False]]
    assert layer.compute_mask(vectors) is None


def test_language_model_ties_input_and_output():
    ids = loom.Input((6,), dtype="int32")
    embed = loom.layers.ReversibleEmbedding(20, 8)
    logits = embed(loom.layers.Dense(8)(embed(ids)), reverse=True)
    model = loom.Model(ids, logits)
    assert model.output_shape == (None, 6, 20)
    model.compile("adam", loom.losses.SparseCategoricalCrossentropy(from_logits=True))
    data = np.random.default_rng(0).integers(1, 20, (16, 6)).astype("int32")
    history = model.fit(data, data, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert len(model.trainable_weights) == 3  # one shared table, the Dense kernel and bias


def test_bad_arguments():
    with pytest.raises(ConfigError, match="logit_soft_cap"):
        loom.layers.ReversibleEmbedding(10, 4, logit_soft_cap=-1.0)
    with pytest.raises(ConfigError, match="input_dim must be a positive int"):
        loom.layers.ReversibleEmbedding(0, 4)
