import pytest

from loom.applications import mobilenet
from loom.applications.keras_weights import PretrainedFileNotFoundError
from loom.errors import ConfigError
from tests.applications.helpers import assert_loads_keras_weights_file, assert_preprocess_input_is_keras
from tests.keras_oracle import keras


def test_parameter_counts_and_names_are_keras(meta_count):
    assert meta_count(mobilenet.MobileNet) == 4_253_864
    assert meta_count(mobilenet.MobileNet, alpha=0.5, include_top=False, input_shape=(128, 128, 3)) == 829_536
    model = mobilenet.MobileNet(weights=None, input_shape=(160, 160, 3), classes=4)
    assert model.name == "mobilenet_1.00_160"
    assert [l.name for l in model.layers][-4:] == ["dropout", "conv_preds", "reshape_2", "predictions"]
    assert model.output_shape == (None, 4)


def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(mobilenet, "MobileNet", tmp_path, 32, alpha=0.25, classes=5)


def test_preprocess_input_is_tf_mode_as_keras():
    assert_preprocess_input_is_keras(mobilenet, keras.applications.mobilenet)


def test_imagenet_argument_errors(tmp_path, monkeypatch):
    from loom.applications import keras_weights
    monkeypatch.setattr(keras_weights, "keras_cache_dirs", lambda: [str(tmp_path)])
    with pytest.raises(ConfigError, match="depth_multiplier must be 1"):
        mobilenet.MobileNet(depth_multiplier=2)
    with pytest.raises(ConfigError, match="alpha must be one of"):
        mobilenet.MobileNet(alpha=0.3)
    with pytest.raises(PretrainedFileNotFoundError, match="mobilenet_5_0_160_tf_no_top.h5"):
        mobilenet.MobileNet(alpha=0.5, include_top=False, input_shape=(160, 160, 3))
    with pytest.warns(UserWarning, match="224"), pytest.raises(PretrainedFileNotFoundError,
                                                               match="mobilenet/mobilenet_1_0_224_tf_no_top.h5"):
        mobilenet.MobileNet(include_top=False, input_shape=(100, 100, 3))
