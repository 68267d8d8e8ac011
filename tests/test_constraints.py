"""Constraints: Keras 3's projections, names and configs; apply_constraints on models."""

import numpy as np
import pytest
import torch

import loom
from loom import constraints
from loom.errors import ConfigError
from tests.keras_oracle import keras

W = torch.from_numpy(np.random.default_rng(0).normal(size=(3, 3, 4, 5)).astype("float32"))


@pytest.mark.parametrize("make", [
    lambda lib: lib.constraints.MaxNorm(), lambda lib: lib.constraints.MaxNorm(0.5, axis=[0, 1, 2]),
    lambda lib: lib.constraints.MaxNorm(1.5, axis=3), lambda lib: lib.constraints.NonNeg(),
    lambda lib: lib.constraints.UnitNorm(), lambda lib: lib.constraints.UnitNorm(axis=[0, 1, 2]),
    lambda lib: lib.constraints.MinMaxNorm(), lambda lib: lib.constraints.MinMaxNorm(1.0, 2.0, 0.5, [0, 1, 2]),
    lambda lib: lib.constraints.get("max_norm"), lambda lib: lib.constraints.get("unit_norm"),
])
def test_projection_equals_keras(make):
    expected = keras.ops.convert_to_numpy(make(keras)(W))
    np.testing.assert_allclose(make(loom)(W).numpy(), expected, atol=1e-6, rtol=1e-6)


def test_max_norm_only_shrinks_long_vectors():
    w = torch.tensor([[3.0, 0.3], [4.0, 0.4]])
    out = constraints.MaxNorm(1.0)(w)
    torch.testing.assert_close(out[:, 0], torch.tensor([0.6, 0.8]))
    torch.testing.assert_close(out[:, 1], w[:, 1], atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("constraint", [constraints.MaxNorm(3, axis=1), constraints.NonNeg(),
                                        constraints.UnitNorm(axis=[0, 1]), constraints.MinMaxNorm(0.1, 0.9, 0.7)])
def test_serialize_get_round_trip_and_keras_reads_the_config(constraint):
    config = constraints.serialize(constraint)
    again = constraints.get(config)
    assert type(again) is type(constraint) and again.get_config() == constraint.get_config()
    keras_constraint = keras.constraints.get(config)
    assert type(keras_constraint).__name__ == type(constraint).__name__
    assert keras_constraint.get_config() == constraint.get_config()


@pytest.mark.parametrize("name,cls", [("max_norm", "MaxNorm"), ("MaxNorm", "MaxNorm"), ("non_neg", "NonNeg"),
                                      ("unit_norm", "UnitNorm"), ("min_max_norm", "MinMaxNorm")])
def test_names(name, cls):
    assert type(constraints.get(name)).__name__ == cls == type(keras.constraints.get(name)).__name__


def test_get_passes_none_instances_classes_and_callables():
    assert constraints.get(None) is None and constraints.serialize(None) is None
    c = constraints.NonNeg()
    assert constraints.get(c) is c
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm)
    fn = torch.abs
    assert constraints.get(fn) is fn
    with pytest.raises(ConfigError, match="only loom.constraints"):
        constraints.serialize(fn)


@pytest.mark.parametrize("bad", ["maxnorm", {"class_name": "Nope"}, 5])
def test_unknown_constraint_lists_valid_names(bad):
    with pytest.raises(ConfigError):
        constraints.get(bad)


def test_apply_constraints_walks_nested_models():
    inner_in = loom.Input((3,))
    inner = loom.Model(inner_in, loom.layers.Dense(4, kernel_constraint="non_neg", name="inner_dense")(inner_in))
    outer_in = loom.Input((3,))
    out = loom.layers.Dense(2, bias_constraint=constraints.MaxNorm(0.1), name="outer_dense")(inner(outer_in))
    model = loom.Model(outer_in, out)
    assert constraints.has_constraints(model)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(-1.0)
    constraints.apply_constraints(model)
    assert float(model.get_layer("outer_dense").bias.detach().norm()) <= 0.1 + 1e-6
    assert float(inner.get_layer("inner_dense").kernel.detach().min()) == 0.0
    assert float(model.get_layer("outer_dense").kernel.detach().max()) == -1.0  # unconstrained


def test_models_without_constraints():
    inputs = loom.Input((3,))
    model = loom.Model(inputs, loom.layers.Dense(2)(inputs))
    assert not constraints.has_constraints(model)
    before = model.get_weights()
    constraints.apply_constraints(model)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_register_ignores_none():
    layer = loom.layers.Dense(2)
    constraints.register(layer, "kernel", None)
    assert not constraints.has_constraints(layer)


def test_deserialize_reads_keras_entries():
    entry = keras.constraints.serialize(keras.constraints.MinMaxNorm(0.5, 2.0, axis=1))
    c = loom.constraints.deserialize(entry)
    assert isinstance(c, loom.constraints.MinMaxNorm) and c.get_config() == entry["config"]
