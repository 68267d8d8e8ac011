"""Shape, layout and creation ops of ``loom.ops.numpy`` against ``keras.ops.numpy``."""

import numpy as np
import pytest
import torch

from loom.ops import numpy as lnp
from tests.ops.numpy_oracle import X, assert_same, check, check_grad

C = X["cube"]

CASES = [
    ("reshape", (C, (4, -1)), {}), ("reshape", (C, 24), {}), ("transpose", (C,), {}),
    ("transpose", (C, (1, 0, 2)), {}), ("transpose", (C, (-1, 0, 1)), {}), ("swapaxes", (C, 0, -1), {}),
    ("moveaxis", (C, 0, -1), {}), ("moveaxis", (C, (0, 1), (-1, -2)), {}), ("expand_dims", (C, -1), {}),
    ("expand_dims", (C, (0, 2)), {}), ("squeeze", (X["row"],), {}), ("squeeze", (X["row"], 0), {}),
    ("ravel", (C,), {}), ("flip", (C,), {}), ("flip", (C, -1), {}), ("flip", (C, (0, 2)), {}),
    ("fliplr", (C,), {}), ("flipud", (C,), {}), ("rot90", (C,), {}), ("rot90", (C, 3, (1, 2)), {}),
    ("rot90", (C, -1, (-1, 0)), {}), ("roll", (C, 2), {}), ("roll", (C, -1, 1), {}),
    ("roll", (C, (1, 2), (0, 2)), {}), ("tile", (X["n"], 2), {}), ("tile", (X["n"], (2, 1, 2)), {}),
    ("repeat", (X["n"], 2), {}), ("repeat", (X["n"], 2, -1), {}),
    ("concatenate", ([X["n"], X["p"]],), {}), ("concatenate", ([X["n"], X["p"]], -1), {}),
    ("stack", ([X["n"], X["p"]],), {}),
    ("stack", ([X["n"], X["p"]], -1), {}), ("hstack", ([X["n"], X["p"]],), {}), ("vstack", ([X["n"], X["p"]],), {}),
    ("dstack", ([X["n"], X["p"]],), {}), ("hstack", ([X["n3"], X["n3"]],), {}), ("vstack", ([X["n3"], X["n3"]],), {}),
    ("append", (X["n"], X["p"]), {}), ("append", (X["n"], X["i"], 0), {}),
    ("split", (C, 2), {}), ("split", (C, [1, 3], -1), {}), ("split", (C, 3, 1), {}),
    ("array_split", (C, 3, -1), {}), ("hsplit", (C, 3), {}),
    ("vsplit", (C, 2), {}), ("dsplit", (C, [1, 2]), {}), ("hsplit", (X["v"], 2), {}),
    ("broadcast_to", (X["n3"], (2, 2, 3)), {}), ("broadcast_to", (X["row"], (4, 3)), {}),
    ("pad", (X["n"], ((1, 2), (0, 1))), {}), ("pad", (X["n"], ((1, 1), (2, 0))), {"constant_values": 7.0}),
    ("pad", (X["i"], ((1, 1), (1, 1))), {}), ("take", (C, np.array([2, 0]), 1), {}),
    ("take", (C, np.array([-1, 0, 3]), -1), {}), ("take", (X["n"], np.array([1, 0, 1]), 0), {}),
    ("take_along_axis", (C, np.argsort(C, axis=-1), -1), {}), ("take_along_axis", (C, np.zeros((1, 3, 4), int), 0),
                                                            {}),
    ("take_along_axis", (X["n3"], np.array([2, 0, -1]), None), {}),
    ("get_item", (C, 1), {}), ("get_item", (C, (slice(None), 1)), {}), ("get_item", (C, (Ellipsis, -1)), {}),
    ("view", (X["n"], "int32"), {}), ("view", (X["i"], "float32"), {}), ("view", (X["i"], "uint8"), {}),
    ("diag", (X["sq"],), {}), ("diag", (X["n3"], 1), {}), ("diag", (X["sq"], -1), {}), ("diagflat", (X["n"],), {}),
    ("diagflat", (X["n3"], -1), {}), ("diagonal", (C,), {}), ("diagonal", (C, 1, -1, 1), {}),
    ("tril", (C,), {}), ("tril", (X["sq"], -1), {}), ("triu", (X["sq"], 1), {}), ("triu", (C,), {}),
    ("meshgrid", (X["n3"], X["v"]), {}), ("meshgrid", (X["n3"], X["v"]), {"indexing": "ij"}),
]
# Keras's torch backend fails or departs from NumPy on these (unsupported pad modes, list repeats, flat negative
# `take` indices wrapped by the first axis...): NumPy is the oracle.
NUMPY_CASES = [
    ("repeat", (X["n"], [1, 3], 0), {}), ("concatenate", ([X["n"], X["i"]], None), {}),
    ("array_split", (C, [1], 0), {}), ("pad", (X["n"], ((1, 1), (2, 2))), {"mode": "reflect"}),
    ("pad", (X["n"], ((1, 0), (2, 1))), {"mode": "edge"}), ("pad", (X["n"], ((1, 1), (3, 2))), {"mode": "wrap"}),
    ("pad", (C, ((0, 0), (1, 1), (1, 2))), {"mode": "reflect"}), ("pad", (X["i"], ((1, 1), (1, 1))), {"mode": "edge"}),
    ("pad", (X["n3"], 2), {"mode": "symmetric"}), ("pad", (X["n"], (1, 2)), {"mode": "edge"}),
    ("pad", (X["n"], ((2, 1),)), {"mode": "wrap"}), ("pad", (C, 1), {}), ("take", (C, np.array([[0, 2], [1, -1]])), {}),
]
GRAD = {"reshape", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze", "ravel", "flip", "rot90", "roll",
        "tile", "repeat", "concatenate", "stack", "append", "broadcast_to", "pad", "take", "take_along_axis",
        "get_item", "diag", "diagonal", "tril", "triu", "split"}


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_shape_ops(name, args, kwargs):
    check(name, *args, **kwargs)
    if name in GRAD and not isinstance(args[0], list):
        check_grad(name, *args, **kwargs)


@pytest.mark.parametrize("name,args,kwargs", NUMPY_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(NUMPY_CASES)])
def test_shape_ops_against_numpy(name, args, kwargs):
    got, want = getattr(lnp, name)(*args, **kwargs), getattr(np, name)(*args, **kwargs)
    for g, w in zip(got if isinstance(got, list) else [got], want if isinstance(want, list) else [want]):
        assert tuple(g.shape) == w.shape
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-6)


@pytest.mark.parametrize("kind", ["i", "b", "u8", "i64", "f64"])
def test_shape_ops_keep_dtype(kind):
    for name, args in (("transpose", ()), ("flip", (0,)), ("tile", (2,)), ("ravel", ()), ("squeeze", ()),
                       ("pad", (((1, 0), (0, 1)),)), ("repeat", (2,)), ("roll", (1,))):
        check(name, X[kind], *args)
    check("concatenate", [X[kind], X["i"]])
    check("stack", [X[kind], X["b"]])


def test_pad_symmetric_follows_numpy():
    """Keras's torch backend pads 'symmetric' as 'edge'; loom follows NumPy (and Keras's docs)."""
    for width in (((1, 2), (2, 1)), ((0, 0), (3, 3))):
        got = lnp.pad(X["n"], width, mode="symmetric")
        np.testing.assert_array_equal(got.numpy(), np.pad(X["n"], width, mode="symmetric"))


def test_ndim_and_size():
    assert lnp.ndim(C) == 3
    check("size", C)


@pytest.mark.parametrize("name,args,kwargs", [
    ("arange", (5,), {}), ("arange", (1, 7, 2), {}), ("arange", (0.5, 3), {}), ("arange", (3, 0, -1), {}),
    ("arange", (0, 5), {"dtype": "int64"}), ("arange", (0, 1, 0.25), {"dtype": "float64"}),
    ("zeros", ((2, 3),), {}), ("zeros", (3,), {"dtype": "int32"}), ("ones", ((2,),), {"dtype": "bool"}),
    ("ones", ((1, 2),), {}), ("full", ((2, 3), 4), {}), ("full", ((2, 3), 4, "int32"), {}),
    ("full", ((2, 3), np.arange(3)), {}), ("full_like", (X["i"], 2.5), {}), ("full_like", (X["n"], 2, "int8"), {}),
    ("zeros_like", (X["i"],), {}), ("ones_like", (X["n"], "float16"), {}), ("eye", (3,), {}),
    ("eye", (2, 4, 1), {}), ("eye", (4, 3, -2, "int32"), {}), ("identity", (3,), {}), ("identity", (2, "int32"), {}),
    ("tri", (3,), {}), ("tri", (3, 4, 1), {}), ("tri", (3, 2, -1, "int32"), {}),
    ("linspace", (0, 1, 5), {}), ("linspace", (0, 10, 5), {"dtype": "int32"}), ("linspace", (2, 3, 4, False), {}),
    ("linspace", (0.0, 1.0, 5), {"retstep": True}), ("linspace", (np.zeros(2), np.ones(2), 3), {}),
    ("logspace", (0, 2, 3), {}), ("logspace", (0, 3, 4), {"base": 2, "endpoint": False}),
    ("geomspace", (1, 100, 3), {}), ("geomspace", (2.0, 32.0, 5), {}), ("geomspace", (1, 8, 3, False), {}),
    ("bartlett", (5,), {}), ("blackman", (6,), {}), ("hamming", (5,), {}), ("hanning", (4,), {}),
    ("kaiser", (5, 2.0), {}), ("bartlett", (1,), {}), ("vander", (X["i3"],), {}),
    ("vander", (X["n3"], 4, True), {}), ("array", ([1, 2],), {}), ("array", (X["n"], "float16"), {}),
    ("array", ([[1.0, 2]],), {}),
])
def test_creation(name, args, kwargs):
    check(name, *args, **kwargs)


def test_empty_shapes_and_dtypes():
    for got, want_shape, want_dtype in ((lnp.empty((2, 3)), (2, 3), torch.float32),
                                        (lnp.empty_like(X["i"]), (2, 3), torch.int32),
                                        (lnp.empty_like(X["i"], "float16"), (2, 3), torch.float16)):
        assert tuple(got.shape) == want_shape and got.dtype == want_dtype


def test_results_follow_input_device():
    """Device follows the inputs (a meta tensor stands in for an accelerator on CPU-only machines)."""
    x = torch.empty(2, 3, device="meta")
    for out in (lnp.add(x, 1.0), lnp.sum(x, axis=0), lnp.transpose(x), lnp.where(x > 0, x, 0.0),
                lnp.concatenate([x, x]), lnp.take(x, [0, 1], axis=1), lnp.full_like(x, 2.0), lnp.maximum(x, 0)):
        assert out.device.type == "meta"


def test_split_list_of_tensors_gradient():
    a = torch.tensor(C, requires_grad=True)
    parts = lnp.split(a, [1, 3], axis=-1)
    sum(p.sum() * (i + 1) for i, p in enumerate(parts)).backward()
    assert_same(a.grad, torch.tensor(np.broadcast_to(np.array([1, 2, 2, 3], "float32"), C.shape).copy()))
