"""loom.quantizers against keras.quantizers: same quantized values, scales, packing, gradients, configs."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

Q, KQ = loom.quantizers, keras.quantizers
RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 10)).astype("float32")


def _np(value):
    return np.asarray(keras.ops.convert_to_numpy(value)) if not isinstance(value, torch.Tensor) else \
        value.detach().numpy()


@pytest.mark.parametrize("axis", [-1, 0, (0, 1)])
def test_abs_max_quantize(axis):
    for ours, theirs in zip(Q.abs_max_quantize(X, axis), KQ.abs_max_quantize(X, axis)):
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-6)
        assert _np(ours).dtype == _np(theirs).dtype


def test_abs_max_quantizer_and_its_config():
    ours, theirs = Q.AbsMaxQuantizer(axis=-1, value_range=(-100, 100)), KQ.AbsMaxQuantizer(axis=-1, value_range=(-100, 100))
    for a, b in zip(ours(X), theirs(X)):
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-6)
    assert ours.get_config() == theirs.get_config()
    assert Q.serialize(ours) == KQ.serialize(theirs)
    assert Q.deserialize(KQ.serialize(theirs)).get_config() == theirs.get_config()
    with pytest.raises(ConfigError, match="value_range"):
        Q.AbsMaxQuantizer(value_range=(-300, 300))


@pytest.mark.parametrize("rows,block", [(12, 4), (10, 4), (7, 8)])
def test_grouped_quantize_with_zero_point(rows, block):
    x = RNG.normal(size=(rows, 5)).astype("float32")
    for ours, theirs in zip(Q.abs_max_quantize_grouped_with_zero_point(x, block),
                            KQ.abs_max_quantize_grouped_with_zero_point(x, block)):
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-5, atol=1e-6)
        assert _np(ours).shape == _np(theirs).shape


@pytest.mark.parametrize("axis,length", [(0, 5), (1, 4), (-1, 3)])
def test_int4_packing_round_trips_as_keras(axis, length):
    shape = [4, 4]
    shape[axis] = length
    values = RNG.integers(-8, 8, size=shape).astype("int8")
    ours, shape_ours, n_ours = Q.pack_int4(values, axis=axis)
    theirs, shape_theirs, n_theirs = KQ.pack_int4(values, axis=axis)
    np.testing.assert_array_equal(_np(ours), _np(theirs))
    assert (shape_ours, n_ours) == (shape_theirs, n_theirs)
    np.testing.assert_array_equal(_np(Q.unpack_int4(ours, n_ours, axis=axis)), values)
    with pytest.raises(InputError, match="int8"):
        Q.pack_int4(values.astype("int32"))


@pytest.mark.parametrize("axis,narrow", [(None, False), (None, True), (1, False)])
def test_fake_quant_values_and_gradients(axis, narrow):
    low = np.float32(-1.0) if axis is None else np.linspace(-1, -0.5, 10).astype("float32")
    high = np.float32(1.5) if axis is None else np.linspace(0.5, 2.0, 10).astype("float32")
    x = torch.tensor(X * 1.2, requires_grad=True)
    lo, hi = torch.tensor(low, requires_grad=True), torch.tensor(high, requires_grad=True)
    out = Q.fake_quant_with_min_max_vars(x, lo, hi, num_bits=4, narrow_range=narrow, axis=axis)
    (out * torch.arange(10.0)).sum().backward()
    xk = torch.tensor(X * 1.2, requires_grad=True)
    lok, hik = torch.tensor(low, requires_grad=True), torch.tensor(high, requires_grad=True)
    outk = KQ.fake_quant_with_min_max_vars(xk, lok, hik, num_bits=4, narrow_range=narrow, axis=axis)
    (outk * torch.arange(10.0)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), _np(outk), rtol=1e-5, atol=1e-6)
    for ours, theirs in ((x, xk), (lo, lok), (hi, hik)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("axis", [None, 1])
def test_fake_quant_gradients_under_func_grad_and_torch_compile(axis):
    # a jit_compile=True train step differentiates with torch.func.grad inside torch.compile
    low = torch.tensor(-1.0) if axis is None else torch.linspace(-1, -0.5, 10)
    high = torch.tensor(1.5) if axis is None else torch.linspace(0.5, 2.0, 10)
    x = torch.tensor(X * 1.2)

    def loss(x, low, high):
        return (Q.fake_quant_with_min_max_vars(x, low, high, num_bits=4, axis=axis) * torch.arange(10.0)).sum()
    grads = torch.func.grad(loss, argnums=(0, 1, 2))
    leaves = [t.clone().requires_grad_() for t in (x, low, high)]
    loss(*leaves).backward()
    for ours in (grads(x, low, high), torch.compile(grads, fullgraph=True)(x, low, high)):
        for got, leaf in zip(ours, leaves):
            np.testing.assert_allclose(got.numpy(), leaf.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert all(leaf.grad.abs().sum() > 0 for leaf in leaves)


def test_float8_helpers():
    amax, scale = np.array([4.0, 0.0, np.inf], "float32"), np.array([2.0, 2.0, 2.0], "float32")
    np.testing.assert_allclose(_np(Q.compute_float8_scale(amax, scale, np.float32(448.0), margin=1)),
                               _np(KQ.compute_float8_scale(amax, scale, np.float32(448.0), margin=1)))
    history = np.array([1.0, 2.0, 3.0, 4.0], "float32")
    np.testing.assert_array_equal(_np(Q.compute_float8_amax_history(X, history)),
                                  _np(KQ.compute_float8_amax_history(X, history)))
    for dtype in ("float8_e4m3fn", "float8_e5m2"):
        np.testing.assert_allclose(_np(Q.quantize_and_dequantize(X * 100, np.float32(0.5), dtype, "float32")),
                                   _np(KQ.quantize_and_dequantize(X * 100, np.float32(0.5), dtype, "float32")))
    with pytest.raises(ConfigError, match="float8"):
        Q.quantize_and_dequantize(X, 1.0, "int8", "float32")


def test_configs_match_keras():
    pairs = [(Q.Int8QuantizationConfig(), KQ.Int8QuantizationConfig()),
             (Q.Int4QuantizationConfig(block_size=64), KQ.Int4QuantizationConfig(block_size=64)),
             (Q.Float8QuantizationConfig(), KQ.Float8QuantizationConfig()),
             (Q.GPTQConfig(None, None, weight_bits=3), KQ.GPTQConfig(None, None, weight_bits=3)),
             (Q.AWQConfig(None, None), KQ.AWQConfig(None, None))]
    for ours, theirs in pairs:
        assert ours.mode == theirs.mode
        assert ours.get_config() == theirs.get_config(), type(ours).__name__
    assert pairs[3][0].dtype_policy_string() == pairs[3][1].dtype_policy_string()
    with pytest.raises(ConfigError, match="block_size"):
        Q.Int4QuantizationConfig(block_size=0)
    assert loom.Quantizer is Q.Quantizer
