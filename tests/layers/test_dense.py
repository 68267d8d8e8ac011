"""Dense: shapes, config, training, every activation, regularizers and constraints against Keras 3."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

ACTIVATIONS = ["relu", "sigmoid", "softmax", "tanh", "selu", "elu", "gelu", "swish", "silu", "softplus",
               "softsign", "linear", "leaky_relu", "relu6", "exponential", "hard_sigmoid", "mish", "log_softmax",
               None]


def _data(shape, seed=0, scale=2.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape).astype("float32")


def test_dense_layer_checks_and_keras_parity():
    run_layer_test(loom.layers.Dense, {"units": 3}, input_shape=(2, 4), expected_output_shape=(2, 3),
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=0,
                   keras_cls=keras.layers.Dense)


def test_dense_on_3d_inputs_and_without_bias():
    run_layer_test(loom.layers.Dense, {"units": 5, "use_bias": False, "activation": "tanh"},
                   input_shape=(2, 3, 4), expected_output_shape=(2, 3, 5), expected_num_trainable_weights=1,
                   keras_cls=keras.layers.Dense)


def _stack(lib, activation, seed_layers=False):
    inputs = lib.Input((6,))
    x = lib.layers.Dense(8, activation="relu")(inputs)
    x = lib.layers.Dense(7, activation=activation)(x)
    outputs = lib.layers.Dense(3, activation=activation)(x)
    return lib.Model(inputs, outputs)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_stack_matches_keras_for_every_activation(activation):
    keras_model = _stack(keras, activation)
    model = _stack(loom, activation)
    model.set_weights(keras_model.get_weights())
    x = _data((5, 6))
    expected = keras.ops.convert_to_numpy(keras_model(x))
    np.testing.assert_allclose(model(x).detach().numpy(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kwargs", [{"negative_slope": 0.1}, {"max_value": 1.5}, {"threshold": 0.5},
                                    {"negative_slope": 0.2, "max_value": 2.0, "threshold": 0.3},
                                    {"max_value": 6.0}, {"threshold": -0.5, "max_value": 1.0}])
def test_dense_with_parametrised_relu_matches_keras(kwargs):
    keras_model = _stack(keras, lambda t: keras.activations.relu(t, **kwargs))
    model = _stack(loom, lambda t: loom.activations.relu(t, **kwargs))
    model.set_weights(keras_model.get_weights())
    x = _data((6, 6))
    expected = keras.ops.convert_to_numpy(keras_model(x))
    np.testing.assert_allclose(model(x).detach().numpy(), expected, atol=1e-5, rtol=1e-5)


def test_sequential_dense_stack_matches_keras():
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="gelu"),
                                    keras.layers.Dense(2, activation="softmax")])
    model = loom.Sequential([loom.layers.Dense(6, activation="gelu", input_shape=(4,)),
                             loom.layers.Dense(2, activation="softmax")])
    model.set_weights(keras_model.get_weights())
    x = _data((3, 4))
    np.testing.assert_allclose(model(x).detach().numpy(), keras.ops.convert_to_numpy(keras_model(x)), atol=1e-6)


def test_kernel_and_bias_regularizer_losses_match_keras():
    kwargs = {"units": 3, "kernel_regularizer": "l2", "bias_regularizer": {"class_name": "L1", "config":
                                                                            {"l1": 0.5}},
              "bias_initializer": "ones"}
    keras_kwargs = dict(kwargs, bias_regularizer=keras.regularizers.L1(0.5))
    layer, keras_layer = loom.layers.Dense(**kwargs), keras.layers.Dense(**keras_kwargs)
    x = _data((2, 4))
    layer(x), keras_layer(x)
    layer.set_weights(keras_layer.get_weights())
    expected = [float(keras.ops.convert_to_numpy(v)) for v in keras_layer.losses]
    got = [float(v.detach()) for v in layer.losses]
    assert len(got) == 2
    np.testing.assert_allclose(sorted(got), sorted(expected), rtol=1e-6)


def test_activity_regularizer_is_keras_penalty_over_batch_size():
    layer = loom.layers.Dense(3, activity_regularizer=loom.regularizers.L2(0.1))
    keras_layer = keras.layers.Dense(3, activity_regularizer=keras.regularizers.L2(0.1))
    x = _data((4, 5))
    layer(x), keras_layer(x)
    layer.set_weights(keras_layer.get_weights())
    out = layer(x)
    keras_layer._clear_losses()
    keras_layer(x)
    assert len(layer.losses) == 1
    expected = float(keras.ops.convert_to_numpy(keras_layer.losses[0]))
    np.testing.assert_allclose(float(layer.losses[0].detach()), expected, rtol=1e-5)
    np.testing.assert_allclose(float(layer.losses[0].detach()), float(0.1 * out.detach().square().sum() / 4), rtol=1e-6)


def test_activity_regularizer_is_not_set_by_symbolic_calls_and_flows_to_model_losses():
    inputs = loom.Input((5,))
    dense = loom.layers.Dense(3, activity_regularizer="l1")
    model = loom.Model(inputs, dense(inputs))
    assert model.losses == []
    model(_data((2, 5)))
    assert len(model.losses) == 1 and model.losses[0].requires_grad


@pytest.mark.parametrize("make", [
    lambda lib: lib.constraints.MaxNorm(0.5),
    lambda lib: lib.constraints.NonNeg(),
    lambda lib: lib.constraints.UnitNorm(axis=0),
    lambda lib: lib.constraints.MinMaxNorm(0.2, 0.4, rate=0.5),
])
def test_constraints_after_an_sgd_step_match_keras(make):
    x, y = _data((8, 4)), _data((8, 3))
    keras_model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        3, kernel_constraint=make(keras), bias_constraint=make(keras))])
    keras_model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(4,), kernel_constraint=make(loom),
                                               bias_constraint=make(loom))])
    model.set_weights(keras_model.get_weights())
    keras_model.train_on_batch(x, y)

    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    loss = torch.nn.functional.mse_loss(model(x), torch.from_numpy(y))
    loss.backward()
    optimizer.step()
    assert loom.constraints.has_constraints(model)
    loom.constraints.apply_constraints(model)
    for got, want in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-6)


def test_config_round_trip_keeps_regularizers_and_constraints():
    layer = loom.layers.Dense(4, activation="selu", kernel_regularizer=loom.regularizers.L1L2(0.1, 0.2),
                              activity_regularizer="l2", kernel_constraint="max_norm",
                              bias_constraint=loom.constraints.NonNeg(), kernel_initializer="he_normal")
    config = layer.get_config()
    assert config["kernel_constraint"] == {"module": "loom.constraints", "class_name": "MaxNorm",
                                           "config": {"max_value": 2, "axis": 0}, "registered_name": None}
    assert config["bias_constraint"] == {"module": "loom.constraints", "class_name": "NonNeg", "config": {},
                                         "registered_name": None}
    clone = loom.layers.Dense.from_config(config)
    assert clone.get_config() == config
    assert isinstance(clone.kernel_constraint, loom.constraints.MaxNorm)


def test_dense_on_a_scalar_input_raises_shape_error_naming_the_layer():
    x = loom.Input(shape=())
    with pytest.raises(ShapeError, match="'my_dense'.*rank"):
        loom.layers.Dense(3, name="my_dense")(x)


def test_dense_on_a_wrong_feature_size_raises_shape_error():
    dense = loom.layers.Dense(3, name="head")
    dense(loom.Input((4,)))
    with pytest.raises(ShapeError, match="'head'.*axis -1.*4.*\\(None, 5\\)"):
        dense(loom.Input((5,)))


@pytest.mark.parametrize("units", [0, -2, 2.5, True, "3"])
def test_invalid_units_raise_config_error(units):
    with pytest.raises(ConfigError, match="units"):
        loom.layers.Dense(units)


def test_dense_passes_masks_through_like_keras():
    def build(lib):
        ids = lib.Input((5,), dtype="int32")
        x = lib.layers.Embedding(10, 4, mask_zero=True)(ids)
        a, b = lib.layers.Dense(3)(x), lib.layers.Dense(3)(x)
        return lib.Model(ids, lib.layers.Maximum()([a, b]))
    keras_model, model = build(keras), build(loom)
    assert model.outputs[0].has_mask
    model.set_weights(keras_model.get_weights())
    ids = np.array([[1, 0, 2, 0, 3], [0, 0, 4, 5, 6]], dtype="int32")
    np.testing.assert_allclose(model(ids).detach().numpy(), keras.ops.convert_to_numpy(keras_model(ids)),
                               atol=1e-6)


def test_assigning_none_to_activation_takes_it_off_a_built_model():
    """Grad-CAM's ``model.layers[-1].activation = None``: the softmax comes off, as in Keras (Dense, Conv2D and
    EinsumDense call their activation only when it is not None; loom stores ``linear``)."""
    x = _data((4, 5, 5, 2))
    outputs = {}
    for lib in (keras, loom):
        inputs = lib.Input((5, 5, 2))
        h = lib.layers.Conv2D(3, 3, activation="relu")(inputs)
        h = lib.layers.EinsumDense("abcd,de->abce", output_shape=(3, 3, 4), activation="tanh")(h)
        model = lib.Model(inputs, lib.layers.Dense(3, activation="softmax")(lib.layers.Flatten()(h)))
        if lib is loom:
            model.set_weights(outputs[keras][0])
        before = model.predict(x, verbose=0)
        for layer in model.layers[1:3] + model.layers[-1:]:
            layer.activation = None
        outputs[lib] = model.get_weights(), before, model.predict(x, verbose=0), model(x).detach().numpy()
    np.testing.assert_allclose(outputs[loom][1], outputs[keras][1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[loom][2], outputs[keras][2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(outputs[loom][3], outputs[loom][2], rtol=1e-5, atol=1e-6)
    assert outputs[loom][2].min() < 0  # logits, no longer probabilities
    layer = loom.layers.Dense(2, activation="relu")
    layer.activation = None
    assert layer.get_config()["activation"] == "linear"
