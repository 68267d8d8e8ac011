import numpy as np
import pytest
import torch

from loom.applications import convnext
from loom.applications.convnext import LayerScale, StochasticDepth
from loom.errors import ConfigError
from tests.applications.helpers import assert_loads_keras_weights_file, needs_preprocessing_layers


def test_parameter_counts_are_keras(meta_count):
    kwargs = {"include_preprocessing": False}
    assert meta_count(convnext.ConvNeXtTiny, **kwargs) == 28_589_128
    assert meta_count(convnext.ConvNeXtTiny, include_top=False, **kwargs) == 27_820_128


@pytest.mark.slow
@pytest.mark.parametrize("name,count", [("Small", 50_223_688), ("Base", 88_591_464), ("Large", 197_767_336),
                                        ("XLarge", 350_196_968)])
def test_larger_parameter_counts_are_keras(meta_count, name, count):
    assert meta_count(getattr(convnext, f"ConvNeXt{name}"), include_preprocessing=False) == count


@pytest.mark.slow
def test_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(convnext, "ConvNeXtTiny", tmp_path, 32, classes=5, include_preprocessing=False)


@needs_preprocessing_layers
@pytest.mark.slow
def test_with_preprocessing_loads_a_keras_weights_file(tmp_path):
    assert_loads_keras_weights_file(convnext, "ConvNeXtTiny", tmp_path, 32, include_top=False, pooling="avg")


def test_layer_scale_and_stochastic_depth():
    layer = LayerScale(0.1, 4)
    assert layer.get_config()["projection_dim"] == 4
    torch.testing.assert_close(layer(torch.ones(2, 4)), torch.full((2, 4), 0.1))
    assert len(layer.get_weights()) == 1
    with pytest.raises(ConfigError, match="projection_dim is 4"):
        LayerScale(0.1, 4)(torch.ones(2, 3))
    drop = StochasticDepth(0.5)
    x = torch.ones(64, 3)
    assert drop(x) is x
    out = drop(x, training=True)
    assert set(out.unique().tolist()) <= {0.0, 2.0} and (out[:, 0:1] == out).all()
    with pytest.raises(ConfigError, match="drop_path_rate"):
        StochasticDepth(1.0)


def test_imagenet_name_must_match_the_variant():
    with pytest.raises(ConfigError, match="convnext_tiny"):
        convnext.ConvNeXtTiny(name="mine")
    x = np.ones((1, 2, 2, 3))
    assert convnext.preprocess_input(x) is x
