import pytest

from loom.applications import mobilenet
from loom.applications.keras_weights import PretrainedFileNotFoundError
from loom.errors import ConfigError


def test_names_are_keras():
    model = mobilenet.MobileNet(weights=None, input_shape=(160, 160, 3), classes=4)
    assert model.name == "mobilenet_1.00_160"
    assert [l.name for l in model.layers][-4:] == ["dropout", "conv_preds", "reshape_2", "predictions"]
    assert model.output_shape == (None, 4)


def test_imagenet_argument_errors(empty_keras_cache):
    with pytest.raises(ConfigError, match="depth_multiplier must be 1"):
        mobilenet.MobileNet(depth_multiplier=2)
    with pytest.raises(ConfigError, match="alpha must be one of"):
        mobilenet.MobileNet(alpha=0.3)
    with pytest.raises(PretrainedFileNotFoundError, match="mobilenet_5_0_160_tf_no_top.h5"):
        mobilenet.MobileNet(alpha=0.5, include_top=False, input_shape=(160, 160, 3))
    with pytest.warns(UserWarning, match="224"), pytest.raises(PretrainedFileNotFoundError,
                                                               match="mobilenet/mobilenet_1_0_224_tf_no_top.h5"):
        mobilenet.MobileNet(include_top=False, input_shape=(100, 100, 3))
