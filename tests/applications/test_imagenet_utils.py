import json

import numpy as np
import pytest
import torch

from loom.applications import imagenet_utils
from loom.applications.imagenet_utils import decode_predictions, obtain_input_shape, preprocess_input
from loom.applications.keras_weights import PretrainedFileNotFoundError
from loom.errors import ConfigError, InputError, ShapeError
from tests.keras_oracle import keras

keras_utils = keras.applications.imagenet_utils


def _pixels(shape, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format,shape", [("channels_last", (2, 4, 5, 3)), ("channels_first", (2, 3, 4, 5)),
                                               ("channels_last", (4, 5, 3)), ("channels_first", (3, 4, 5))])
def test_preprocess_input_equals_keras(mode, data_format, shape):
    x = _pixels(shape)
    expected = keras_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    out = preprocess_input(x, data_format=data_format, mode=mode)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-5)
    tensor_out = preprocess_input(torch.from_numpy(x), data_format=data_format, mode=mode)
    assert isinstance(tensor_out, torch.Tensor)
    np.testing.assert_allclose(tensor_out.numpy(), expected, rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format,shape", [("channels_last", (4, 5, 3)), ("channels_first", (3, 4, 5))])
def test_preprocess_input_on_a_model_input_becomes_part_of_the_graph(mode, data_format, shape):
    """keras.io's Siamese network calls ``resnet.preprocess_input(anchor_input)`` on a functional input."""
    import loom
    x = _pixels((2,) + shape)
    inputs = loom.Input(shape)
    model = loom.Model(inputs, preprocess_input(inputs, data_format=data_format, mode=mode))
    expected = keras_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-5)


def test_preprocess_input_does_not_modify_its_input_and_casts_integers():
    x = _pixels((1, 2, 2, 3))
    before = x.copy()
    preprocess_input(x, mode="torch")
    np.testing.assert_array_equal(x, before)
    out = preprocess_input(np.full((1, 1, 1, 3), 255, np.uint8), mode="tf")
    assert out.dtype == np.float32 and np.all(out == 1.0)


def test_preprocess_input_errors():
    with pytest.raises(ConfigError, match="mode must be one of"):
        preprocess_input(_pixels((1, 2, 2, 3)), mode="keras")
    with pytest.raises(ConfigError, match="data_format"):
        preprocess_input(_pixels((1, 2, 2, 3)), data_format="nhwc")
    with pytest.raises(ShapeError, match="3 channels"):
        preprocess_input(_pixels((1, 2, 2, 4)), mode="caffe")


@pytest.fixture
def fake_index(tmp_path):
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    path = tmp_path / "imagenet_class_index.json"
    path.write_text(json.dumps(index))
    return index, path


def test_decode_predictions_equals_keras(fake_index, monkeypatch):
    index, path = fake_index
    preds = np.random.default_rng(0).dirichlet(np.ones(1000), size=3).astype("float32")
    monkeypatch.setattr(keras.src.applications.imagenet_utils, "CLASS_INDEX", index)
    expected = keras_utils.decode_predictions(preds, top=4)
    assert decode_predictions(preds, top=4, class_index=path) == expected
    assert decode_predictions(torch.from_numpy(preds), top=4, class_index=index) == expected
    monkeypatch.setenv(imagenet_utils.CLASS_INDEX_ENV, str(path))
    assert decode_predictions(preds, top=4) == expected


def test_decode_predictions_explains_a_missing_index(tmp_path, monkeypatch):
    monkeypatch.delenv(imagenet_utils.CLASS_INDEX_ENV, raising=False)
    monkeypatch.setattr(imagenet_utils, "keras_cache_dirs", lambda: [str(tmp_path)])
    with pytest.raises(PretrainedFileNotFoundError) as info:
        decode_predictions(np.zeros((1, 1000)))
    message = str(info.value)
    assert imagenet_utils.CLASS_INDEX_URL in message and imagenet_utils.CLASS_INDEX_ENV in message
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(PretrainedFileNotFoundError, match="does not exist"):
        decode_predictions(np.zeros((1, 1000)), class_index=tmp_path / "nope.json")


def test_decode_predictions_checks_shapes_and_index(fake_index, tmp_path):
    index, path = fake_index
    with pytest.raises(InputError, match="samples, 1000"):
        decode_predictions(np.zeros((1, 10)), class_index=path)
    with pytest.raises(InputError, match="shape"):
        decode_predictions(np.zeros(1000), class_index=path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"a": 1}))
    with pytest.raises(ConfigError, match="not an ImageNet class index"):
        decode_predictions(np.zeros((1, 1)), class_index=bad)
    small = {"0": ["n0", "cat"], "1": ["n1", "dog"]}
    assert decode_predictions(np.array([[0.3, 0.7]]), top=1, class_index=small)[0][0][:2] == ("n1", "dog")


@pytest.mark.parametrize("args", [
    dict(input_shape=None, require_flatten=True, weights="imagenet"),
    dict(input_shape=None, require_flatten=False, weights=None),
    dict(input_shape=(150, 150, 3), require_flatten=False, weights="imagenet"),
    dict(input_shape=(100, 120, 1), require_flatten=True, weights=None),
    dict(input_shape=(None, None, 3), require_flatten=False, weights=None),
])
def test_obtain_input_shape_equals_keras(args):
    expected = keras.src.applications.imagenet_utils.obtain_input_shape(
        default_size=299, min_size=75, data_format="channels_last", **args)
    assert obtain_input_shape(default_size=299, min_size=75, **args) == tuple(expected)


@pytest.mark.parametrize("args,match", [
    (dict(input_shape=(224, 224, 3), require_flatten=True, weights="imagenet"), "must be"),
    (dict(input_shape=(50, 50, 3), require_flatten=False, weights=None), "at least 75x75"),
    (dict(input_shape=(100, 100, 1), require_flatten=False, weights="imagenet"), "3 channels"),
    (dict(input_shape=(100, 100), require_flatten=False, weights=None), "three integers"),
    (dict(input_shape=(None, None, 3), require_flatten=True, weights=None), "fully known"),
])
def test_obtain_input_shape_errors_where_keras_errors(args, match):
    with pytest.raises(ValueError):
        keras.src.applications.imagenet_utils.obtain_input_shape(default_size=299, min_size=75,
                                                                  data_format="channels_last", **args)
    with pytest.raises(ConfigError, match=match):
        obtain_input_shape(default_size=299, min_size=75, **args)


def test_validate_activation():
    imagenet_utils.validate_activation("relu", None)
    imagenet_utils.validate_activation(None, "imagenet")
    imagenet_utils.validate_activation("softmax", "imagenet")
    with pytest.raises(ConfigError, match="None or 'softmax'"):
        imagenet_utils.validate_activation("sigmoid", "imagenet")
