import numpy as np
import pytest

import loom
from loom.applications import inception_v3
from loom.errors import ConfigError
from tests.applications.helpers import (
    assert_close, assert_matches_keras_layer_for_layer, images, keras_base_model, keras_predict)

SIZE = 75  # InceptionV3's smallest input


@pytest.fixture(scope="module")
def keras_model():
    return keras_base_model("InceptionV3", SIZE)


def test_parameter_counts_are_keras():
    model = inception_v3.InceptionV3(weights=None)
    assert model.count_params() == 23_851_784
    assert model.output_shape == (None, 1000)
    assert model.get_layer("mixed10").output_shape == (None, 8, 8, 2048)
    base = loom.applications.InceptionV3(weights=None, include_top=False, pooling="max")
    assert base.count_params() == 23_851_784 - 2049 * 1000
    assert base.output_shape == (None, 2048)


@pytest.mark.slow
def test_matches_keras_layer_for_layer(keras_model):
    assert_matches_keras_layer_for_layer("InceptionV3", keras_model, SIZE)


@pytest.mark.slow
def test_loads_a_keras_weights_file(keras_model, tmp_path):
    path = tmp_path / "inception.weights.h5"
    keras_model.save_weights(path)
    model = inception_v3.InceptionV3(weights=str(path), include_top=False, input_shape=(SIZE, SIZE, 3),
                                     pooling="avg")
    x = images(SIZE, seed=2)
    assert_close(model(x), keras_predict(keras_model, x).mean(axis=(1, 2)))


def test_top_with_custom_classes_and_logits():
    model = inception_v3.InceptionV3(weights=None, input_shape=(SIZE, SIZE, 3), classes=7,
                                     classifier_activation=None)
    assert model.output_shape == (None, 7)
    out = model(images(SIZE, batch=1))
    assert out.shape == (1, 7)
    assert not np.isclose(float(out.detach().sum()), 1.0)  # logits, not probabilities


def test_argument_errors():
    with pytest.raises(ConfigError, match="at least 75x75"):
        inception_v3.InceptionV3(weights=None, include_top=False, input_shape=(71, 71, 3))
    with pytest.raises(ConfigError, match="fully known"):
        inception_v3.InceptionV3(weights=None, input_shape=(None, None, 3))
    with pytest.raises(ConfigError, match="pooling"):
        inception_v3.InceptionV3(weights=None, include_top=False, pooling="mean")


def test_conv2d_bn_names_like_keras():
    x = inception_v3.conv2d_bn(loom.Input((9, 9, 3)), 4, 1, 3, name="b")
    assert x.node.layer.name == "b"
    assert x.shape == (None, 9, 9, 4)
