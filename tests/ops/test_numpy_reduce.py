"""Reductions, scans, quantiles and ``nan*`` ops of ``loom.ops.numpy`` against ``keras.ops.numpy``."""

import numpy as np
import pytest

import torch

from loom.ops import numpy as lnp
from tests.ops.numpy_oracle import KNP, X, assert_same, check, check_grad

REDUCE = ["sum", "prod", "mean", "max", "min", "amax", "amin", "all", "any", "std", "var", "ptp", "nansum",
          "nanprod", "nanmean", "nanmax", "nanmin", "nanstd", "nanvar", "median", "nanmedian"]
ARG = ["argmax", "argmin", "nanargmax", "nanargmin"]
SCAN = ["cumsum", "cumprod", "nancumsum", "nancumprod"]
GRAD = {"sum", "prod", "mean", "max", "min", "amax", "amin", "std", "var", "nansum", "nanmean", "nanstd",
        "nanvar", "ptp", "cumsum", "cumprod"}
AXES = [None, 0, -1, (0, 1), (-1, 0)]


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("name", REDUCE)
def test_reductions(name, axis, keepdims):
    if axis is None and keepdims:  # Keras's torch backend drops keepdims here; NumPy and Keras's docs keep them
        want = getattr(KNP, name)(X["cube"], axis=(0, 1, 2), keepdims=True)
        assert_same(getattr(lnp, name)(X["cube"], axis=None, keepdims=True), want, where=name)
    else:
        check(name, X["cube"], axis=axis, keepdims=keepdims)
    if name in GRAD:
        check_grad(name, X["cube"], axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("kind", ["i", "b", "i64", "u8", "f64", "f16"])
@pytest.mark.parametrize("name", REDUCE + ARG)
def test_reduction_dtypes(name, kind):
    if name == "ptp" and kind == "b":
        pytest.skip("Keras fails on bool ptp; loom raises a clear error (tested in test_numpy_errors)")
    check(name, X[kind], axis=-1, rel=2e-3 if kind == "f16" else 1e-5)
    check(name, X[kind], rel=2e-3 if kind == "f16" else 1e-5)


@pytest.mark.parametrize("name", [n for n in REDUCE if n.startswith("nan")] + ARG + SCAN)
def test_nan_inputs(name):
    axis = None if name in SCAN else 1
    check(name, X["nan"], axis=axis) if name not in ("nanargmax", "nanargmin") else check(name, X["nan"], axis=1)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("name", ARG)
def test_arg_reductions(name, axis, keepdims):
    check(name, X["cube"], axis=axis, keepdims=keepdims)


@pytest.mark.parametrize("dtype", [None, "float32", "int32"])
@pytest.mark.parametrize("axis", [None, 0, -1])
@pytest.mark.parametrize("name", SCAN)
def test_scans(name, axis, dtype):
    check(name, X["cube"], axis=axis, dtype=dtype)
    for kind in ("i", "b", "u8", "i64", "f64"):
        check(name, X[kind], axis=axis)
    if name in GRAD and dtype != "int32":
        check_grad(name, X["cube"], axis=axis)


@pytest.mark.parametrize("method", ["linear", "lower", "higher", "midpoint", "nearest"])
@pytest.mark.parametrize("name", ["quantile", "nanquantile", "percentile", "nanpercentile"])
def test_quantiles(name, method):
    scale = 100 if "percentile" in name else 1
    x = X["nan"] if name.startswith("nan") else X["cube"]
    check(name, x, 0.3 * scale, method=method)
    check(name, x, np.array([0.1, 0.5, 0.9], "float32") * scale, axis=-1, method=method, keepdims=True)
    check(name, X["i"], 0.5 * scale, axis=0, method=method)
    if method == "linear" and not name.startswith("nan"):
        check_grad(name, X["cube"], 0.3 * scale, axis=(0, 2))


def test_max_min_initial_and_empty():
    check("max", X["n"], axis=0, initial=0.5)
    check("min", X["n"], initial=-0.5)
    check("max", np.zeros((0, 3), "float32"), initial=1.0)
    got = lnp.min(np.zeros((0, 3), "float32"), axis=0, initial=1.0, keepdims=True)  # NumPy's shape
    torch.testing.assert_close(got, torch.ones(1, 3))


def test_count_nonzero_and_average():
    for axis in (None, 0, -1, (0, 1)):
        check("count_nonzero", X["i"], axis=axis)
    check("average", X["cube"])
    check("average", X["cube"], axis=1)
    check("average", X["cube"], axis=-1, weights=np.array([1.0, 2.0, 0.5, 1.0], "float32"))
    want = np.average(X["n"], weights=X["p"])  # Keras's torch backend mis-reduces here; NumPy is the oracle
    np.testing.assert_allclose(lnp.average(X["n"], axis=None, weights=X["p"]).numpy(), want, rtol=1e-5)
    check("average", X["i"], axis=0)
    check_grad("average", X["cube"], axis=-1, weights=np.array([1.0, 2.0, 0.5, 1.0], "float32"))


def test_empty_axis_tuple_returns_input():
    for name in ("sum", "mean", "nanmean", "nansum"):
        check(name, X["n"], axis=())
