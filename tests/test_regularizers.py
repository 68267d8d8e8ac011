"""Regularizers: Keras 3's values, names and configs; penalties reach ``layer.losses``."""

import numpy as np
import pytest
import torch

import loom
from loom import regularizers
from loom.errors import ConfigError
from tests.keras_oracle import keras

W = torch.from_numpy(np.random.default_rng(0).normal(size=(6, 4)).astype("float32"))


@pytest.mark.parametrize("make", [
    lambda lib: lib.regularizers.L1(0.01), lambda lib: lib.regularizers.L2(0.3),
    lambda lib: lib.regularizers.L1L2(l1=0.2, l2=0.1), lambda lib: lib.regularizers.L1L2(),
    lambda lib: lib.regularizers.L1(), lambda lib: lib.regularizers.L2(),
    lambda lib: lib.regularizers.get("l1"), lambda lib: lib.regularizers.get("l2"),
    lambda lib: lib.regularizers.get("l1l2"),
])
def test_value_equals_keras(make):
    expected = float(keras.ops.convert_to_numpy(make(keras)(W)))
    assert float(make(loom)(W)) == pytest.approx(expected, rel=1e-6, abs=1e-9)


def test_formulas():
    x = torch.tensor([1.0, -2.0])
    assert float(regularizers.L1(0.5)(x)) == pytest.approx(1.5)
    assert float(regularizers.L2(0.5)(x)) == pytest.approx(2.5)
    assert float(regularizers.L1L2(0.5, 0.5)(x)) == pytest.approx(4.0)
    # Keras 3's l1_l2 is the L1L2 class: both factors default to 0.0.
    assert regularizers.l1_l2 is regularizers.L1L2
    assert float(regularizers.l1_l2()(x)) == float(keras.regularizers.l1_l2()(x.numpy())) == 0.0


@pytest.mark.parametrize("reg", [regularizers.L1(0.2), regularizers.L2(0.4), regularizers.L1L2(0.1, 0.3)])
def test_serialize_get_round_trip_and_keras_reads_the_config(reg):
    config = regularizers.serialize(reg)
    again = regularizers.get(config)
    assert type(again) is type(reg) and again.get_config() == reg.get_config()
    keras_reg = keras.regularizers.get(config)
    assert type(keras_reg).__name__ == type(reg).__name__
    assert float(keras.ops.convert_to_numpy(keras_reg(W))) == pytest.approx(float(reg(W)), rel=1e-6)


def test_none_and_callables_pass_through():
    assert regularizers.get(None) is None and regularizers.serialize(None) is None

    def custom(w):
        return w.sum()
    assert regularizers.get(custom) is custom


@pytest.mark.parametrize("bad", ["l3", {"class_name": "L4", "config": {}}, 3])
def test_unknown_regularizer(bad):
    with pytest.raises(ConfigError):
        regularizers.get(bad)


@pytest.mark.parametrize("kwargs", [{"l1": -0.1}, {"l2": None}])
def test_negative_factors_are_refused(kwargs):
    with pytest.raises(ConfigError):
        regularizers.L1L2(**kwargs)


def test_dense_kernel_regularizer_is_in_layer_losses_and_model_losses():
    inputs = loom.Input((6,))
    dense = loom.layers.Dense(4, kernel_regularizer=regularizers.L2(0.1), use_bias=False)
    model = loom.Model(inputs, dense(inputs))
    dense.set_weights([W.numpy()])
    expected = 0.1 * float(W.square().sum())
    assert [float(v.detach()) for v in dense.losses] == pytest.approx([expected])
    assert [float(v.detach()) for v in model.losses] == pytest.approx([expected])
    total = sum(model.losses)
    total.backward()
    torch.testing.assert_close(dense.kernel.grad, 0.2 * W)


def test_dense_layer_losses_match_keras_layer_losses():
    keras_layer = keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L1L2(0.01, 0.02))
    layer = loom.layers.Dense(4, kernel_regularizer=regularizers.L1L2(0.01, 0.02))
    x = np.ones((2, 6), dtype="float32")
    keras_layer(x), layer(x)
    layer.set_weights(keras_layer.get_weights())
    expected = [float(keras.ops.convert_to_numpy(v)) for v in keras_layer.losses]
    assert [float(v.detach()) for v in layer.losses] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_regularizer_matches_keras(mode):
    torch.manual_seed(0)
    w = torch.randn(5, 7)
    expected = float(keras.regularizers.OrthogonalRegularizer(0.3, mode)(w))
    assert float(regularizers.OrthogonalRegularizer(0.3, mode)(w)) == pytest.approx(expected, rel=1e-5)
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    with pytest.raises(ConfigError):
        regularizers.OrthogonalRegularizer(mode="diagonal")


def test_deserialize_reads_keras_entries():
    entry = keras.regularizers.serialize(keras.regularizers.OrthogonalRegularizer(0.2))
    reg = regularizers.deserialize(entry)
    assert isinstance(reg, regularizers.OrthogonalRegularizer) and reg.get_config() == entry["config"]
