"""``loom.ops`` on ``loom.Input`` placeholders builds functional-graph layers, as ``keras.ops`` on KerasTensors."""

import numpy as np
import pytest
import torch

import loom
from loom import ops
from loom.errors import ShapeError
from tests.keras_oracle import keras


def test_ops_on_inputs_build_a_model_that_matches_keras():
    x = loom.Input((3, 4))
    y = ops.concatenate([ops.sum(ops.square(x), axis=-1), ops.mean(x, axis=-1)], axis=-1)
    model = loom.Model(x, [ops.add(y, 1.0), ops.argmax(x, axis=1)])
    assert model.outputs[0].shape == (None, 6) and model.outputs[1].dtype == "int32"

    kx = keras.Input((3, 4))
    ky = keras.ops.concatenate([keras.ops.sum(keras.ops.square(kx), axis=-1), keras.ops.mean(kx, axis=-1)], axis=-1)
    kmodel = keras.Model(kx, [keras.ops.add(ky, 1.0), keras.ops.argmax(kx, axis=1)])
    assert tuple(kmodel.outputs[0].shape) == model.outputs[0].shape

    data = np.random.default_rng(0).normal(size=(5, 3, 4)).astype("float32")
    for got, want in zip(model.predict(data, verbose=0), kmodel.predict(data, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_geomspace_between_placeholders_builds_a_layer():
    x = loom.Input((4,))
    model = loom.Model(x, ops.geomspace(ops.exp(x), ops.exp(x) * 8.0, 4, axis=1))
    assert model.outputs[0].shape == (None, 4, 4)
    data = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
    want = np.geomspace(np.exp(data), np.exp(data) * 8.0, 4, axis=1)
    np.testing.assert_allclose(model.predict(data, verbose=0), want, rtol=1e-5)
    negative = -np.exp(data)  # eagerly, with the signs placed along the new axis
    np.testing.assert_allclose(ops.geomspace(torch.from_numpy(negative), torch.from_numpy(negative * 3), 5, axis=-1),
                               np.geomspace(negative, negative * 3, 5, axis=-1), rtol=1e-5)


def test_ops_between_layers_train():
    x = loom.Input((4,))
    h = loom.layers.Dense(3)(x)
    model = loom.Model(x, ops.expand_dims(ops.sum(ops.tanh(h), axis=-1), -1))
    model.compile(optimizer="sgd", loss="mse")
    data = np.random.default_rng(1).normal(size=(8, 4)).astype("float32")
    before = model.evaluate(data, np.ones((8, 1), "float32"), verbose=0)
    model.fit(data, np.ones((8, 1), "float32"), epochs=5, verbose=0)
    assert model.evaluate(data, np.ones((8, 1), "float32"), verbose=0) < before


def test_symbolic_shape_errors_name_the_op():
    with pytest.raises(ShapeError, match=r"ops\.add: shapes"):
        ops.add(loom.Input((3,)), loom.Input((4,)))


def test_real_tensors_are_untouched():
    t = torch.ones(2, 3)
    assert torch.equal(ops.sum(t, axis=0), torch.full((3,), 2.0))


def test_placeholders_cannot_become_tensors():
    from loom.errors import InputError

    with pytest.raises(InputError, match="functional-graph placeholder"):
        ops.convert_to_tensor(loom.Input((3,)))


def test_recorded_keras_operations_save_and_load_in_loom_and_keras(tmp_path):
    """x0 * dense(x) + x0 and friends become Keras's recorded operations (not Lambdas), so .keras files work."""
    from tests.keras_oracle import keras
    x = loom.Input((3,))
    h = loom.layers.Dense(3)(x)
    y = 2.0 * (x * h + x) - ops.exp(-h) / (ops.square(x) + 3.0)
    model = loom.Model(x, y + ops.tanh(h) * (x > 0.0))
    assert not any(type(layer).__name__ == "Lambda" for layer in model.layers)
    model.save(tmp_path / "ops.keras")
    data = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    expected = model.predict(data, verbose=0)
    np.testing.assert_array_equal(loom.saving.load_model(tmp_path / "ops.keras").predict(data, verbose=0), expected)
    np.testing.assert_allclose(keras.saving.load_model(tmp_path / "ops.keras").predict(data, verbose=0), expected,
                               rtol=1e-6, atol=1e-6)
    with pytest.raises(ShapeError, match=r"ops\.matmul"):
        ops.matmul(loom.Input((3,)), loom.Input((4, 2)))
