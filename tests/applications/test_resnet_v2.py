import pytest

from loom.applications import resnet_v2
from tests.applications.helpers import assert_loads_keras_weights_file, assert_preprocess_input_is_keras
from tests.keras_oracle import keras


def test_parameter_counts_are_keras(meta_count):
    assert meta_count(resnet_v2.ResNet50V2) == 25_613_800
    assert meta_count(resnet_v2.ResNet50V2, include_top=False) == 25_613_800 - 2049 * 1000


@pytest.mark.slow
def test_deeper_parameter_counts_are_keras(meta_count):
    assert meta_count(resnet_v2.ResNet101V2) == 44_675_560
    assert meta_count(resnet_v2.ResNet152V2) == 60_380_648


@pytest.mark.slow
def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(resnet_v2, "ResNet50V2", tmp_path, 32, include_top=False, pooling="max")


def test_preprocess_input_is_tf_mode_as_keras():
    assert_preprocess_input_is_keras(resnet_v2, keras.applications.resnet_v2)


def test_pooling_layers_are_named_as_keras():
    model = resnet_v2.ResNet50V2(weights=None, include_top=False, pooling="avg")
    assert model.layers[-1].name == "avg_pool" and model.layers[-3].name == "post_bn"
