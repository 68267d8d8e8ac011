import hashlib

import pytest
import torch

import loom
from loom.applications import xception
from loom.applications.keras_weights import PretrainedWeights
from loom.errors import ConfigError
from tests.applications.helpers import (
    assert_close, assert_matches_keras_layer_for_layer, images, keras_base_model, keras_predict)

SIZE = 71  # Xception's smallest input


@pytest.fixture(scope="module")
def keras_model():
    return keras_base_model("Xception", SIZE)


def test_parameter_counts_are_keras():
    model = loom.applications.Xception(weights=None)
    assert model.count_params() == 22_910_480
    assert model.output_shape == (None, 1000)
    assert model.input_shape == (None, 299, 299, 3)
    for pooling in ("avg", "max"):
        base = xception.Xception(weights=None, include_top=False, pooling=pooling)
        assert base.count_params() == 20_861_480
        assert base.output_shape == (None, 2048)
        assert base.input_shape == (None, None, None, 3)


@pytest.mark.slow
def test_matches_keras_layer_for_layer(keras_model):
    assert_matches_keras_layer_for_layer("Xception", keras_model, SIZE)


@pytest.mark.slow
def test_keras_weights_file_and_cached_imagenet_file(keras_model, tmp_path, monkeypatch):
    x = images(SIZE, seed=1)
    expected = keras_predict(keras_model, x)
    path = tmp_path / "xception.weights.h5"
    keras_model.save_weights(path)
    model = xception.Xception(weights=path, include_top=False, input_shape=(SIZE, SIZE, 3))
    assert_close(model(x), expected)
    # weights='imagenet' uses Keras's cached file when it is there (checked with Keras's md5).
    cache = tmp_path / "keras_home" / "models"
    cache.mkdir(parents=True)
    data = path.read_bytes()
    (cache / "xception_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(data)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    fake = PretrainedWeights("xception", "top.h5", "xception_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                      "0" * 32, hashlib.md5(data).hexdigest())
    monkeypatch.setattr(xception, "_PRETRAINED", fake)
    model = xception.Xception(weights="imagenet", include_top=False, input_shape=(SIZE, SIZE, 3))
    assert_close(model(x), expected)


def test_rejects_inputs_below_71_pixels():
    with pytest.raises(ConfigError, match="at least 71x71"):
        xception.Xception(weights=None, include_top=False, input_shape=(64, 64, 3))


def test_preprocess_input_scales_to_minus_one_one():
    import numpy as np
    out = xception.preprocess_input(np.array([[[[0.0, 127.5, 255.0]]]], "float32"))
    np.testing.assert_allclose(out, [[[[-1.0, 0.0, 1.0]]]])


def test_shared_base_on_two_inputs_as_in_the_book():
    # Deep Learning with Python, 7.1.5: one Xception base shared by two image inputs (a siamese model).
    from loom import layers
    base = loom.applications.Xception(weights=None, include_top=False)
    left, right = loom.Input((SIZE, SIZE, 3)), loom.Input((SIZE, SIZE, 3))
    merged = layers.concatenate([base(left), base(right)], axis=-1)
    model = loom.Model([left, right], merged)
    assert model.count_params() == 20_861_480
    x = images(SIZE, batch=1)
    out = model([x, x[:, ::-1].copy()]).detach()
    assert out.shape == (1, 3, 3, 4096)
    assert not torch.allclose(out[..., :2048], out[..., 2048:])
