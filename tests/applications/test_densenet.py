import pytest

from loom.applications import densenet
from tests.applications.helpers import assert_loads_keras_weights_file, assert_preprocess_input_is_keras
from tests.keras_oracle import keras


def test_parameter_counts_are_keras(meta_count):
    assert meta_count(densenet.DenseNet121) == 8_062_504
    assert meta_count(densenet.DenseNet121, include_top=False, pooling="max") == 8_062_504 - 1025 * 1000


@pytest.mark.slow
def test_deeper_parameter_counts_are_keras(meta_count):
    assert meta_count(densenet.DenseNet169) == 14_307_880
    assert meta_count(densenet.DenseNet201) == 20_242_984


@pytest.mark.slow
def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(densenet, "DenseNet121", tmp_path, 32, classes=5)


def test_preprocess_input_is_torch_mode_as_keras():
    assert_preprocess_input_is_keras(densenet, keras.applications.densenet)
