"""loom.ops.core against Keras's core ops (cast, control flow, scatter, slice, rearrange, ...)."""

import numpy as np
import pytest
import torch

from loom.errors import ConfigError, ShapeError
from loom.ops import core, image, linalg, math, nn
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

K = keras.ops
RNG = np.random.default_rng(3)
X = RNG.normal(size=(3, 4)).astype("float32")


def _same(got, want, rel=1e-6):
    got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    want = tuple(want) if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
        assert_allclose_scaled(g.detach().numpy(), w.detach().numpy(), rel=rel)


@pytest.mark.parametrize("x,dtype", [(X * 100, "int32"), (X, "float16"), (np.array([1, 0, 2]), "bool"),
                                     (np.array([-1, 256, 3], "int32"), "uint8"),
                                     (np.array([1.5, -2.5], "float32"), "int64")])
def test_cast_and_saturate_cast(x, dtype):
    _same(core.cast(x, dtype), K.cast(x, dtype))
    _same(core.saturate_cast(x, dtype), K.saturate_cast(x, dtype))


def test_saturate_cast_float_to_int_bounds():
    x = np.array([-1e12, 1e12, 3.7], "float32")
    for dtype in ("uint8", "int8"):
        _same(core.saturate_cast(x, dtype), K.saturate_cast(x, dtype))
    # Keras on torch wraps 1e12 around to int32's minimum; loom saturates at the largest float32 below 2**31
    assert core.saturate_cast(x, "int32").tolist() == [-2**31, 2**31 - 128, 3]


def test_introspection():
    t = core.convert_to_tensor([[1, 2, 3]])
    assert core.shape(t) == K.shape(K.convert_to_tensor([[1, 2, 3]])) == (1, 3)
    assert core.dtype(t) == K.dtype(K.convert_to_tensor([[1, 2, 3]])) == "int32"
    assert core.is_tensor(t) and not core.is_tensor(np.ones(2)) and not K.is_tensor(np.ones(2))
    np.testing.assert_array_equal(core.convert_to_numpy(t), [[1, 2, 3]])
    x = torch.ones(2, requires_grad=True)
    assert not core.stop_gradient(x).requires_grad
    parts = core.unstack(X, axis=1)
    assert len(parts) == 4 and all(isinstance(p, torch.Tensor) for p in parts)
    _same(parts, K.unstack(torch.tensor(X), axis=1))
    with pytest.raises(ShapeError, match="unstack"):
        core.unstack(X, num=3, axis=1)


def test_control_flow():
    assert core.cond(torch.tensor(True), lambda: 1, lambda: 2) == 1
    assert core.switch(5, [lambda v: v + 1, lambda v: v * 10], 3) == K.switch(5, [lambda v: v + 1, lambda v: v * 10], 3)
    assert core.switch(-1, [lambda v: v + 1, lambda v: v * 10], 3) == 4
    got = core.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), (0, 0))
    assert tuple(int(v) for v in got) == tuple(int(v) for v in K.while_loop(lambda i, s: i < 5,
                                                                             lambda i, s: (i + 1, s + i), (0, 0)))
    assert core.while_loop(lambda i: i < 10, lambda i: i + 3, 0, maximum_iterations=2) == 6
    assert core.fori_loop(1, 4, lambda i, v: v * i, 1) == 6


def test_scan_map_and_associative_scan():
    xs = torch.tensor(X)

    def step(carry, x):
        carry = carry + x
        return carry, carry * 2

    for reverse in (False, True):
        _same(core.scan(step, torch.zeros(4), xs, reverse=reverse), K.scan(step, torch.zeros(4), xs, reverse=reverse))
    carry, ys = core.scan(lambda c, _: (c + 1, None), 0, length=3)
    assert carry == 3 and ys is None
    _same(core.map(lambda v: v.sum(), xs), K.map(lambda v: v.sum(), xs))
    got = core.map(lambda d: {"a": d["a"] * 2}, {"a": xs})
    _same(got["a"], xs * 2)
    for axis, reverse in ((0, False), (1, True)):
        _same(core.associative_scan(torch.add, xs, reverse, axis), K.associative_scan(torch.add, xs, reverse, axis))
    mats = torch.tensor(RNG.normal(size=(4, 2, 2)).astype("float32"))  # associative, not commutative
    for reverse in (False, True):
        _same(core.associative_scan(torch.matmul, mats, reverse), K.associative_scan(torch.matmul, mats, reverse),
              rel=1e-5)
    pair = core.associative_scan(lambda a, b: (a[0] + b[0], a[1] * b[1]), (xs, xs))
    _same(pair, (torch.cumsum(xs, 0), torch.cumprod(xs, 0)))
    _same(core.vectorized_map(lambda v: v * v.sum(), xs), K.vectorized_map(lambda v: v * v.sum(), xs))
    _same(core.vectorized_map(lambda v: v * 2 if float(v.sum()) > 0 else -v, xs),  # vmap cannot: a Python loop
          torch.stack([v * 2 if float(v.sum()) > 0 else -v for v in xs]))


def test_gradients_through_loops():
    w = torch.tensor(2.0, requires_grad=True)
    out = core.fori_loop(0, 3, lambda i, v: v * w, torch.tensor(1.0))
    out.backward()
    assert w.grad.item() == pytest.approx(12.0)


def test_scatter_and_slices():
    idx = np.array([[0, 1], [2, 3], [0, 1]], "int32")
    vals = np.array([1.0, 2.0, 3.0], "float32")
    _same(core.scatter(idx, vals, (3, 4)), K.scatter(idx, vals, (3, 4)))
    _same(core.scatter(idx[:, :1], np.ones((3, 4), "float32"), (3, 4)),
          K.scatter(idx[:, :1], np.ones((3, 4), "float32"), (3, 4)))
    for reduction in (None, "add", "max", "min", "mul"):
        _same(core.scatter_update(X, idx[:2], vals[:2], reduction), K.scatter_update(X, idx[:2], vals[:2], reduction))
    _same(core.scatter_update(X, idx[:2, :1], np.zeros((2, 4), "float32")),
          K.scatter_update(X, idx[:2, :1], np.zeros((2, 4), "float32")))
    _same(core.slice(X, (1, 2), (2, 2)), K.slice(X, (1, 2), (2, 2)))
    upd = np.ones((2, 2), "float32")
    _same(core.slice_update(X, (1, 1), upd), K.slice_update(X, (1, 1), upd))
    with pytest.raises(ShapeError, match="slice_update"):
        core.slice_update(X, (2, 3), upd)
    with pytest.raises(ShapeError, match="scatter"):
        core.scatter(np.array([0, 1]), vals[:2], (3,))
    with pytest.raises(ConfigError, match="reduction"):
        core.scatter_update(X, idx, vals, "sum")


def test_custom_gradient_matches_keras():
    def make(ops):
        @ops.custom_gradient
        def log1pexp(x):
            e = torch.exp(x)

            def grad(*args, upstream=None):
                if upstream is None:
                    (upstream,) = args
                return upstream * (1.0 - 1.0 / (1 + e))
            return torch.log(1 + e), grad
        return log1pexp

    a, b = torch.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    make(core)(a).sum().backward()
    make(K)(b).sum().backward()
    _same(a.grad, b.grad)

    @core.custom_gradient
    def scaled(x, y, factor=1.0):
        return x * y * factor, lambda up: (up * 10, up * 20)

    x, y = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    scaled(x, y, factor=3.0).sum().backward()
    assert x.grad.tolist() == [10.0, 10.0] and y.grad.tolist() == [20.0, 20.0]


@pytest.mark.parametrize("pattern,lengths", [("b h w -> b (h w)", {}), ("b (h w) -> h w b", {"h": 2}),
                                             ("a b c -> c a b", {}), ("(a b) c d -> a (b c) d", {"a": 2})])
def test_rearrange(pattern, lengths):
    x = np.arange(4 * 4 * 3).reshape(4, 4, 3).astype("float32")
    x = x if pattern.count(" ") > 5 or not pattern.startswith("b (") else x.reshape(4, 12)
    x = x.reshape(4, 12) if pattern.startswith("b (") else x
    _same(core.rearrange(x, pattern, **lengths), K.rearrange(x, pattern, **lengths))


def test_rearrange_errors():
    with pytest.raises(ConfigError, match="rearrange"):
        core.rearrange(X, "a b -> a c")
    with pytest.raises(ShapeError, match="rearrange"):
        core.rearrange(X, "a b c -> a b c")
    with pytest.raises(ConfigError, match="infer"):
        core.rearrange(X, "a (b c) -> a b c")


def test_every_top_level_keras_name_exists():
    subs = {n for m in ("numpy", "nn", "linalg", "image") for n in dir(getattr(K, m)) if not n.startswith("_")}
    rest = {n for n in dir(K) if not n.startswith("_") and n not in subs} - {"numpy", "nn", "linalg", "image"}
    ours = set(core.__all__) | set(math.__all__)
    assert rest <= ours, rest - ours
    for mod, keras_mod in ((nn, K.nn), (linalg, K.linalg), (image, K.image)):
        assert {n for n in dir(keras_mod) if not n.startswith("_")} <= set(mod.__all__)


def test_ops_on_functional_placeholders_build_graph_layers():
    import loom

    data = RNG.normal(size=(2, 6, 6, 3)).astype("float32")
    kernel = RNG.normal(size=(3, 3, 3, 4)).astype("float32")
    x = loom.Input((6, 6, 3))
    y = nn.relu(nn.conv(x, kernel, padding="same"))
    y = core.rearrange(core.cast(y, "float64"), "b h w c -> b c (h w)")
    z = image.resize(x, (3, 3))
    model = loom.Model(x, [y, z, core.unstack(y, axis=1)[0]])
    got = model.predict(data, verbose=0)
    want_y = core.cast(nn.relu(nn.conv(data, kernel, padding="same")), "float64")
    want_y = core.rearrange(want_y, "b h w c -> b c (h w)")
    np.testing.assert_allclose(got[0], want_y.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], image.resize(data, (3, 3)).numpy(), rtol=1e-6)
    np.testing.assert_allclose(got[2], want_y[:, 0].numpy(), rtol=1e-5, atol=1e-6)


def _params(fn):
    import inspect

    return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]


def test_signatures_match_keras():
    from loom import random

    pairs = [(nn, K.nn), (linalg, K.linalg), (image, K.image), (random, keras.random)]
    for ours, theirs in pairs:
        for name in (n for n in dir(theirs) if not n.startswith("_")):
            assert _params(getattr(ours, name)) == _params(getattr(theirs, name)), (ours.__name__, name)
    for name in set(core.__all__) | set(math.__all__):
        ours = getattr(core, name, None) or getattr(math, name)
        assert _params(ours) == _params(getattr(K, name)), name
