"""Products, diagonals, differences, sorting and selection ops of ``loom.ops.numpy`` against Keras."""

import numpy as np
import pytest
import torch

from loom.ops import numpy as lnp
from tests.ops.numpy_oracle import X, check, check_grad

C, SQ, V = X["cube"], X["sq"], X["n3"]
M23, M34 = X["n"], np.random.default_rng(1).normal(size=(3, 4)).astype("float32")

PRODUCTS = [
    ("matmul", (M23, M34), {}), ("matmul", (C, M34.T), {}), ("matmul", (V, M34), {}), ("matmul", (M23, V), {}),
    ("matmul", (X["i"], X["i"].T), {}), ("matmul", (X["i"], M34), {}), ("matmul", (X["b"], X["b"].T), {}),
    ("dot", (M23, M34), {}), ("dot", (V, V), {}), ("dot", (M23, 2.0), {}), ("dot", (C, M34.T.copy()), {}),
    ("dot", (X["i"], X["i3"]), {}), ("tensordot", (C, M34.T[:4, :3].T.copy()), {"axes": 0}),
    ("tensordot", (M23, M34), {"axes": 1}), ("tensordot", (C, C), {"axes": ([1, 2], [1, 2])}),
    ("tensordot", (C, M34), {"axes": (1, 0)}), ("tensordot", (C, np.ones((3, 4, 2), "float32")), {}),
    ("inner", (M23, M23), {}),
    ("inner", (V, V), {}), ("inner", (X["i"], X["i"]), {}), ("vdot", (V, X["n3"] * 2), {}),
    ("outer", (V, X["v"]), {}), ("outer", (M23, V), {}), ("outer", (X["i"], X["b"]), {}), ("kron", (M23, SQ), {}),
    ("kron", (X["i"], X["ip"]), {}), ("cross", (M23, X["p"]), {}), ("cross", (X["n"], V[None]), {}),
    ("cross", (X["i"], X["ip"]), {}), ("einsum", ("ij,jk->ik", M23, M34), {}), ("einsum", ("bij->bji", C), {}),
    ("einsum", ("i,i->", V, V), {}), ("einsum", ("ij,ij->i", X["i"], X["ip"]), {}),
    ("correlate", (X["v"], V), {}), ("correlate", (X["v"], V), {"mode": "same"}),
    ("correlate", (X["v"], V), {"mode": "full"}), ("correlate", (X["i3"], X["i3"][:2]), {}),
    ("slogdet", (SQ,), {}), ("slogdet", (np.stack([SQ, SQ.T]),), {}), ("trace", (SQ,), {}),
    ("trace", (C, 1, -1, 1), {}), ("trace", (X["i"],), {}), ("trace", (X["b"],), {}), ("diff", (C,), {}),
    ("diff", (C, 2, 0), {}), ("diff", (X["i"], 1, -1), {}), ("diff", (X["b"],), {}), ("corrcoef", (M34,), {}),
    ("corrcoef", (X["i"],), {}), ("trapezoid", (C,), {}), ("trapezoid", (C, None, 0.5, 1), {}),
    ("trapezoid", (M23, np.array([0.0, 1.0, 3.0], "float32")), {}), ("trapezoid", (X["i"],), {}),
]
NO_GRAD = {"slogdet"}

# Keras's torch backend fails or departs from NumPy here (vdot of matrices, cross broadcasting, a squeezed
# length-1 correlation, 2-D bincount without minlength): NumPy is the oracle.
NUMPY_CASES = [
    ("vdot", (M23, X["p"])), ("cross", (V, M23)), ("cross", (M23[:, :2], V)), ("correlate", (V, V)),
]


@pytest.mark.parametrize("name,args", NUMPY_CASES, ids=[c[0] for c in NUMPY_CASES])
def test_against_numpy(name, args):
    got, want = getattr(lnp, name)(*args), getattr(np, name)(*args)
    assert tuple(got.shape) == np.shape(want)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-6)


def test_bincount_2d_rows_share_length():
    got = lnp.bincount(np.array([[0, 1], [2, 2]]))
    torch.testing.assert_close(got, torch.tensor([[1, 1, 0], [0, 0, 2]], dtype=torch.int32))


@pytest.mark.parametrize("name,args,kwargs", PRODUCTS, ids=[f"{c[0]}-{i}" for i, c in enumerate(PRODUCTS)])
def test_products_and_calculus(name, args, kwargs):
    check(name, *args, **kwargs, rel=1e-4)
    if name not in NO_GRAD:
        check_grad(name, *args, **kwargs)


SEARCH = [
    ("sort", (C,), {}), ("sort", (C, 0), {}), ("sort", (C, None), {}), ("sort", (X["b"],), {}),
    ("sort", (X["i"], -1), {}), ("argsort", (C,), {}), ("argsort", (C, 1), {}), ("argsort", (C, None), {}),
    ("argsort", (X["b"],), {}), ("searchsorted", (np.sort(X["v"]), M23), {}),
    ("searchsorted", (np.array([1, 2, 2, 3]), np.array([2, 0, 5])), {"side": "right"}),
    ("digitize", (M23, np.array([-1.0, 0.0, 1.0], "float32")), {}), ("digitize", (X["i"], np.array([0, 2])), {}),
    ("histogram", (X["v"],), {}), ("histogram", (X["v"], 3, (-1.0, 1.0)), {}),
    ("bincount", (np.array([0, 1, 1, 4]),), {}), ("bincount", (np.array([0, 1, 1]),), {"minlength": 5}),
    ("bincount", (np.array([0, 1, 1]), np.array([0.5, 1.0, 2.0], "float32")), {}),
    ("bincount", (np.array([[0, 1], [2, 2]]),), {"minlength": 3}),
    ("unique", (np.array([3, 1, 3, 2, 1]),), {}), ("unique", (np.array([3, 1, 3, 2, 1]),), {"return_counts": True}),
    ("unique", (np.array([3, 1, 3, 2, 1]),), {"return_index": True, "return_inverse": True}),
    ("unique", (np.array([[1, 2], [1, 2], [0, 5]]),), {"axis": 0}),
    ("unique", (np.array([3, 1, 3]),), {"size": 4, "fill_value": -1}),
    ("nonzero", (X["i"],), {}), ("nonzero", (X["b"],), {}), ("where", (X["b"], M23, X["p"]), {}),
    ("where", (X["b"], M23, 0.0), {}), ("where", (X["b"], X["i"], V), {}), ("where", (X["b"],), {}),
    ("where", (X["i"], 1, 2), {}), ("select", ([X["b"], M23 > 0], [M23, X["p"]]), {}),
    ("select", ([X["b"]], [X["i"]], -1), {}), ("isin", (X["i"], np.array([0, 2])), {}),
    ("isin", (M23, M23[0]), {"invert": True}), ("isin", (X["b"], np.array([True])), {}),
    ("unravel_index", (np.array([0, 5, 7]), (2, 4)), {}), ("unravel_index", (np.int32(5), (3, 2)), {}),
]


@pytest.mark.parametrize("name,args,kwargs", SEARCH, ids=[f"{c[0]}-{i}" for i, c in enumerate(SEARCH)])
def test_sorting_searching_selection(name, args, kwargs):
    check(name, *args, **kwargs)
    if name in ("sort", "where", "select"):
        check_grad(name, *args, **kwargs)


@pytest.mark.parametrize("axis", [-1, 0, None])
def test_argpartition_partitions(axis):
    """Keras's exact index order is unspecified (as NumPy's); the partition property is what holds."""
    for kth in range(C.size if axis is None else C.shape[axis]):
        idx = lnp.argpartition(C, kth, axis=axis)
        assert idx.dtype == torch.int32
        x = torch.tensor(C).reshape(-1) if axis is None else torch.tensor(C)
        d = 0 if axis is None else axis
        vals = torch.take_along_dim(x, idx.long(), dim=d)
        pivot = vals.narrow(d, kth, 1)
        assert bool((vals.narrow(d, 0, kth) <= pivot).all()) and bool((vals.narrow(d, kth, vals.shape[d] - kth)
                                                                          >= pivot).all())


def test_vectorize():
    def f(a, b):
        return a * b + 1

    check_same = lnp.vectorize(f)(M23, V)
    torch.testing.assert_close(check_same, torch.tensor(M23 * V + 1))
    dot = lnp.vectorize(lambda a, b: (a * b).sum(), signature="(n),(n)->()")
    torch.testing.assert_close(dot(C, X["v"]), torch.tensor((C * X["v"]).sum(-1)))
    scaled = lnp.vectorize(lambda a, s: a * s, excluded={1})
    torch.testing.assert_close(scaled(V, 3.0), torch.tensor(V * 3.0))
