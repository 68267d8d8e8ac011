"""Lambda: calling, masks and training flag, config with function references or source, safe mode."""

import json

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, UnsafeLoadError
from loom.layers.lambda_layer import deserialize_function, serialize_function
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def double(x):
    return x * 2


def scale(x, factor=1.0):
    return x * factor


def test_lambda_layer_checks():
    result = run_layer_test(loom.layers.Lambda, {"function": double}, input_shape=(2, 3),
                            expected_output_shape=(2, 3), expected_num_trainable_weights=0,
                            from_config_kwargs={"safe_mode": False})
    assert torch.equal(result.output, result.inputs * 2)


def test_lambda_matches_keras_with_arguments():
    run_layer_test(loom.layers.Lambda, {"function": scale, "arguments": {"factor": 3.0}}, input_shape=(2, 4),
                   expected_output_shape=(2, 4), from_config_kwargs={"safe_mode": False},
                   keras_cls=keras.layers.Lambda)


def test_lambda_on_a_list_infers_shapes():
    a, b = loom.Input((3,)), loom.Input((5,))
    out = loom.layers.Lambda(lambda xs: torch.cat(xs, dim=-1).mean(dim=-1, keepdim=True))([a, b])
    assert out.shape == (None, 1)


def test_lambda_receives_mask_and_training_when_it_asks():
    seen = {}

    def fn(x, mask=None, training=None):
        seen["mask"], seen["training"] = mask, training
        return x
    layer = loom.layers.Lambda(fn, mask=lambda inputs, mask: mask)
    mask = torch.tensor([[True, False]])
    layer(torch.zeros(1, 2, 3), mask=mask, training=True)
    assert seen["mask"] is mask and seen["training"] is True
    assert layer.compute_mask(None, mask) is mask and layer.supports_masking


def test_lambda_mask_flows_through_a_model():
    ids = loom.Input((4,), dtype="int32")
    x = loom.layers.Embedding(10, 3, mask_zero=True)(ids)
    y = loom.layers.Lambda(lambda t: t * 2, mask=lambda inputs, mask: mask)(x)
    assert y.has_mask
    assert not loom.layers.Lambda(lambda t: t * 2)(x).has_mask


def test_importable_function_is_saved_by_reference():
    assert serialize_function(double) == {"module": __name__, "qualname": "double"}
    assert serialize_function(loom.activations.relu) == {"module": "loom.activations", "qualname": "relu"}


def test_lambda_expression_is_saved_as_source_and_restored_with_safe_mode_off():
    layer = loom.layers.Lambda(lambda t: t * 3 + 1, name="affine")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["function"]["source"] == "lambda t: t * 3 + 1"
    restored = loom.layers.Lambda.from_config(config, safe_mode=False)
    assert torch.equal(restored(torch.ones(2)), torch.full((2,), 4.0))


def test_local_def_is_saved_as_source():
    def clipped(x):
        return torch.clamp(x, 0.0, 1.0)
    config = loom.layers.Lambda(clipped).get_config()
    assert "def clipped" in config["function"]["source"]
    restored = loom.layers.Lambda.from_config(config, safe_mode=False)
    assert torch.equal(restored(torch.tensor([-1.0, 0.5, 2.0])), torch.tensor([0.0, 0.5, 1.0]))


def test_source_can_use_its_module_globals():
    layer = loom.layers.Lambda(lambda t: double(t) + np.float32(1))
    restored = loom.layers.Lambda.from_config(layer.get_config(), safe_mode=False)
    assert torch.equal(restored(torch.ones(1)), torch.tensor([3.0]))


@pytest.mark.parametrize("function", [double, lambda t: t])
def test_safe_mode_refuses_to_load_code(function):
    config = loom.layers.Lambda(function, name="risky").get_config()
    with pytest.raises(UnsafeLoadError, match="'risky'.*safe_mode=False"):
        loom.layers.Lambda.from_config(config)


def test_custom_objects_supply_the_function_in_safe_mode():
    config = loom.layers.Lambda(double).get_config()
    layer = loom.layers.Lambda.from_config(config, custom_objects={"double": double})
    assert layer.function is double


def test_output_shape_is_kept_in_the_config():
    config = loom.layers.Lambda(double, output_shape=(3,)).get_config()
    assert config["output_shape"] == (3,)
    restored = loom.layers.Lambda.from_config(json.loads(json.dumps(config)), safe_mode=False)
    assert restored.get_config()["output_shape"] == (3,)


def test_function_without_source_cannot_be_saved():
    fn = eval("lambda t: t")  # no source file behind it
    with pytest.raises(ConfigError, match="not importable"):
        loom.layers.Lambda(fn).get_config()


def test_bad_source_config_is_a_config_error():
    with pytest.raises(ConfigError, match="does not define"):
        deserialize_function({"module": None, "name": "f", "source": "def g(x):\n    return x\n"}, None, False,
                             "Lambda 'x'")


def test_non_callable_function():
    with pytest.raises(ConfigError, match="callable"):
        loom.layers.Lambda(3)
