"""loom.dtype_policies against keras.dtype_policies: quantized policies and DTypePolicyMap (names, dtypes,
configs, serialization, lookups, errors), and layers that take a map as their dtype."""

import numpy as np
import pytest
import torch

import loom
from loom import dtype_policies as P
from loom.errors import ConfigError
from tests.keras_oracle import keras

KP = keras.dtype_policies

NAMES = ["int8_from_float32", "int8_from_mixed_bfloat16", "int4_from_float32", "int4/128_from_float32",
         "int4/-1_from_bfloat16", "float8_from_float32", "gptq/4/128_from_float32", "gptq/8/-1_from_float32",
         "awq/4/64_from_mixed_bfloat16"]


@pytest.mark.parametrize("name", NAMES)
def test_quantized_policies_match_keras(name):
    ours, theirs = P.get(name), KP.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert (ours.name, ours.compute_dtype, ours.variable_dtype, ours.quantization_mode, ours.get_config()) == \
        (theirs.name, theirs.compute_dtype, theirs.variable_dtype, theirs.quantization_mode, theirs.get_config())
    assert repr(ours) == repr(theirs)
    assert P.serialize(ours) == KP.serialize(theirs)
    assert P.deserialize(KP.serialize(theirs)) == ours
    assert KP.deserialize(P.serialize(ours)) == theirs


def test_float8_history_length_and_equality():
    policy = P.QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=16)
    assert policy.amax_history_length == 16 and policy != P.QuantizedFloat8DTypePolicy("float8", "float32")
    assert P.get("int8_from_float32") == P.QuantizedDTypePolicy("int8", "float32") != P.DTypePolicy("float32")
    with pytest.raises(ConfigError, match="amax_history_length"):
        P.QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length="16")


@pytest.mark.parametrize("bad,message", [
    ("int8", "valid pair"), ("int8_from_foo", "Cannot convert 'foo'"), ("int8_from_float16", "float16"),
    ("int4/0_from_float32", "block_size"), ("int4/x_from_float32", "must be integers"),
    ("gptq/5/128_from_float32", "weight_bits"), ("awq/8/128_from_float32", "weight_bits"),
    ("gptq/4_from_float32", "Expected format"),
])
def test_bad_policy_names_raise_like_keras(bad, message):
    with pytest.raises(ConfigError, match=message):
        P.get(bad)
    with pytest.raises(ValueError):
        KP.get(bad)


def test_policy_map_lookups_match_keras():
    def fill(module):
        policy_map = module.DTypePolicyMap(default_policy="float32")
        policy_map["encoder/layer_0/dense"] = "bfloat16"
        policy_map["encoder/.*"] = "int8_from_float32"
        policy_map["decoder"] = "float16"
        return policy_map
    ours, theirs = fill(P), fill(KP)
    for path in ("encoder/layer_0/dense", "encoder/attention/query", "decoder", "decoder/attention"):
        assert ours[path].name == theirs[path].name, path
    assert (ours.name, ours.compute_dtype, len(ours), sorted(ours)) == \
        (theirs.name, theirs.compute_dtype, len(theirs), sorted(theirs))
    assert P.serialize(ours) == KP.serialize(theirs)
    assert P.deserialize(KP.serialize(theirs))["encoder/x"].name == "int8_from_float32"
    ours["encoder/attention/.*"] = "bfloat16"
    with pytest.raises(ConfigError, match="matches multiple"):
        ours["encoder/attention/query"]
    with pytest.raises(ConfigError, match="already exist"):
        ours["decoder"] = "float32"
    with pytest.raises(ConfigError, match="cannot be a `DTypePolicyMap`"):
        P.DTypePolicyMap(ours)
    del ours["decoder"]
    assert ours["decoder"].name == "float32"


def test_policy_map_without_default_follows_the_global_policy():
    ours, theirs = P.DTypePolicyMap(), KP.DTypePolicyMap()
    ours["a"], theirs["a"] = "int8_from_float32", "int8_from_float32"
    assert P.serialize(ours) == KP.serialize(theirs)  # source_name None: filled in where it is loaded
    assert ours["a"].name == "int8_from_float32"  # unlike Keras, serializing does not change the map
    assert P.deserialize(P.serialize(ours))["a"].name == "int8_from_float32"


def test_float_policies_take_any_dtype_name_as_keras():
    assert P.DTypePolicy("int32").compute_dtype == KP.DTypePolicy("int32").compute_dtype == "int32"
    assert P.get(None).name == "float32"


class Block(loom.layers.Layer):
    """A composite layer that passes its dtype (a policy map) to its sublayers, as KerasHub's layers do."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = loom.layers.Dense(3, dtype=self.dtype_policy, name="inner")
        self.outer = loom.layers.Dense(2, dtype=self.dtype_policy, name="outer")

    def build(self, input_shape):
        self.inner.build(input_shape)
        self.outer.build((None, 3))

    def call(self, x):
        return self.outer(self.inner(x))

    def get_config(self):
        config = super().get_config()
        policy_map = P.DTypePolicyMap()
        for layer in (self.inner, self.outer):
            if layer.quantization_mode is not None:
                policy_map[layer.path] = layer._own_policy()
        if len(policy_map):
            config["dtype"] = P.serialize(policy_map)
        return config


def test_sublayers_quantized_through_a_policy_map_reload():
    block = Block(name="block")
    x = torch.randn(2, 4)
    block(x)
    block.inner.quantize("int8")
    assert (block.inner.path, block.inner.quantization_mode, block.outer.quantization_mode) == \
        ("block/inner", "int8", None)
    clone = Block.from_config(block.get_config())
    assert isinstance(clone.dtype_policy, P.DTypePolicyMap)
    clone.build((None, 4))
    assert (clone.inner.quantization_mode, clone.outer.quantization_mode) == ("int8", None)
    clone.set_weights(block.get_weights())
    np.testing.assert_array_equal(clone(x).detach().numpy(), block(x).detach().numpy())
