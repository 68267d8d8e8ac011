"""BatchNormalization's and max pooling's ATen kernels as operators in compiled steps on the CPU: the same
values and gradients as ``F.batch_norm`` and ``F.max_pool2d``, and used by ``jit_compile=True`` training."""

import pytest

import numpy as np
import torch
import torch.nn.functional as F

import loom
from loom.layers import opaque_kernels
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def test_values_and_gradients_match_torch_batch_norm():
    torch.manual_seed(0)
    x = torch.randn(64, 5) * 2 + 0.5
    weight, bias = torch.rand(5) + 0.5, torch.randn(5)
    upstream = torch.randn(64, 5)

    def ours(x, weight, bias):
        out, *_ = opaque_kernels._BatchNormTrain.apply(x, weight, bias, 1e-3)
        return (out * upstream).sum()

    def reference(x, weight, bias):
        return (F.batch_norm(x, None, None, weight, bias, True, 0.0, 1e-3) * upstream).sum()
    for mine, theirs in zip(torch.func.grad(ours, argnums=(0, 1, 2))(x, weight, bias),
                            torch.func.grad(reference, argnums=(0, 1, 2))(x, weight, bias)):
        assert_allclose_scaled(mine, theirs, rel=1e-5)
    assert_allclose_scaled(ours(x, weight, bias), reference(x, weight, bias), rel=1e-6)


@pytest.mark.parametrize("kernel, stride, padding", [(2, 2, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0))])
def test_max_pool_values_and_gradients_match_torch(kernel, stride, padding):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 7, 8).contiguous(memory_format=torch.channels_last)
    upstream = torch.randn_like(F.max_pool2d(x, kernel, stride, padding))
    pair = torch.nn.modules.utils._pair

    def ours(x):
        window = [list(pair(v)) for v in (kernel, stride, padding)]
        return (opaque_kernels._MaxPool2d.apply(x, *window)[0] * upstream).sum()

    def reference(x):
        return (F.max_pool2d(x, kernel, stride, padding) * upstream).sum()
    assert torch.equal(torch.func.grad(ours)(x), torch.func.grad(reference)(x))
    assert ours(x) == reference(x)


def _cases():
    torch.manual_seed(0)
    x4 = torch.randn(4, 3, 6, 6).contiguous(memory_format=torch.channels_last)
    up = torch.randn(24, 5)

    def bn(ws):
        return (opaque_kernels.batch_norm(ws[0], None, None, ws[1], ws[2], True, 0.1, 1e-3) * up).sum()

    def pool(ws):
        return (opaque_kernels.max_pool2d(ws[0], 2, 2) ** 2).sum()
    tokens = torch.tensor([[1, 2, 2, 7], [0, 7, 7, 7]])

    def embed(ws):
        return (opaque_kernels.embedding(tokens, ws[0]) * torch.arange(3.0)).sum()

    def lstm(ws):
        x, h, c, *params = ws
        sequence, h_last, c_last = opaque_kernels.fused_rnn(torch.lstm, x, (h, c), params, True, False)
        return (sequence * torch.linspace(-1, 1, 4)).sum() + h_last.sum() + 2 * c_last.sum()
    units, features = 4, 3
    return {
        "batch_norm": (bn, [torch.randn(24, 5) * 2 + 1, torch.rand(5) + 0.5, torch.randn(5)], "loom::batch_norm_train_backward"),
        "max_pool2d": (pool, [x4], "loom::max_pool2d_backward"),
        "embedding": (embed, [torch.randn(8, 3)], "loom::embedding_backward"),
        "lstm": (lstm, [torch.randn(2, 5, features), torch.randn(1, 2, units), torch.randn(1, 2, units),
                        torch.randn(4 * units, features), torch.randn(4 * units, units), torch.randn(4 * units),
                        torch.randn(4 * units)], "loom::fused_rnn_backward"),
    }


@pytest.mark.parametrize("case", ["batch_norm", "max_pool2d", "embedding", "lstm"])
def test_compiled_gradients_reach_every_input_and_match_eager(case):
    # The inputs are the very tensors torch.func.grad differentiates, as a compiled train step's weights are:
    # torch.compile once dropped their gradients silently (see _torch_compat.function_input).
    loss, inputs, operator = _cases()[case]
    expected = torch.func.grad(loss)(inputs)  # eager: the F functions
    compiled = torch.compile(lambda ws: torch.func.grad(loss)(ws), fullgraph=True)
    got = compiled(inputs)
    with torch.profiler.profile() as profile:
        compiled(inputs)
    assert operator in {event.key for event in profile.key_averages()}
    for mine, theirs in zip(got, expected):
        assert float(theirs.abs().max()) > 0
        assert_allclose_scaled(mine, theirs, rel=1e-5)


def test_only_compiled_cpu_training_in_float32_uses_it():
    x = torch.randn(8, 3)
    assert not opaque_kernels.applies(x, training=True)  # eager
    calls = []
    seen = torch.compile(lambda t: calls.append(opaque_kernels.applies(t, True)) or t * 2, fullgraph=False)
    seen(x)
    assert calls == [True]


def convnet():
    inputs = loom.Input((6, 6, 2))
    x = loom.layers.Conv2D(3, 3, use_bias=False)(inputs)
    x = loom.layers.Activation("relu")(loom.layers.BatchNormalization()(x))
    x = loom.layers.MaxPooling2D(2)(x)
    x = loom.layers.BatchNormalization(center=False, scale=False)(loom.layers.GlobalAveragePooling2D()(x))
    return loom.Model(inputs, loom.layers.Dense(2, activation="softmax")(x))


def test_compiled_training_calls_the_operator_and_trains_as_eager():
    rng = np.random.default_rng(0)
    x, y = rng.random((24, 6, 6, 2), dtype=np.float32), rng.integers(0, 2, 24)
    trained = {}
    for jit in (True, False):
        loom.utils.set_random_seed(1)
        model = convnet()
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", jit_compile=jit)
        history = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        with torch.profiler.profile() as profile:
            more = model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        ops = {event.key: event.count for event in profile.key_averages()}
        trained[jit] = (history.history["loss"] + more.history["loss"], model.get_weights())
        if jit:  # each of the 3 steps calls the operators of both normalizations and of the pooling
            assert ops.get("loom::batch_norm_train") == ops.get("loom::batch_norm_train_backward") == 3 * 2
            assert ops.get("loom::max_pool2d") == ops.get("loom::max_pool2d_backward") == 3
        else:
            assert "loom::batch_norm_train" not in ops and "loom::max_pool2d" not in ops
    assert_allclose_scaled(trained[True][0], trained[False][0], rel=1e-4)
    assert_weights_close(trained[True][1], trained[False][1], rel=1e-4)  # moving statistics included
