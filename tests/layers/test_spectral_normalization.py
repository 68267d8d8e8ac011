"""SpectralNormalization against Keras 3: weights order, power iteration state and outputs in training,
inference unchanged, wrapped Conv2D and Embedding, config, bad input."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def test_dense_matches_keras_in_training():
    result = run_layer_test(loom.layers.SpectralNormalization, {"layer": loom.layers.Dense(3)}, input_shape=(2, 5),
                            expected_output_shape=(2, 3), expected_num_trainable_weights=2,
                            expected_num_non_trainable_weights=1, training=True,
                            keras_cls=keras.layers.SpectralNormalization,
                            keras_init_kwargs={"layer": keras.layers.Dense(3), "power_iterations": 1})
    for ours, theirs in zip(result.layer.get_weights(), result.keras_layer.get_weights()):
        np.testing.assert_allclose(ours, theirs, atol=1e-6, rtol=1e-5)  # the same normalized kernel and vector_u


def _pair(keras_layer, layer, x, calls=3, compare_outputs=True):
    keras_wrapper = keras.layers.SpectralNormalization(keras_layer, power_iterations=2)
    wrapper = loom.layers.SpectralNormalization(layer, power_iterations=2)
    keras_wrapper(x)
    wrapper(torch.as_tensor(x))
    assert [w.shape for w in wrapper.get_weights()] == [w.shape for w in keras_wrapper.get_weights()]
    wrapper.set_weights(keras_wrapper.get_weights())
    for _ in range(calls):
        expected = keras.ops.convert_to_numpy(keras_wrapper(x, training=True))
        ours = wrapper(torch.as_tensor(x), training=True).detach().numpy()
        if compare_outputs:
            np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=1e-5)
    for ours, theirs in zip(wrapper.get_weights(), keras_wrapper.get_weights()):
        np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=1e-5)
    return wrapper


def test_conv2d_kernel_is_normalized_as_keras():
    x = np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype("float32")
    wrapper = _pair(keras.layers.Conv2D(4, 3), loom.layers.Conv2D(4, 3), x)
    kernel = torch.as_tensor(wrapper.get_weights()[0]).reshape(-1, 4)
    assert abs(torch.linalg.matrix_norm(kernel, ord=2).item() - 1.0) < 0.05


def test_embedding_table_is_normalized_as_keras():
    ids = np.array([[1, 2, 3], [4, 0, 1]], dtype="int32")
    # (Keras casts this wrapper's outputs to the inputs' dtype, so its embeddings come out as int zeros)
    _pair(keras.layers.Embedding(6, 4), loom.layers.Embedding(6, 4), ids, compare_outputs=False)


def test_inference_leaves_the_kernel_alone():
    wrapper = loom.layers.SpectralNormalization(loom.layers.Dense(2))
    x = torch.ones(1, 3)
    first = wrapper(x)
    torch.testing.assert_close(wrapper(x), first)
    assert not torch.allclose(wrapper(x, training=True), first)


def test_in_a_model_saved_and_reloaded(tmp_path):
    x = loom.Input((4,))
    model = loom.Model(x, loom.layers.SpectralNormalization(loom.layers.Dense(2))(x))
    model.compile("sgd", "mse")
    data = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    model.fit(data, data[:, :2], epochs=2, verbose=0)
    model.save(tmp_path / "m.loom")
    reloaded = loom.models.load_model(tmp_path / "m.loom")
    np.testing.assert_allclose(reloaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)


def test_bad_input():
    with pytest.raises(ConfigError, match="power_iterations"):
        loom.layers.SpectralNormalization(loom.layers.Dense(2), power_iterations=0)
    with pytest.raises(ConfigError, match="must be a loom layer"):
        loom.layers.SpectralNormalization("dense")
    with pytest.raises(ShapeError, match="neither a 'kernel' nor an 'embeddings'"):
        loom.layers.SpectralNormalization(loom.layers.LayerNormalization())(torch.ones(2, 3))


def test_keras_archive_both_ways(tmp_path):
    def build(lib):
        x = lib.Input((6, 6, 3))
        y = lib.layers.SpectralNormalization(lib.layers.Conv2D(4, 3), power_iterations=2)(x)
        return lib.Model(x, y)
    data = np.random.default_rng(0).normal(size=(2, 6, 6, 3)).astype("float32")
    keras_model = build(keras)
    keras_model.save(str(tmp_path / "k.keras"))
    model = loom.models.load_model(tmp_path / "k.keras")
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs)
    expected = keras.ops.convert_to_numpy(keras_model.predict(data, verbose=0))
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, atol=1e-5)
    model.save(tmp_path / "l.keras")
    back = keras.models.load_model(str(tmp_path / "l.keras"))
    for ours, theirs in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_allclose(ours, theirs)
