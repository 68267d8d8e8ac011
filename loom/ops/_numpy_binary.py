"""Element-wise ops of two tensors (``keras.ops.add``, ``maximum``, ``equal``, ``logical_and``...).

Shapes broadcast NumPy-style; shapes that cannot raise :class:`loom.errors.ShapeError` naming the op. Arithmetic
(``add``, ``multiply``, ``power``...) follows torch's promotion, where a Python scalar adopts the other operand's
type, as Keras's torch backend does; ``maximum``, ``floor_divide`` and the float functions (``arctan2``,
``logaddexp``...) use Keras's promotion table (:func:`loom.ops._tensor.result_type`).

Example:
    >>> from loom.ops import numpy as np_ops
    >>> np_ops.add([1, 2], 0.5).tolist()
    [1.5, 2.5]
    >>> np_ops.maximum([1, 5], [3, 2]).tolist()
    [3, 5]
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.errors import InputError
from loom.ops._tensor import broadcast_shapes_or_raise, cast, op, result_type, tensors

__all__ = [
    "add", "allclose", "arctan2", "bitwise_and", "bitwise_left_shift", "bitwise_or", "bitwise_right_shift",
    "bitwise_xor", "clip", "divide", "divide_no_nan", "equal", "floor_divide", "fmax", "fmin", "fmod", "gcd",
    "greater", "greater_equal", "heaviside", "hypot", "isclose", "lcm", "ldexp", "left_shift", "less",
    "less_equal", "logaddexp", "logaddexp2", "logical_and", "logical_or", "logical_xor", "maximum", "minimum",
    "mod", "multiply", "nextafter", "not_equal", "power", "right_shift", "subtract", "true_divide",
]

Fn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def pair(name: str, x1: Any, x2: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Both operands as tensors on one device, after checking that they broadcast."""
    a, b = tensors(name, x1, x2)
    broadcast_shapes_or_raise(name, a, b)
    return a, b


def _doc(name: str, what: str) -> str:
    return f"{what}\n\nArgs:\n    x1: first operand.\n    x2: second operand (broadcast against ``x1``)."


def _torch_promoted(name: str, fn: Fn, what: str) -> Callable[[Any, Any], torch.Tensor]:
    def f(x1: Any, x2: Any) -> torch.Tensor:
        return fn(*pair(name, x1, x2))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = _doc(name, what)
    return op(name)(f)


def _keras_promoted(name: str, fn: Fn, what: str, with_float: bool = False) -> Callable[[Any, Any], torch.Tensor]:
    def f(x1: Any, x2: Any) -> torch.Tensor:
        a, b = pair(name, x1, x2)
        # as Keras's torch backend: maximum & co. keep Python scalars weak, the float functions do not
        kinds = (a.dtype, b.dtype, float) if with_float else (_kind(x1, a), _kind(x2, b))
        dtype = result_type(*kinds)
        return fn(cast(a, dtype), cast(b, dtype))

    f.__name__ = f.__qualname__ = name
    f.__doc__ = _doc(name, what)
    return op(name)(f)


def _kind(raw: Any, t: torch.Tensor) -> Any:
    """A Python scalar stays weakly typed for promotion; anything else counts by its tensor's dtype."""
    return type(raw) if type(raw) in (int, float) else t.dtype


def _float_pair(name: str, fn: Fn, what: str) -> Callable[[Any, Any], torch.Tensor]:
    return _keras_promoted(name, fn, what, with_float=True)


def _no_bool(name: str, fn: Fn) -> Fn:
    def g(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.dtype == torch.bool and b.dtype == torch.bool:
            a, b = a.to(torch.int32), b.to(torch.int32)
        return fn(a, b)
    return g


def _unbool(t: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    return t.to(other.dtype) if t.dtype == torch.bool and other.dtype != torch.bool else t


add = _torch_promoted("add", torch.add, "Element-wise ``x1 + x2``.")
subtract = _torch_promoted("subtract", lambda a, b: torch.subtract(_unbool(a, b), _unbool(b, a)),
                           "Element-wise ``x1 - x2`` (a bool operand takes the other's type; not two bools).")
multiply = _torch_promoted("multiply", torch.multiply, "Element-wise ``x1 * x2``.")
divide = _torch_promoted("divide", torch.true_divide, "Element-wise true division; integers give floatx.")
true_divide = _torch_promoted("true_divide", torch.true_divide, "Alias of ``divide``.")
power = _torch_promoted("power", torch.pow, "Element-wise ``x1 ** x2``.")
mod = _torch_promoted("mod", _no_bool("mod", torch.remainder), "Remainder with the sign of ``x2`` (Python's %).")
fmod = _torch_promoted("fmod", _no_bool("fmod", torch.fmod), "Remainder with the sign of ``x1`` (C's fmod).")
gcd = _torch_promoted("gcd", torch.gcd, "Greatest common divisor of integer tensors.")
lcm = _torch_promoted("lcm", torch.lcm, "Least common multiple of integer tensors.")
equal = _torch_promoted("equal", torch.eq, "Element-wise ``x1 == x2`` (bool).")
not_equal = _torch_promoted("not_equal", torch.ne, "Element-wise ``x1 != x2`` (bool).")
greater = _torch_promoted("greater", torch.gt, "Element-wise ``x1 > x2`` (bool).")
greater_equal = _torch_promoted("greater_equal", torch.ge, "Element-wise ``x1 >= x2`` (bool).")
less = _torch_promoted("less", torch.lt, "Element-wise ``x1 < x2`` (bool).")
less_equal = _torch_promoted("less_equal", torch.le, "Element-wise ``x1 <= x2`` (bool).")
logical_and = _torch_promoted("logical_and", torch.logical_and, "Element-wise logical AND (bool).")
logical_or = _torch_promoted("logical_or", torch.logical_or, "Element-wise logical OR (bool).")
logical_xor = _torch_promoted("logical_xor", torch.logical_xor, "Element-wise logical XOR (bool).")

maximum = _keras_promoted("maximum", torch.maximum, "Element-wise maximum (NaN propagates).")
minimum = _keras_promoted("minimum", torch.minimum, "Element-wise minimum (NaN propagates).")
fmax = _keras_promoted("fmax", torch.fmax, "Element-wise maximum ignoring NaN.")
fmin = _keras_promoted("fmin", torch.fmin, "Element-wise minimum ignoring NaN.")

arctan2 = _float_pair("arctan2", torch.arctan2, "Element-wise arc tangent of ``x1 / x2`` in the right quadrant.")
logaddexp = _float_pair("logaddexp", torch.logaddexp, "Element-wise ``log(exp(x1) + exp(x2))``, computed stably.")
logaddexp2 = _float_pair("logaddexp2", torch.logaddexp2, "Element-wise ``log2(2**x1 + 2**x2)``, computed stably.")


@op("floor_divide")
def floor_divide(x1: Any, x2: Any) -> torch.Tensor:
    """Element-wise ``x1 // x2`` (rounded toward minus infinity), in Keras's promoted dtype.

    Args:
        x1: dividend.
        x2: divisor (broadcast against ``x1``).
    """
    a, b = pair("floor_divide", x1, x2)
    return cast(torch.floor_divide(a, b), result_type(_kind(x1, a), _kind(x2, b)))


@op("divide_no_nan")
def divide_no_nan(x1: Any, x2: Any) -> torch.Tensor:
    """``x1 / x2``, with 0 wherever ``x2`` is 0 (no NaN or inf from zero divisors).

    Args:
        x1: dividend.
        x2: divisor (broadcast against ``x1``).
    """
    a, b = pair("divide_no_nan", x1, x2)
    dtype = result_type(_kind(x1, a), _kind(x2, b), float)
    a, b = cast(a, dtype), cast(b, dtype)
    zero = b == 0
    return torch.where(zero, torch.zeros((), dtype=a.dtype, device=a.device), a / torch.where(zero, 1, b))


def _int_float(a: torch.Tensor, b: torch.Tensor) -> str:
    """Keras's promoted type, with integer results moved to floats (int64 to float64, others to floatx)."""
    dtype = result_type(a.dtype, b.dtype)
    if "int" in dtype:
        return "float64" if dtype == "int64" else result_type(float)
    return dtype


@op("hypot")
def hypot(x1: Any, x2: Any) -> torch.Tensor:
    """Element-wise ``sqrt(x1**2 + x2**2)``.

    Args:
        x1: first leg.
        x2: second leg (broadcast against ``x1``).
    """
    a, b = pair("hypot", x1, x2)
    dtype = _int_float(a, b)
    return torch.hypot(cast(a, dtype), cast(b, dtype))


@op("heaviside")
def heaviside(x1: Any, x2: Any) -> torch.Tensor:
    """The Heaviside step: 0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``.

    Args:
        x1: input values.
        x2: the value at zero (broadcast against ``x1``).
    """
    a, b = pair("heaviside", x1, x2)
    dtype = _int_float(a, b)
    return torch.heaviside(cast(a, dtype), cast(b, dtype))


@op("ldexp")
def ldexp(x1: Any, x2: Any) -> torch.Tensor:
    """Element-wise ``x1 * 2**x2``.

    Args:
        x1: mantissas.
        x2: integer exponents (broadcast against ``x1``).
    """
    a, b = pair("ldexp", x1, x2)
    if b.dtype.is_floating_point or b.dtype == torch.bool:
        raise InputError(f"ops.ldexp: the exponent `x2` must be an integer tensor; got dtype {b.dtype}.")
    dtype = result_type(a.dtype, b.dtype, float)
    return cast(torch.ldexp(a, b), dtype)


@op("nextafter")
def nextafter(x1: Any, x2: Any) -> torch.Tensor:
    """The next representable float after ``x1`` toward ``x2`` (computed in float64, as Keras does).

    Args:
        x1: start values.
        x2: directions (broadcast against ``x1``).
    """
    a, b = pair("nextafter", x1, x2)
    dtype = result_type(a.dtype, b.dtype, float)
    return cast(torch.nextafter(a.to(torch.float64), b.to(torch.float64)), dtype)


def _close(name: str, x1: Any, x2: Any, rtol: float, atol: float, equal_nan: bool) -> torch.Tensor:
    a, b = pair(name, x1, x2)
    dtype = result_type(a.dtype, b.dtype)
    a, b = cast(a, dtype), cast(b, dtype)
    if "float" in dtype:
        return torch.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return torch.eq(a, b)


@op("isclose")
def isclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> torch.Tensor:
    """Element-wise ``|x1 - x2| <= atol + rtol * |x2|`` (bool).

    Args:
        x1: first values.
        x2: second values (broadcast against ``x1``).
        rtol: relative tolerance; default 1e-5.
        atol: absolute tolerance; default 1e-8.
        equal_nan: whether two NaNs count as close; default False.
    """
    return _close("isclose", x1, x2, rtol, atol, equal_nan)


@op("allclose")
def allclose(x1: Any, x2: Any, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> torch.Tensor:
    """Whether every element of ``x1`` is close to ``x2`` (a bool scalar tensor); see :func:`isclose`.

    Args:
        x1: first values.
        x2: second values (broadcast against ``x1``).
        rtol: relative tolerance; default 1e-5.
        atol: absolute tolerance; default 1e-8.
        equal_nan: whether two NaNs count as close; default False.
    """
    return torch.all(_close("allclose", x1, x2, rtol, atol, equal_nan))


def _bitwise(name: str, fn: Fn) -> Callable[[Any, Any], torch.Tensor]:
    def f(x: Any, y: Any) -> torch.Tensor:
        a, b = pair(name, x, y)
        for arg, t in (("x", a), ("y", b)):
            if t.dtype.is_floating_point or t.dtype.is_complex:
                raise InputError(f"ops.{name}: `{arg}` must be an integer or bool tensor; got dtype {t.dtype}.")
        if "shift" in name and type(y) is int:
            return fn(a, y)  # a Python shift count leaves the tensor's type alone, as in Keras
        return fn(a, b)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"Element-wise bitwise ``{name}`` of integer or bool tensors.\n\nArgs:\n    x: first operand.\n" \
                f"    y: second operand (broadcast against ``x``)."
    return op(name)(f)


bitwise_and = _bitwise("bitwise_and", torch.bitwise_and)
bitwise_or = _bitwise("bitwise_or", torch.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", torch.bitwise_xor)
bitwise_left_shift = _bitwise("bitwise_left_shift", torch.bitwise_left_shift)
bitwise_right_shift = _bitwise("bitwise_right_shift", torch.bitwise_right_shift)
left_shift = _bitwise("left_shift", torch.bitwise_left_shift)
right_shift = _bitwise("right_shift", torch.bitwise_right_shift)


@op("clip")
def clip(x: Any, x_min: Any, x_max: Any) -> torch.Tensor:
    """Limit values to ``[x_min, x_max]``; bool inputs give int32.

    Args:
        x: input tensor.
        x_min: lower bound (scalar or broadcastable tensor).
        x_max: upper bound (scalar or broadcastable tensor).
    """
    t, lo, hi = tensors("clip", x, x_min, x_max)
    broadcast_shapes_or_raise("clip", t, lo, hi)
    if t.dtype == torch.bool:
        t = t.to(torch.int32)
    return torch.clip(t, min=lo, max=hi)
