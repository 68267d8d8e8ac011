"""Embedding against Keras 3: lookups, masks, input_length, float ids, config."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_embedding_layer_checks_and_keras_parity(dtype):
    run_layer_test(loom.layers.Embedding, {"input_dim": 10, "output_dim": 4}, input_shape=(2, 5),
                   input_dtype=dtype, expected_output_shape=(2, 5, 4), expected_output_dtype="float32",
                   expected_num_trainable_weights=1, keras_cls=keras.layers.Embedding)


def test_embedding_of_3d_ids():
    run_layer_test(loom.layers.Embedding, {"input_dim": 7, "output_dim": 2}, input_shape=(2, 3, 4),
                   input_dtype="int32", int_high=7, expected_output_shape=(2, 3, 4, 2),
                   keras_cls=keras.layers.Embedding)


def test_float_ids_are_cast_like_keras():
    layer, keras_layer = loom.layers.Embedding(10, 3), keras.layers.Embedding(10, 3)
    ids = np.array([[1.0, 2.0, 9.0]], dtype="float32")
    layer(ids), keras_layer(ids)
    layer.set_weights(keras_layer.get_weights())
    np.testing.assert_allclose(layer(ids).detach().numpy(), keras.ops.convert_to_numpy(keras_layer(ids)))


def test_default_initializer_is_keras_uniform():
    layer = loom.layers.Embedding(500, 40)
    layer.build(None)
    w = layer.embeddings.detach()
    assert -0.05 <= w.min() < -0.04 and 0.04 < w.max() <= 0.05
    assert layer.get_config()["embeddings_initializer"]["class_name"] == "RandomUniform"


def test_mask_zero_mask_equals_keras():
    ids = np.array([[3, 0, 5, 0], [0, 0, 1, 2]], dtype="int32")
    keras_layer = keras.layers.Embedding(6, 3, mask_zero=True)
    layer = loom.layers.Embedding(6, 3, mask_zero=True)
    expected = keras.ops.convert_to_numpy(keras_layer.compute_mask(ids))
    got = layer.compute_mask(torch.from_numpy(ids))
    assert got.dtype == torch.bool
    np.testing.assert_array_equal(got.numpy(), expected)
    assert layer.supports_masking and not loom.layers.Embedding(6, 3).supports_masking
    assert loom.layers.Embedding(6, 3).compute_mask(torch.from_numpy(ids)) is None


def test_mask_zero_output_is_symbolically_masked():
    ids = loom.Input((4,), dtype="int32")
    assert loom.layers.Embedding(6, 3, mask_zero=True)(ids).has_mask
    assert not loom.layers.Embedding(6, 3)(ids).has_mask


def test_input_length_sets_the_sequential_input_shape():
    model = loom.Sequential([loom.layers.Embedding(100, 8, input_length=12), loom.layers.Flatten(),
                             loom.layers.Dense(1)])
    assert model.input_shape == (None, 12)
    assert model.inputs[0].dtype == "int32"
    assert model.output_shape == (None, 1)
    assert model(np.ones((2, 12), dtype="int64")).shape == (2, 1)


def test_embedding_first_in_sequential_without_input_length_builds_on_data():
    model = loom.Sequential([loom.layers.Embedding(100, 8), loom.layers.Flatten(), loom.layers.Dense(1)])
    assert model(np.ones((2, 5), dtype="int64")).shape == (2, 1)


def test_sequential_with_embedding_matches_keras():
    keras_model = keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(20, 4),
                                    keras.layers.Flatten(), keras.layers.Dense(2, activation="softmax")])
    model = loom.Sequential([loom.layers.Embedding(20, 4, input_length=6), loom.layers.Flatten(),
                             loom.layers.Dense(2, activation="softmax")])
    model.set_weights(keras_model.get_weights())
    ids = np.random.default_rng(0).integers(0, 20, size=(3, 6)).astype("int32")
    np.testing.assert_allclose(model(ids).detach().numpy(), keras.ops.convert_to_numpy(keras_model(ids)),
                               atol=1e-6)


def test_embedding_gradients_only_touch_used_rows():
    layer = loom.layers.Embedding(5, 2)
    layer(torch.tensor([[1, 3]])).sum().backward()
    rows_with_grad = (layer.embeddings.grad.abs().sum(dim=1) > 0).nonzero().flatten().tolist()
    assert rows_with_grad == [1, 3]


def test_embedding_regularizer_and_constraint():
    layer = loom.layers.Embedding(4, 2, embeddings_regularizer=loom.regularizers.L2(0.5),
                                  embeddings_constraint="non_neg", embeddings_initializer="ones")
    layer(torch.tensor([[0]]))
    assert float(layer.losses[0].detach()) == pytest.approx(0.5 * 8)
    with torch.no_grad():
        layer.embeddings.fill_(-1.0)
    loom.constraints.apply_constraints(layer)
    assert float(layer.embeddings.detach().min()) == 0.0


def test_config_round_trip_keeps_input_length():
    layer = loom.layers.Embedding(50, 6, mask_zero=True, input_length=7, name="emb")
    config = layer.get_config()
    assert config["input_length"] == 7 and config["mask_zero"] is True
    assert loom.layers.Embedding.from_config(config).get_config() == config


@pytest.mark.parametrize("kwargs", [{"input_dim": 0, "output_dim": 2}, {"input_dim": 3, "output_dim": -1},
                                    {"input_dim": 3.0, "output_dim": 2},
                                    {"input_dim": 3, "output_dim": 2, "input_length": 0}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ConfigError):
        loom.layers.Embedding(**kwargs)
