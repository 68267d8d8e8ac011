import pytest

import loom
from loom.errors import ConfigError
from loom.layers.layer_args import (DENSE_WEIGHT_ARGS, choice_arg, parse_args, positive_int, positive_int_arg,
                                    serialize_args)


def test_parse_and_serialize_round_trip_by_suffix():
    layer = loom.layers.Layer(name="probe")
    parse_args(layer, activation="relu", kernel_initializer="ones", bias_initializer="zeros",
               kernel_regularizer="l2", bias_regularizer=None, activity_regularizer=None,
               kernel_constraint="non_neg", bias_constraint=None)
    assert callable(layer.activation)
    assert isinstance(layer.kernel_initializer, loom.initializers.Ones)
    layer.units = 3
    config = serialize_args(layer, "units", "activation", *DENSE_WEIGHT_ARGS)
    assert list(config) == ["units", "activation", *DENSE_WEIGHT_ARGS]
    assert config["units"] == 3 and config["activation"] == "relu" and config["bias_regularizer"] is None
    assert config == serialize_args(loom.layers.Dense(3, **{k: v for k, v in config.items() if k != "units"}),
                                    "units", "activation", *DENSE_WEIGHT_ARGS)


def test_parse_args_refuses_other_arguments():
    with pytest.raises(TypeError, match="units"):
        parse_args(loom.layers.Layer(), units=3)


def test_positive_int_checks():
    assert positive_int("Owner 'x'", "units", 4) == 4
    assert positive_int("Owner 'x'", "units", None, allow_none=True) is None
    for bad in (0, -1, 2.0, True, None):
        with pytest.raises(ConfigError, match=r"Owner 'x': units must be a positive int"):
            positive_int("Owner 'x'", "units", bad)
    layer = loom.layers.Layer(name="probe")
    with pytest.raises(ConfigError, match=r"Layer 'probe': `height` must be a positive int, got 0"):
        positive_int_arg(layer, "height", 0)
    assert choice_arg(layer, "mode", "a", ("a", "b")) == "a"
    with pytest.raises(ConfigError, match=r"`mode` must be one of \('a', 'b'\), got 'c'"):
        choice_arg(layer, "mode", "c", ("a", "b"))
