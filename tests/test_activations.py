"""Activation functions: the same values as Keras 3 (not torch, where they differ), names, serialization."""

import numpy as np
import pytest
import torch

import loom
from loom import activations
from loom.errors import ConfigError
from tests.keras_oracle import keras

NAMES = ["relu", "relu6", "leaky_relu", "sigmoid", "hard_sigmoid", "softmax", "log_softmax", "tanh", "elu", "selu",
         "gelu", "silu", "swish", "softplus", "softsign", "exponential", "mish", "linear"]
X = torch.linspace(-7.0, 7.0, 141).reshape(3, 47)


@pytest.mark.parametrize("name", NAMES)
def test_values_match_keras(name):
    expected = keras.ops.convert_to_numpy(keras.activations.get(name)(X))
    np.testing.assert_allclose(activations.get(name)(X).numpy(), expected, atol=1e-6, rtol=1e-6)


def test_keras_formulas_where_they_differ_from_torch_defaults():
    x = torch.tensor([-4.0, -3.0, -1.0, 0.0, 1.0, 3.0, 4.0])
    # Keras 3 hard_sigmoid is relu6(x + 3) / 6 (Keras 2's was clip(0.2 x + 0.5)).
    torch.testing.assert_close(activations.hard_sigmoid(x), torch.clamp(x + 3, 0, 6) / 6)
    # Keras's leaky_relu function defaults to 0.2 (torch: 0.01); gelu is exact by default.
    torch.testing.assert_close(activations.leaky_relu(x), torch.where(x > 0, x, 0.2 * x))
    torch.testing.assert_close(activations.gelu(x), torch.nn.functional.gelu(x))
    torch.testing.assert_close(activations.gelu(x, approximate=True),
                               torch.nn.functional.gelu(x, approximate="tanh"))


@pytest.mark.parametrize("kwargs", [{}, {"negative_slope": 0.1}, {"max_value": 2.0}, {"max_value": 6.0},
                                    {"threshold": 1.0}, {"threshold": -1.0}, {"threshold": -1.0, "max_value": 3.0},
                                    {"negative_slope": 0.5, "threshold": 2.0, "max_value": 4.0},
                                    {"negative_slope": 0.3, "max_value": 6.0}])
def test_parametrised_relu_matches_keras(kwargs):
    x = torch.tensor([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 7.0])
    expected = keras.ops.convert_to_numpy(keras.activations.relu(x, **kwargs))
    np.testing.assert_allclose(activations.relu(x, **kwargs).numpy(), expected, atol=1e-7)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_axis(axis):
    expected = keras.ops.convert_to_numpy(keras.activations.softmax(X, axis=axis))
    np.testing.assert_allclose(activations.softmax(X, axis=axis).numpy(), expected, atol=1e-7)


@pytest.mark.parametrize("name", NAMES)
def test_serialize_get_round_trip_uses_keras_names(name):
    fn = activations.get(name)
    serialized = activations.serialize(fn)
    assert activations.get(serialized) is fn
    expected = "silu" if name == "swish" else name
    assert serialized == expected == keras.activations.serialize(keras.activations.get(name))


def test_get_accepts_none_callables_and_keras_dicts():
    assert activations.get(None) is activations.linear
    assert activations.get("ReLU") is activations.relu

    def custom(x):
        return x * 2
    assert activations.get(custom) is custom
    assert activations.get({"class_name": "tanh"}) is activations.tanh


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ConfigError, match="relu"):
        activations.get("rleu")
    with pytest.raises(ConfigError):
        activations.get(42)


def test_activation_gradients_are_finite():
    x = X.clone().requires_grad_(True)
    total = sum(activations.get(name)(x).sum() for name in NAMES if name != "exponential")
    total.backward()
    assert torch.isfinite(x.grad).all()


def test_import_loom_as_keras_exposes_activations():
    assert loom.activations.swish is loom.activations.silu


def test_softmax_without_gradients_matches_torch_on_small_axes():
    torch.manual_seed(0)
    x = torch.randn(16, 10) * 30
    x[0, 3] = 1e4
    with torch.no_grad():
        for axis in (-1, 0):
            torch.testing.assert_close(loom.activations.softmax(x, axis), torch.softmax(x, axis), rtol=1e-6,
                                       atol=1e-7)
        assert loom.activations.softmax(torch.empty(0, 10)).shape == (0, 10)


_MORE = ["celu", "glu", "hard_silu", "hard_swish", "hard_tanh", "hard_shrink", "soft_shrink", "tanh_shrink",
         "log_sigmoid", "sparse_plus", "sparse_sigmoid", "squareplus"]


@pytest.mark.parametrize("name", _MORE)
def test_every_keras_activation_matches_keras(name):
    x = torch.linspace(-3.0, 3.0, 48).reshape(4, 12)
    expected = keras.ops.convert_to_numpy(getattr(keras.activations, name)(x))
    np.testing.assert_allclose(getattr(activations, name)(x).numpy(), expected, atol=1e-6, rtol=1e-5)
    assert activations.get(name) is getattr(activations, name)


def test_parametrised_new_activations_match_keras():
    x = torch.linspace(-3.0, 3.0, 24).reshape(4, 6)
    for fn, kwargs in (("celu", {"alpha": 0.5}), ("glu", {"axis": 0}), ("hard_shrink", {"threshold": 1.0}),
                       ("soft_shrink", {"threshold": 1.0}), ("squareplus", {"b": 1}),
                       ("threshold", {"threshold": 0.5, "default_value": -1.0})):
        expected = keras.ops.convert_to_numpy(getattr(keras.activations, fn)(x, **kwargs))
        np.testing.assert_allclose(getattr(activations, fn)(x, **kwargs).numpy(), expected, atol=1e-6, rtol=1e-5,
                                   err_msg=fn)


def test_deserialize_reads_keras_entries():
    entry = keras.saving.serialize_keras_object(keras.activations.hard_silu)
    assert activations.deserialize(entry) is activations.hard_silu
    assert activations.deserialize("tanh") is activations.tanh

    def mine(x):
        return x

    assert activations.deserialize("mine", custom_objects={"mine": mine}) is mine
    with pytest.raises(ConfigError):
        activations.deserialize({"class_name": "function", "config": "nope"})


def _sparsemax_reference(row: np.ndarray) -> np.ndarray:
    """Martins & Astudillo (2016), Algorithm 1, one row at a time in float64."""
    z = np.sort(row)[::-1]
    k = np.arange(1, len(z) + 1)
    support = 1 + k * z > np.cumsum(z)
    k_max = k[support][-1]
    tau = (np.cumsum(z)[k_max - 1] - 1) / k_max
    return np.maximum(row - tau, 0.0)


@pytest.mark.parametrize("axis", [-1, 0])
def test_sparsemax_is_the_simplex_projection(axis):
    # Keras 3.15's torch backend sums every supported cumulative sum into tau (its outputs need not sum to 1,
    # e.g. [0.1, 0.5, 0.2] -> [0, 1/6, 0]), so the oracle here is the paper's algorithm.
    torch.manual_seed(0)
    x = torch.randn(5, 7) * 2
    expected = np.apply_along_axis(_sparsemax_reference, axis, x.double().numpy())
    out = activations.sparsemax(x, axis=axis)
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(out.sum(axis).numpy(), 1.0, atol=1e-6)
    np.testing.assert_allclose(activations.sparsemax(torch.tensor([0.1, 0.5, 0.2])).numpy(), [1 / 6, 17 / 30, 4 / 15],
                               atol=1e-6)
