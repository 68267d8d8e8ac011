"""BatchNormalization (incl. renorm), LayerNormalization, GroupNormalization against Keras 3 and references."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def _data(shape, seed=0, scale=2.0, shift=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale + shift).astype("float32")


def _random_weights(keras_layer, seed=1):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") for w in keras_layer.get_weights()]
    return weights


def _pair(kwargs, shape, seed=1):
    """A Keras and a loom BatchNormalization with the same random weights (variances made positive)."""
    k = keras.layers.BatchNormalization(**kwargs)
    k.build(shape)
    weights = _random_weights(k, seed)
    for i in range(2, len(weights)):
        weights[i] = np.abs(weights[i]) + 0.5
    k.set_weights(weights)
    layer = loom.layers.BatchNormalization(**kwargs)
    layer(torch.zeros((2,) + tuple(shape[1:])))
    layer.set_weights(weights)
    return k, layer


def _close(a, b, atol=1e-5):
    np.testing.assert_allclose(keras.ops.convert_to_numpy(a) if not isinstance(a, np.ndarray) else a,
                               b.detach().numpy() if isinstance(b, torch.Tensor) else b, atol=atol, rtol=1e-5)


# --------------------------------------------------------------------------------- BatchNormalization
@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_layer_checks_and_parity(training):
    run_layer_test(loom.layers.BatchNormalization, {"momentum": 0.9}, input_shape=(4, 3, 5),
                   expected_output_shape=(4, 3, 5), expected_num_trainable_weights=2,
                   expected_num_non_trainable_weights=2, supports_masking=True, training=training,
                   keras_cls=keras.layers.BatchNormalization)


@pytest.mark.parametrize("shape,axis", [((8, 5), -1), ((3, 4, 4, 5), -1), ((3, 5, 4, 4), 1), ((3, 4, 5, 6), 2)])
def test_batch_norm_training_outputs_and_moving_statistics_match_keras(shape, axis):
    k, layer = _pair({"axis": axis, "momentum": 0.9}, shape)
    for step in range(2):
        x = _data(shape, seed=step)
        _close(k(x, training=True), layer(x, training=True))
        for kw, lw in zip(k.get_weights(), layer.get_weights()):
            np.testing.assert_allclose(kw, lw, atol=1e-5, rtol=1e-5)
    x = _data(shape, seed=5)
    _close(k(x, training=False), layer(x))


def test_batch_norm_moving_statistics_use_the_biased_variance():
    layer = loom.layers.BatchNormalization(momentum=0.5)
    x = torch.tensor([[0.0], [2.0]])
    layer(x, training=True)
    assert torch.allclose(layer.moving_mean, torch.tensor([0.5]))
    assert torch.allclose(layer.moving_variance, torch.tensor([0.5 * 1.0 + 0.5 * 1.0]))  # biased var of [0, 2] = 1


def test_batch_norm_train_on_batch_matches_keras():
    def build(lib):
        inputs = lib.Input((4,))
        outputs = lib.layers.Dense(1)(lib.layers.BatchNormalization(momentum=0.8)(inputs))
        model = lib.Model(inputs, outputs)
        model.compile(optimizer="sgd", loss="mse")
        return model
    k, m = build(keras), build(loom)
    m.set_weights(k.get_weights())
    x, y = _data((16, 4)), _data((16, 1), seed=3)
    k.train_on_batch(x, y)
    m.train_on_batch(x, y)
    for kw, lw in zip(k.get_weights(), m.get_weights()):
        np.testing.assert_allclose(kw, lw, atol=1e-5, rtol=1e-5)


def test_batch_norm_frozen_runs_in_inference_mode_as_keras():
    k, layer = _pair({"trainable": False}, (None, 5))
    x = _data((6, 5))
    before = layer.get_weights()
    _close(k(x, training=True), layer(x, training=True))
    _close(k(x, training=False), layer(x, training=True))
    for b, a in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(b, a)
    layer.trainable = True
    assert not torch.allclose(layer(torch.tensor(x), training=True), layer(torch.tensor(x)))


def test_batch_norm_masked_moments_match_keras():
    k, layer = _pair({"momentum": 0.7}, (None, 6, 3))
    x = _data((4, 6, 3))
    mask = np.random.default_rng(2).random((4, 6)) > 0.4
    _close(k(x, training=True, mask=mask), layer(x, training=True, mask=torch.tensor(mask)))
    for kw, lw in zip(k.get_weights(), layer.get_weights()):
        np.testing.assert_allclose(kw, lw, atol=1e-5, rtol=1e-5)


def test_batch_norm_batch_of_one_matches_keras():
    k, layer = _pair({}, (None, 3))
    x = _data((1, 3))
    _close(k(x, training=True), layer(x, training=True))
    for kw, lw in zip(k.get_weights(), layer.get_weights()):
        np.testing.assert_allclose(kw, lw, atol=1e-6)


def _renorm_reference(x, state, gamma, beta, momentum, renorm_momentum, eps, rmax, rmin, dmax):
    """Batch renormalization (Ioffe 2017, Algorithm 1) with Keras's moving-average bookkeeping, in NumPy."""
    mu_b, var_b = x.mean(0), x.var(0)
    sigma_b = np.sqrt(var_b + eps)
    sigma = np.maximum(state["renorm_stddev"], np.sqrt(eps))
    r = np.clip(sigma_b / sigma, rmin, rmax)
    d = np.clip((mu_b - state["renorm_mean"]) / sigma, -dmax, dmax)
    y = gamma * ((x - mu_b) / sigma_b * r + d) + beta
    state["renorm_mean"] = state["renorm_mean"] * renorm_momentum + mu_b * (1 - renorm_momentum)
    state["renorm_stddev"] = state["renorm_stddev"] * renorm_momentum + sigma_b * (1 - renorm_momentum)
    state["moving_mean"] = state["moving_mean"] * momentum + mu_b * (1 - momentum)
    state["moving_stddev"] = state["moving_stddev"] * momentum + sigma_b * (1 - momentum)
    state["moving_variance"] = np.maximum(state["moving_stddev"] ** 2 - eps, 0)
    return y


def test_batch_renorm_matches_the_paper_formulas_and_keras():
    clip = {"rmax": 1.3, "rmin": 0.7, "dmax": 0.4}
    kwargs = {"renorm": True, "renorm_clipping": clip, "momentum": 0.9, "renorm_momentum": 0.8}
    k, layer = _pair(kwargs, (None, 4))
    names = ["gamma", "beta", "moving_mean", "moving_variance", "moving_stddev", "renorm_mean", "renorm_stddev"]
    state = dict(zip(names, layer.get_weights()))
    for step in range(3):
        x = _data((16, 4), seed=10 + step, scale=3.0)
        expected = _renorm_reference(x, state, state["gamma"], state["beta"], 0.9, 0.8, 1e-3, 1.3, 0.7, 0.4)
        y = layer(x, training=True)
        np.testing.assert_allclose(y.detach().numpy(), expected, atol=1e-4, rtol=1e-4)
        _close(k(x, training=True), y)
        for name, value in zip(names, layer.get_weights()):
            np.testing.assert_allclose(value, state[name], atol=1e-5, rtol=1e-5, err_msg=name)
    x = _data((5, 4), seed=20)
    _close(k(x), layer(x))


def test_batch_renorm_gradient_flows_to_gamma_beta_and_inputs():
    layer = loom.layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 2.0})
    x = torch.randn(8, 3, requires_grad=True)
    layer(x, training=True).square().sum().backward()
    assert x.grad is not None and layer.gamma.grad is not None and layer.beta.grad is not None


def test_batch_norm_symbolic_none_dims_and_errors():
    x = loom.Input((None, None, 3))
    assert loom.layers.BatchNormalization()(x).shape == (None, None, None, 3)
    assert loom.layers.BatchNormalization(synchronized=True).get_config()["synchronized"] is True
    with pytest.raises(ConfigError, match="rmax"):
        loom.layers.BatchNormalization(renorm=True, renorm_clipping={"rmax": 0.5, "rmin": 1.0})
    with pytest.raises(ConfigError, match="valid keys"):
        loom.layers.BatchNormalization(renorm=True, renorm_clipping={"r_max": 2})
    with pytest.raises(ShapeError, match="axis 3"):
        loom.layers.BatchNormalization(axis=3)(loom.Input((4, 5)))
    layer = loom.layers.BatchNormalization()
    layer(loom.Input((4,)))
    with pytest.raises(ShapeError, match="axis 1"):
        layer(loom.Input((5,)))


def test_batch_norm_config_round_trip_with_renorm():
    layer = loom.layers.BatchNormalization(axis=1, renorm=True, renorm_clipping={"dmax": 1.0},
                                           gamma_regularizer="l2", beta_constraint="non_neg")
    clone = loom.layers.BatchNormalization.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert layer.get_config()["renorm_clipping"] == {"dmax": 1.0}


# --------------------------------------------------------------------------------- LayerNormalization
@pytest.mark.parametrize("kwargs", [{}, {"axis": [1, 2]}, {"rms_scaling": True}, {"center": False},
                                    {"scale": False, "epsilon": 0.1}])
def test_layer_norm_layer_checks_and_parity(kwargs):
    weights = 2 - (not kwargs.get("center", True)) - (not kwargs.get("scale", True)) - kwargs.get("rms_scaling", 0)
    run_layer_test(loom.layers.LayerNormalization, kwargs, input_shape=(3, 4, 5), expected_output_shape=(3, 4, 5),
                   expected_num_trainable_weights=weights, supports_masking=True,
                   keras_cls=keras.layers.LayerNormalization)


def test_layer_norm_random_weights_parity_and_non_trailing_axis():
    x = _data((3, 4, 5, 6))
    for axis in (-1, [1, 3]):
        k = keras.layers.LayerNormalization(axis=axis)
        k.build(x.shape)
        weights = _random_weights(k)
        k.set_weights(weights)
        layer = loom.layers.LayerNormalization(axis=axis)
        layer(torch.tensor(x))
        layer.set_weights(weights)
        _close(k(x), layer(x))
    # axis=1 alone: Keras's torch fast path rejects it, so compare with the formula itself.
    layer = loom.layers.LayerNormalization(axis=1)
    y = layer(x).detach().numpy()
    expected = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, expected, atol=1e-5)
    assert [w.shape for w in layer.get_weights()] == [(4,), (4,)]


# --------------------------------------------------------------------------------- GroupNormalization
@pytest.mark.parametrize("kwargs,shape", [({"groups": 2}, (3, 5, 4)), ({"groups": 3, "axis": 1}, (2, 6, 4, 4)),
                                          ({"groups": -1}, (2, 3, 3, 4)), ({"groups": 1, "center": False},
                                                                           (2, 4, 6))])
def test_group_norm_layer_checks_and_parity(kwargs, shape):
    result = run_layer_test(loom.layers.GroupNormalization, kwargs, input_shape=shape, expected_output_shape=shape,
                            supports_masking=True, keras_cls=keras.layers.GroupNormalization)
    x = result.inputs.numpy()
    k = result.keras_layer
    weights = _random_weights(k)
    k.set_weights(weights)
    result.layer.set_weights(weights)
    _close(k(x), result.layer(x))


def test_group_norm_errors_and_instance_norm_config():
    with pytest.raises(ConfigError, match="groups"):
        loom.layers.GroupNormalization(groups=0)
    with pytest.raises(ShapeError, match="divide"):
        loom.layers.GroupNormalization(groups=3)(loom.Input((5, 4)))
    layer = loom.layers.GroupNormalization(groups=-1)
    layer(loom.Input((None, 6)))
    assert layer.get_config()["groups"] == 6
