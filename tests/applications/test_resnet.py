import numpy as np
import pytest

import loom
from loom import layers
from loom.applications import resnet
from loom.errors import ConfigError
from tests.applications.helpers import (
    assert_close, assert_matches_keras_layer_for_layer, images, keras_base_model, keras_predict)

SIZE = 32  # ResNet's smallest input


@pytest.fixture(scope="module")
def keras_model():
    return keras_base_model("ResNet50", SIZE)


def test_parameter_counts_are_keras():
    model = resnet.ResNet50(weights=None)
    assert model.count_params() == 25_636_712
    assert model.input_shape == (None, 224, 224, 3)
    assert model.layers[-1].name == "predictions"
    base = loom.applications.ResNet50(weights=None, include_top=False, pooling="avg")
    assert base.count_params() == 25_636_712 - 2049 * 1000
    assert base.layers[-1].name == "avg_pool"
    assert base.output_shape == (None, 2048)
    base = loom.applications.resnet50.ResNet50(weights=None, include_top=False, pooling="max")
    assert base.layers[-1].name == "max_pool"


@pytest.mark.slow
def test_deeper_resnets_parameter_counts():
    assert resnet.ResNet101(weights=None).count_params() == 44_707_176
    assert resnet.ResNet152(weights=None, include_top=False).count_params() == 60_419_944 - 2049 * 1000


@pytest.mark.slow
def test_matches_keras_layer_for_layer(keras_model):
    assert_matches_keras_layer_for_layer("ResNet50", keras_model, SIZE)


@pytest.mark.slow
def test_loads_a_keras_weights_file(keras_model, tmp_path):
    path = tmp_path / "resnet50.weights.h5"
    keras_model.save_weights(path)
    model = resnet.ResNet50(weights=path, include_top=False, input_shape=(SIZE, SIZE, 3))
    x = images(SIZE, seed=3)
    assert_close(model(x), keras_predict(keras_model, x))


def test_input_tensor_from_a_preceding_layer():
    inputs = loom.Input((SIZE, SIZE, 3), name="pixels")
    scaled = layers.Activation("linear", name="scale")(inputs)
    model = resnet.ResNet50(weights=None, include_top=False, input_tensor=scaled, pooling="avg")
    assert model.inputs[0] is inputs
    assert model.layers[1].name == "scale"
    assert model(images(SIZE, batch=1)).shape == (1, 2048)


def test_argument_errors(tmp_path):
    with pytest.raises(ConfigError, match="classes must be 1000"):
        resnet.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ConfigError, match="existing weights file"):
        resnet.ResNet50(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ConfigError, match="input_tensor"):
        resnet.ResNet50(weights=None, include_top=False, input_tensor=np.zeros((1, SIZE, SIZE, 3)))
    path = tmp_path / "w.h5"
    path.write_bytes(b"x")
    with pytest.raises(ConfigError, match="classifier_activation"):
        resnet.ResNet50(weights=str(path), classifier_activation="relu")


def test_preprocess_input_is_caffe_mode():
    x = np.array([[[[10.0, 20.0, 30.0]]]], "float32")
    np.testing.assert_allclose(resnet.preprocess_input(x), [[[[30 - 103.939, 20 - 116.779, 10 - 123.68]]]],
                               rtol=1e-6)
