"""Wrapper: the abstract base of TimeDistributed (and of user wrappers): building, weights, config."""

import json

import pytest
import torch

import loom
from loom.errors import ConfigError
from loom.layers.wrapper import Wrapper


class Doubled(Wrapper):
    def call(self, inputs):
        return 2 * self.layer(inputs)


def test_wrapper_builds_the_layer_and_owns_its_weights():
    layer = Doubled(loom.layers.Dense(3))
    out = layer(torch.ones(2, 4))
    assert out.shape == (2, 3) and layer.layer.built
    assert [w.shape for w in layer.get_weights()] == [(4, 3), (3,)]
    torch.testing.assert_close(out, 2 * layer.layer(torch.ones(2, 4)))


def test_config_round_trip_rebuilds_the_wrapped_layer():
    layer = Doubled(loom.layers.Dense(3, activation="relu"), name="doubled")
    config = json.loads(json.dumps(layer.get_config()))
    assert config["layer"]["class_name"] == "Dense"
    clone = Doubled.from_config(config)
    assert clone.name == "doubled" and clone.layer.get_config()["activation"] == "relu"


def test_time_distributed_is_a_wrapper_and_non_layers_are_refused():
    assert isinstance(loom.layers.TimeDistributed(loom.layers.Dense(2)), loom.layers.Wrapper)
    with pytest.raises(ConfigError, match="Layer instance"):
        Doubled(torch.nn.Linear(2, 2))
