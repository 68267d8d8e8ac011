"""Element-wise ``loom.ops.numpy`` functions against ``keras.ops.numpy``: values, dtypes, broadcasting, grads."""

import numpy as np
import pytest
import torch

from loom.ops import numpy as lnp
from tests.ops.numpy_oracle import KNP, X, check, check_grad

# op -> the float input kind inside its domain
UNARY_FLOAT = {
    "abs": "n", "absolute": "n", "arccos": "u", "arccosh": "g", "arcsin": "u", "arcsinh": "n", "arctan": "n",
    "arctanh": "u", "cbrt": "n", "ceil": "n", "conj": "n", "conjugate": "n", "copy": "n", "cos": "n",
    "cosh": "u", "deg2rad": "n", "exp": "u", "exp2": "u", "expm1": "u", "fabs": "n", "floor": "n", "i0": "u",
    "log": "p", "log10": "p", "log1p": "p", "log2": "p", "negative": "n", "rad2deg": "n", "real": "n",
    "reciprocal": "p", "round": "n", "sign": "n", "sin": "n", "sinc": "n", "sinh": "u", "sqrt": "p",
    "square": "n", "tan": "u", "tanh": "n", "trunc": "n", "nan_to_num": "nan", "angle": "n",
    "isfinite": "nan", "isinf": "nan", "isnan": "nan", "isneginf": "nan", "isposinf": "nan", "isreal": "n",
    "logical_not": "n", "signbit": "n",
}
NO_GRAD = {"ceil", "floor", "round", "sign", "trunc", "isfinite", "isinf", "isnan", "isneginf", "isposinf",
           "isreal", "logical_not", "signbit", "angle", "nan_to_num", "cbrt"}
INT_KINDS = ["i", "ip", "b", "i64", "u8", "f64", "f16"]


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
def test_unary_float_values_dtypes_and_grads(name):
    check(name, X[UNARY_FLOAT[name]])
    if name not in NO_GRAD:
        check_grad(name, X[UNARY_FLOAT[name]])


@pytest.mark.parametrize("kind", INT_KINDS)
@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
def test_unary_other_dtypes(name, kind):
    x = X[kind]
    if name in ("arccosh", "log", "log10", "log2", "log1p", "sqrt", "reciprocal", "arctanh", "arcsin",
                "arccos") and kind in ("i", "i64", "f64"):
        x = np.abs(x) + (1 if name == "arccosh" else 0)
    if kind == "b" and name in ("negative", "round"):
        with pytest.raises(ValueError):
            getattr(lnp, name)(x)
        return
    check(name, x, rel=2e-3 if kind == "f16" else 1e-5)


def test_cbrt_gradient_away_from_zero():
    check_grad("cbrt", X["p"])


@pytest.mark.parametrize("name", ["bitwise_invert", "bitwise_not"])
@pytest.mark.parametrize("kind", ["i", "b", "u8", "i64"])
def test_bitwise_not(name, kind):
    check(name, X[kind])


def test_round_decimals_and_nan_to_num_arguments():
    check("round", X["n"], decimals=2)
    check("round", X["n"] * 100, decimals=-1)
    check("nan_to_num", np.array([np.nan, np.inf, -np.inf, 1.0], "float32"), nan=1.5, posinf=9.0, neginf=-9.0)


BINARY_FLOAT = {
    "add": ("n", "n3"), "subtract": ("n", "row"), "multiply": ("n", "n3"), "divide": ("n", "p"),
    "true_divide": ("n", "p"), "divide_no_nan": ("n", "p"), "floor_divide": ("n", "p"), "mod": ("n", "p"),
    "fmod": ("n", "p"), "power": ("p", "n3"), "maximum": ("n", "n3"), "minimum": ("n", "row"),
    "fmax": ("nan", "n3"), "fmin": ("nan", "n"), "arctan2": ("n", "row"), "hypot": ("n", "n3"),
    "heaviside": ("n", "n3"), "logaddexp": ("n", "n3"), "logaddexp2": ("n", "row"), "nextafter": ("n", "n3"),
    "equal": ("n", "n3"), "not_equal": ("n", "n3"), "greater": ("n", "n3"), "greater_equal": ("n", "row"),
    "less": ("n", "n3"), "less_equal": ("n", "row"), "logical_and": ("n", "b"), "logical_or": ("i", "b"),
    "logical_xor": ("n", "i"), "isclose": ("n", "n3"), "allclose": ("n", "n"),
}
BIN_NO_GRAD = {"floor_divide", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
               "logical_and", "logical_or", "logical_xor", "isclose", "allclose", "nextafter", "heaviside",
               "mod", "fmod"}


@pytest.mark.parametrize("name", sorted(BINARY_FLOAT))
def test_binary_broadcast_values_dtypes_and_grads(name):
    a, b = (X[k] for k in BINARY_FLOAT[name])
    check(name, a, b)
    check(name, b, a) if name not in ("power", "divide", "true_divide", "divide_no_nan", "floor_divide", "mod",
                                      "fmod") else None
    if name not in BIN_NO_GRAD:
        check_grad(name, a, b)


PAIRS = [("i", "ip"), ("ip", "p"), ("b", "b"), ("u8", "i"), ("i64", "ip"), ("f64", "p"), ("f16", "p"),
         ("i", 2), ("ip", 2.5), ("f16", 3), ("b", 1), (2, "ip")]


@pytest.mark.parametrize("pair", PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY_FLOAT))
def test_binary_dtype_promotion(name, pair):
    a, b = (X[k] if isinstance(k, str) else k for k in pair)
    try:
        getattr(KNP, name)(a, b)
    except Exception:  # Keras refuses this pair (e.g. subtract of two bools): loom must raise too
        with pytest.raises(Exception):
            getattr(lnp, name)(a, b)
        return
    check(name, a, b, rel=2e-3 if "f16" in pair else 1e-5)


@pytest.mark.parametrize("name", ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                                  "bitwise_right_shift", "left_shift", "right_shift", "gcd", "lcm"])
def test_integer_binary(name):
    check(name, X["ip"], X["i3"])
    check(name, X["u8"], 2) if "shift" in name else check(name, X["ip"], X["i"])


def test_ldexp_and_clip():
    check("ldexp", X["n"], X["i3"])
    check("clip", X["n"], -1.0, 1.5)
    check("clip", X["i"], -1, 2)
    check("clip", X["b"], 0, 1)
    check_grad("clip", X["n"], -1.0, 1.5)


def test_scalar_and_list_inputs():
    check("add", 1, 2)
    check("multiply", [1, 2, 3], 2.5)
    check("maximum", 3, X["n3"])
    check("sqrt", 4)
    check("where", [True, False, True], [1, 2, 3], 0.5)


ALL_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "bfloat16", "float16", "float32", "float64"]
BINARY_ALL = sorted(BINARY_FLOAT) + ["bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                                     "bitwise_right_shift", "left_shift", "right_shift", "gcd", "lcm"]


def _outcome(fn, *args):
    """The result dtype, or 'error' when the op refuses these dtypes."""
    try:
        out = fn(*args)
    except Exception:  # noqa: BLE001 - only whether it fails matters here
        return "error"
    return str(out.dtype)


@pytest.mark.parametrize("name", BINARY_ALL)
def test_binary_dtype_table(name):
    """Every dtype pair and every dtype with a Python int/float/bool: loom's result dtype (or refusal) is Keras's."""
    base = torch.tensor([1.0, 2.0, 4.0])
    for d in ALL_DTYPES:
        x = base.to(getattr(torch, d))
        cases = [(x, base.to(getattr(torch, e))) for e in ALL_DTYPES] + [p for s in (3, 2.5, True)
                                                                           for p in ((x, s), (s, x))]
        for args in cases:
            assert _outcome(getattr(lnp, name), *args) == _outcome(getattr(KNP, name), *args), (name, args)


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT) + ["bitwise_invert"])
def test_unary_dtype_table(name):
    for d in ALL_DTYPES:
        x = torch.tensor([[1.0, 2.0, 3.0], [2.0, 1.0, 4.0]]).to(getattr(torch, d))
        assert _outcome(getattr(lnp, name), x) == _outcome(getattr(KNP, name), x), (name, d)
