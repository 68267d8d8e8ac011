"""EinsumDense: every equation form against Keras 3, weight shapes, fans, config and bad input."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

CASES = [
    ("ab,bc->ac", 4, "c", (2, 3), (2, 4), 2),
    ("...b,bc->...c", 4, None, (2, 5, 3), (2, 5, 4), 1),
    ("abc,cde->abde", (None, 2, 3), "de", (2, 5, 6), (2, 5, 2, 3), 2),
    ("abc,cd->abd", (5, 4), "d", (2, 5, 6), (2, 5, 4), 2),
    ("abc...,cd->abd...", (5, 4), "b", (2, 5, 6, 7), (2, 5, 4, 7), 2),
    ("abcd,cde->abe", (None, 3), "e", (2, 4, 2, 3), (2, 4, 3), 2),
]


@pytest.mark.parametrize("equation,output_shape,bias_axes,input_shape,expected,weights", CASES)
def test_einsum_dense_matches_keras(equation, output_shape, bias_axes, input_shape, expected, weights):
    run_layer_test(loom.layers.EinsumDense, {"equation": equation, "output_shape": output_shape,
                                             "bias_axes": bias_axes, "activation": "tanh"},
                   input_shape=input_shape, expected_output_shape=expected,
                   expected_num_trainable_weights=weights, keras_cls=keras.layers.EinsumDense)


def test_einsum_dense_config_equals_keras():
    kwargs = {"equation": "abc,cde->abde", "output_shape": (None, 2, 3), "bias_axes": "de"}
    layer, keras_layer = loom.layers.EinsumDense(**kwargs), keras.layers.EinsumDense(**kwargs)
    config, keras_config = layer.get_config(), keras_layer.get_config()
    assert set(config) == set(keras_config)
    assert config["output_shape"] == list(keras_config["output_shape"])


def test_kernel_fans_come_from_the_equation_axes():
    torch.manual_seed(0)
    layer = loom.layers.EinsumDense("abc,cde->abde", output_shape=(None, 8, 64), kernel_initializer="he_normal")
    layer(torch.zeros(1, 2, 256))
    # fan_in is the contracted axis (256), not 256 * 8 as the conv rule would give
    assert abs(float(layer.kernel.detach().std()) - (2 / 256) ** 0.5) < 0.01


def test_bad_equations_and_shapes_raise_named_errors():
    with pytest.raises(ConfigError, match="invalid equation"):
        loom.layers.EinsumDense("ab->b", output_shape=3)
    with pytest.raises(ConfigError, match="bias axis 'z'"):
        loom.layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="z")(torch.ones(2, 4))
    with pytest.raises(ConfigError, match="kernel axis 'q'"):
        loom.layers.EinsumDense("ab,bqc->ac", output_shape=3)(torch.ones(2, 4))
    with pytest.raises(ShapeError, match="rank 3"):
        loom.layers.EinsumDense("abc,cd->abd", output_shape=(5, 3))(torch.ones(2, 4))
    with pytest.raises(ShapeError, match="axis 'b'"):
        loom.layers.EinsumDense("abc,cd->abd", output_shape=(7, 3))(loom.Input((5, 4)))
    with pytest.raises(ConfigError, match="LoRA"):
        loom.layers.EinsumDense("ab,bc->ac", output_shape=3, lora_rank=2)


def test_einsum_dense_in_a_model_trains():
    torch.manual_seed(0)
    x = loom.Input((5, 6))
    y = loom.layers.EinsumDense("abc,cd->abd", output_shape=(5, 1), bias_axes="d")(x)
    model = loom.Model(x, y)
    model.compile("adam", "mse")
    data = np.random.default_rng(0).normal(size=(16, 5, 6)).astype("float32")
    history = model.fit(data, data[..., :1], epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
