"""Initializers: Keras 3's distributions (bounds, standard deviations, fans), names and config round trips."""

import math

import numpy as np
import pytest
import torch

import loom
from loom import initializers
from loom.errors import ConfigError
from tests.keras_oracle import keras

SHAPE = (300, 200)
CONV_SHAPE = (3, 3, 16, 32)

# name -> expected (limit of |w| or None, standard deviation) for SHAPE
FAN_IN, FAN_OUT = 300, 200
EXPECTED = {
    "glorot_uniform": (math.sqrt(6 / (FAN_IN + FAN_OUT)), math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "glorot_normal": (2 * math.sqrt(2 / (FAN_IN + FAN_OUT)) / 0.87962566103423978, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    "he_uniform": (math.sqrt(6 / FAN_IN), math.sqrt(2 / FAN_IN)),
    "he_normal": (2 * math.sqrt(2 / FAN_IN) / 0.87962566103423978, math.sqrt(2 / FAN_IN)),
    "lecun_uniform": (math.sqrt(3 / FAN_IN), math.sqrt(1 / FAN_IN)),
    "lecun_normal": (2 * math.sqrt(1 / FAN_IN) / 0.87962566103423978, math.sqrt(1 / FAN_IN)),
    "random_uniform": (0.05, 0.05 / math.sqrt(3)),
    "uniform": (0.05, 0.05 / math.sqrt(3)),
    "random_normal": (None, 0.05),
    "normal": (None, 0.05),
    "truncated_normal": (0.1, 0.05 * 0.8796),
}


def _keras_values(name, shape):
    return keras.ops.convert_to_numpy(keras.initializers.get(name)(shape))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_distribution_statistics_match_keras(name):
    limit, std = EXPECTED[name]
    w = initializers.get(name)(SHAPE).numpy()
    k = _keras_values(name, SHAPE)
    assert w.shape == SHAPE and w.dtype == np.float32
    assert abs(w.mean()) < 0.05 * std * 10
    assert w.std() == pytest.approx(std, rel=0.03)
    assert w.std() == pytest.approx(k.std(), rel=0.04)
    if limit is not None:
        assert np.abs(w).max() <= limit + 1e-7
        assert np.abs(w).max() == pytest.approx(np.abs(k).max(), rel=0.05)


def test_fans_of_a_conv_kernel_are_keras_fans():
    assert initializers.compute_fans(CONV_SHAPE) == (3 * 3 * 16, 3 * 3 * 32)
    assert initializers.compute_fans((5,)) == (5, 5)
    assert initializers.compute_fans(()) == (1, 1)
    w = initializers.get("glorot_uniform")(CONV_SHAPE)
    limit = math.sqrt(6 / (144 + 288))
    assert float(w.abs().max()) <= limit and float(w.abs().max()) > 0.95 * limit
    he = initializers.get("he_normal")(CONV_SHAPE).numpy()
    assert he.std() == pytest.approx(math.sqrt(2 / 144), rel=0.05)
    assert he.std() == pytest.approx(_keras_values("he_normal", CONV_SHAPE).std(), rel=0.06)


def test_variance_scaling_modes_and_distributions():
    fan_avg = initializers.VarianceScaling(2.0, "fan_avg", "untruncated_normal")(SHAPE).numpy()
    assert fan_avg.std() == pytest.approx(math.sqrt(2.0 / 250), rel=0.03)
    fan_out = initializers.VarianceScaling(1.0, "fan_out", "uniform")(SHAPE).numpy()
    assert np.abs(fan_out).max() <= math.sqrt(3.0 / 200)
    with pytest.raises(ConfigError, match="fan_in"):
        initializers.VarianceScaling(mode="fan_sideways")
    with pytest.raises(ConfigError, match="uniform"):
        initializers.VarianceScaling(distribution="cauchy")


@pytest.mark.parametrize("shape", [(40, 30), (30, 40), (3, 3, 4, 8)])
def test_orthogonal_is_orthogonal(shape):
    w = initializers.Orthogonal(gain=2.0)(shape)
    flat = w.reshape(-1, shape[-1])
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    torch.testing.assert_close(gram, 4.0 * torch.eye(gram.shape[0]), atol=1e-4, rtol=0)


def test_constant_family_and_identity():
    assert torch.equal(initializers.get("zeros")((2, 3)), torch.zeros(2, 3))
    assert torch.equal(initializers.get("ones")((2,)), torch.ones(2))
    assert torch.equal(initializers.Constant(3.5)((2,)), torch.full((2,), 3.5))
    assert torch.equal(initializers.Identity(gain=2.0)((2, 3)), 2.0 * torch.eye(2, 3))
    np.testing.assert_array_equal(initializers.Identity()((3, 3)).numpy(),
                                  keras.ops.convert_to_numpy(keras.initializers.Identity()((3, 3))))


def test_seeded_initializers_are_repeatable():
    a = initializers.GlorotUniform(seed=3)((4, 5))
    b = initializers.GlorotUniform(seed=3)((4, 5))
    assert torch.equal(a, b)
    loom.utils.set_random_seed(9)
    c = initializers.get("he_normal")((4, 5))
    loom.utils.set_random_seed(9)
    assert torch.equal(c, initializers.get("he_normal")((4, 5)))


@pytest.mark.parametrize("init", [
    initializers.GlorotUniform(seed=1), initializers.HeNormal(), initializers.LecunUniform(seed=2),
    initializers.RandomNormal(0.5, 2.0, seed=3), initializers.RandomUniform(-1.0, 2.0),
    initializers.TruncatedNormal(stddev=0.2), initializers.VarianceScaling(3.0, "fan_out", "uniform", seed=4),
    initializers.Orthogonal(gain=0.5), initializers.Identity(2.0), initializers.Constant(7.0),
    initializers.Zeros(), initializers.Ones(), initializers.GlorotNormal(), initializers.HeUniform(),
    initializers.LecunNormal(),
])
def test_serialize_get_round_trip(init):
    config = initializers.serialize(init)
    assert config["class_name"] == type(init).__name__
    again = initializers.get(config)
    assert type(again) is type(init) and again.get_config() == init.get_config()
    # the names and config keys are Keras's: Keras rebuilds the same initializer from loom's config
    keras_init = keras.initializers.get(config)
    assert type(keras_init).__name__ in (type(init).__name__, type(init).__name__ + "Initializer")
    keras_config = keras_init.get_config()  # Keras's Identity.get_config() forgets its gain: compare shared keys
    shared = set(keras_config) & set(config["config"])
    assert shared == set(config["config"]) or type(init) is initializers.Identity
    assert {k: keras_config[k] for k in shared} == {k: config["config"][k] for k in shared}


@pytest.mark.parametrize("name,cls", [("glorot_uniform", "GlorotUniform"), ("GlorotUniform", "GlorotUniform"),
                                      ("he_normal", "HeNormal"), ("uniform", "RandomUniform"),
                                      ("normal", "RandomNormal"), ("zeros", "Zeros"), ("one", "Ones"),
                                      ("orthogonal", "Orthogonal"), ("identity", "Identity")])
def test_names_resolve_like_keras(name, cls):
    assert type(initializers.get(name)).__name__ == cls
    assert type(keras.initializers.get(name)).__name__ in (cls, cls + "Initializer")


def test_unknown_initializer_lists_valid_names():
    with pytest.raises(ConfigError, match="glorot_uniform"):
        initializers.get("glorot_uniformly")
    with pytest.raises(ConfigError):
        initializers.get(3)


def test_layer_weights_use_keras_shapes_for_fans():
    layer = loom.layers.Dense(200, kernel_initializer="he_uniform")
    layer(torch.zeros(1, 300))
    assert float(layer.kernel.detach().abs().max()) <= math.sqrt(6 / 300)


_LOWER = ["constant", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity", "lecun_normal",
          "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform", "stft", "truncated_normal",
          "variance_scaling", "zeros"]


@pytest.mark.parametrize("name", _LOWER)
def test_lower_case_aliases_are_the_classes_as_in_keras(name):
    upper = getattr(keras.initializers, name).__name__
    upper = {"IdentityInitializer": "Identity", "OrthogonalInitializer": "Orthogonal",
             "STFTInitializer": "STFT"}.get(upper, upper)
    assert getattr(loom.initializers, name) is getattr(loom.initializers, upper)


@pytest.mark.parametrize("name", ["lecun_normal", "glorot_uniform", "he_normal", "orthogonal", "lecun_uniform"])
def test_lower_case_alias_outputs_match_keras_statistics(name):
    torch.manual_seed(0)
    shape = (300, 200)
    ours = loom.initializers.__dict__[name](seed=3)(shape).numpy()
    theirs = keras.ops.convert_to_numpy(getattr(keras.initializers, name)(seed=3)(shape))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours.std(), theirs.std(), rtol=0.03)
    np.testing.assert_allclose(np.abs(ours).max(), np.abs(theirs).max(), rtol=0.1)
    assert abs(ours.mean()) < 0.01


@pytest.mark.parametrize("kwargs", [{}, {"side": "imag"}, {"window": "hamming", "periodic": True},
                                    {"scaling": "spectrum"}, {"window": None, "scaling": None}])
def test_stft_matches_keras(kwargs):
    shape = (16, 1, 9)
    expected = keras.ops.convert_to_numpy(keras.initializers.STFT(**kwargs)(shape))
    # Keras builds the kernel in float32, loom in float64 then casts: a few float32 ulps apart.
    np.testing.assert_allclose(loom.initializers.STFT(**kwargs)(shape).numpy(), expected, atol=1e-5)


def test_input_output_axes_set_the_fans_as_keras():
    init = loom.initializers.VarianceScaling(2.0, "fan_out", "uniform", input_axes=[0], output_axes=[1, 2])
    limit = float(init((4, 5, 6)).abs().max())
    assert limit <= (3 * 2.0 / 30) ** 0.5
    assert loom.initializers.HeUniform(input_axes=[0], output_axes=[1]).get_config() == \
        keras.initializers.HeUniform(input_axes=[0], output_axes=[1]).get_config()


def test_deserialize_reads_keras_entries():
    entry = keras.initializers.serialize(keras.initializers.LecunNormal(seed=4))
    init = loom.initializers.deserialize(entry)
    assert isinstance(init, loom.initializers.LecunNormal) and init.seed == 4
