"""Element-wise ops of one tensor (``keras.ops.abs``, ``sin``, ``sqrt``, ``isnan``...).

Three dtype families, as on Keras's torch backend: *float* ops (``sin``, ``exp``...) compute integers and bools
in floatx; *same-type* ops (``abs``, ``sign``, ``round``...) keep the input dtype; *predicates* (``isnan``...)
return bool.

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.sqrt([4, 9]).tolist(), np_ops.sqrt([4, 9]).dtype
    ([2.0, 3.0], torch.float32)
    >>> np_ops.abs([-2, 3]).dtype
    torch.int32
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.errors import InputError
from loom.ops._tensor import as_float, cast, op, result_type, tensor

__all__ = [
    "abs", "absolute", "angle", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh", "bitwise_invert",
    "bitwise_not", "cbrt", "ceil", "conj", "conjugate", "copy", "cos", "cosh", "deg2rad", "exp", "exp2", "expm1",
    "fabs", "floor", "i0", "imag", "isfinite", "isinf", "isnan", "isneginf", "isposinf", "isreal", "log",
    "log10", "log1p", "log2", "logical_not", "nan_to_num", "negative", "rad2deg", "real", "reciprocal", "round",
    "sign", "signbit", "sin", "sinc", "sinh", "sqrt", "square", "tan", "tanh", "trunc",
]


def _float_op(name: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Any], torch.Tensor]:
    def f(x: Any) -> torch.Tensor:
        return fn(as_float(tensor(name, x)))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = (f"Element-wise ``{name}``; integer and bool inputs compute in floatx.\n\n"
                 f"Args:\n    x: input tensor.\n\nReturns:\n    A float tensor of ``x``'s shape.")
    return op(name)(f)


arccos = _float_op("arccos", torch.arccos)
arccosh = _float_op("arccosh", torch.arccosh)
arcsin = _float_op("arcsin", torch.arcsin)
arcsinh = _float_op("arcsinh", torch.arcsinh)
arctan = _float_op("arctan", torch.arctan)
arctanh = _float_op("arctanh", torch.arctanh)
cos = _float_op("cos", torch.cos)
cosh = _float_op("cosh", torch.cosh)
exp = _float_op("exp", torch.exp)
exp2 = _float_op("exp2", torch.exp2)
expm1 = _float_op("expm1", torch.expm1)
log = _float_op("log", torch.log)
log10 = _float_op("log10", torch.log10)
log1p = _float_op("log1p", torch.log1p)
log2 = _float_op("log2", torch.log2)
reciprocal = _float_op("reciprocal", torch.reciprocal)
sin = _float_op("sin", torch.sin)
sinc = _float_op("sinc", torch.sinc)
sinh = _float_op("sinh", torch.sinh)
sqrt = _float_op("sqrt", torch.sqrt)
tan = _float_op("tan", torch.tan)
tanh = _float_op("tanh", torch.tanh)
angle = _float_op("angle", torch.angle)
fabs = _float_op("fabs", torch.abs)


def _wide_float(x: torch.Tensor) -> torch.Tensor:
    """Floats keep their type; int64 computes in float64, other integers and bools in floatx."""
    if x.dtype.is_floating_point:
        return x
    return x.to(torch.float64) if x.dtype == torch.int64 else as_float(x)


@op("cbrt")
def cbrt(x: Any) -> torch.Tensor:
    """Element-wise cube root (negative inputs give negative roots).

    Args:
        x: input tensor.
    """
    x = _wide_float(tensor("cbrt", x))
    return torch.sign(x) * torch.abs(x).pow(1.0 / 3.0)


@op("deg2rad")
def deg2rad(x: Any) -> torch.Tensor:
    """Degrees to radians.

    Args:
        x: angles in degrees.
    """
    return torch.deg2rad(_wide_float(tensor("deg2rad", x)))


@op("rad2deg")
def rad2deg(x: Any) -> torch.Tensor:
    """Radians to degrees.

    Args:
        x: angles in radians.
    """
    return torch.rad2deg(_wide_float(tensor("rad2deg", x)))


@op("i0")
def i0(x: Any) -> torch.Tensor:
    """The modified Bessel function of the first kind, order 0.

    Args:
        x: input tensor.
    """
    return torch.i0(_wide_float(tensor("i0", x)))


def _rounding(name: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Any], torch.Tensor]:
    def f(x: Any) -> torch.Tensor:
        x = tensor(name, x)
        return fn(cast(x, result_type(x.dtype, float)))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Element-wise ``{name}``; the result is a float tensor (floatx for integer inputs).\n\nArgs:\n" \
                f"    x: input tensor."
    return op(name)(f)


ceil = _rounding("ceil", torch.ceil)
floor = _rounding("floor", torch.floor)


def _same_type(name: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Any], torch.Tensor]:
    def f(x: Any) -> torch.Tensor:
        return fn(tensor(name, x))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Element-wise ``{name}``, keeping the input dtype.\n\nArgs:\n    x: input tensor."
    return op(name)(f)


def _abs(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.bool else torch.abs(x)


def _sign(x: torch.Tensor) -> torch.Tensor:
    return x if x.dtype == torch.bool else torch.sign(x)


def _trunc(x: torch.Tensor) -> torch.Tensor:
    return x if not x.dtype.is_floating_point else torch.trunc(x)


def _bitwise_not(x: torch.Tensor) -> torch.Tensor:
    if x.dtype.is_floating_point or x.dtype.is_complex:
        raise InputError(f"ops.bitwise_invert: needs an integer or bool tensor; got dtype {x.dtype}.")
    return torch.bitwise_not(x)


def _negative(x: torch.Tensor) -> torch.Tensor:
    if x.dtype == torch.bool:
        raise InputError("ops.negative: a bool tensor cannot be negated; use ops.logical_not.")
    return torch.negative(x)


abs = _same_type("abs", _abs)
absolute = _same_type("absolute", _abs)
sign = _same_type("sign", _sign)
trunc = _same_type("trunc", _trunc)
conj = _same_type("conj", torch.conj)
conjugate = _same_type("conjugate", torch.conj)
copy = _same_type("copy", torch.clone)
real = _same_type("real", lambda x: torch.real(x) if x.dtype.is_complex else x)
negative = _same_type("negative", _negative)
bitwise_invert = _same_type("bitwise_invert", _bitwise_not)
bitwise_not = _same_type("bitwise_not", _bitwise_not)


@op("imag")
def imag(x: Any) -> torch.Tensor:
    """The imaginary part of a complex tensor.

    Args:
        x: a complex tensor.
    """
    x = tensor("imag", x)
    if not x.dtype.is_complex:
        raise InputError(f"ops.imag: needs a complex tensor; got dtype {x.dtype}.")
    return torch.imag(x)


@op("square")
def square(x: Any) -> torch.Tensor:
    """Element-wise ``x * x``; bool inputs give int32.

    Args:
        x: input tensor.
    """
    x = tensor("square", x)
    if x.dtype == torch.bool:
        x = x.to(torch.int32)
    return x * x


@op("round")
def round(x: Any, decimals: int = 0) -> torch.Tensor:
    """Round half to even to ``decimals`` places, keeping the input dtype.

    Args:
        x: input tensor (not bool).
        decimals: number of decimal places; default 0. Negative values round to tens, hundreds...
    """
    x = tensor("round", x)
    if x.dtype == torch.bool:
        raise InputError("ops.round: a bool tensor cannot be rounded.")
    if x.dtype.is_floating_point:
        return torch.round(x, decimals=decimals)
    return torch.round(as_float(x), decimals=decimals).to(x.dtype)


@op("nan_to_num")
def nan_to_num(x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
               ) -> torch.Tensor:
    """Replace NaN and infinities with finite numbers.

    Args:
        x: input tensor.
        nan: value for NaN; default 0.0.
        posinf: value for +inf; default ``None`` (the dtype's largest finite value).
        neginf: value for -inf; default ``None`` (the dtype's lowest finite value).
    """
    x = tensor("nan_to_num", x)
    if not x.dtype.is_floating_point:
        return x
    return torch.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


def _predicate(name: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> Callable[[Any], torch.Tensor]:
    def f(x: Any) -> torch.Tensor:
        return fn(tensor(name, x))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Element-wise ``{name}`` test; returns a bool tensor.\n\nArgs:\n    x: input tensor."
    return op(name)(f)


isfinite = _predicate("isfinite", torch.isfinite)
isinf = _predicate("isinf", torch.isinf)
isnan = _predicate("isnan", torch.isnan)
isneginf = _predicate("isneginf", lambda x: torch.isneginf(x) if x.dtype != torch.bool else torch.zeros_like(x))
isposinf = _predicate("isposinf", lambda x: torch.isposinf(x) if x.dtype != torch.bool else torch.zeros_like(x))
isreal = _predicate("isreal", torch.isreal)
logical_not = _predicate("logical_not", torch.logical_not)
signbit = _predicate("signbit", lambda x: torch.signbit(x) if x.dtype != torch.bool else torch.zeros_like(x))
