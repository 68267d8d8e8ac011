"""Bad input to ``loom.ops.numpy`` raises a loom error naming the op, the argument and the shapes or values."""

import numpy as np
import pytest

from loom import LoomError
from loom.errors import InputError, ShapeError
from loom.ops import numpy as lnp

A, B = np.ones((2, 3), "float32"), np.ones((4,), "float32")


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "divide", "maximum", "power", "equal", "arctan2",
                                  "logical_and", "hypot", "isclose", "floor_divide", "heaviside"])
def test_binary_shapes_that_cannot_broadcast(name):
    with pytest.raises(ShapeError, match=rf"ops\.{name}: shapes \(2, 3\), \(4,\) cannot be broadcast"):
        getattr(lnp, name)(A, B)


def test_where_and_clip_shapes():
    with pytest.raises(ShapeError, match=r"ops\.where: shapes .*\(2, 3\).*\(4,\)"):
        lnp.where(A > 0, A, B)
    with pytest.raises(ShapeError, match=r"ops\.clip"):
        lnp.clip(A, B, 2.0)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "std", "var", "all", "any", "prod", "argmax",
                                  "cumsum", "flip", "squeeze", "nansum", "quantile", "median", "count_nonzero"])
def test_axis_out_of_range(name):
    args = (A, 0.5) if name == "quantile" else (A,)
    with pytest.raises(InputError, match=rf"ops\.{name}: `axis`=3 is out of range for an input of rank 2"):
        getattr(lnp, name)(*args, axis=3)


def test_axis_errors_name_their_argument():
    with pytest.raises(InputError, match=r"ops\.swapaxes: `axis2`=-5"):
        lnp.swapaxes(A, 0, -5)
    with pytest.raises(InputError, match=r"ops\.moveaxis: `destination`"):
        lnp.moveaxis(A, 0, 2)
    with pytest.raises(InputError, match=r"ops\.sum: `axis`=\(0, -2\) repeats an axis"):
        lnp.sum(A, axis=(0, -2))
    with pytest.raises(InputError, match=r"ops\.mean: `axis` must be an int"):
        lnp.mean(A, axis=1.5)
    with pytest.raises(InputError, match=r"ops\.argmax: `axis` must be a single int"):
        lnp.argmax(A, axis=(0, 1))


def test_shape_errors_name_the_shapes():
    with pytest.raises(ShapeError, match=r"ops\.reshape: cannot reshape a tensor of shape \(2, 3\).*\(4, -1\)"):
        lnp.reshape(A, (4, -1))
    with pytest.raises(ShapeError, match=r"ops\.matmul: inner dimensions differ: shapes \(2, 3\) and \(2, 3\)"):
        lnp.matmul(A, A)
    with pytest.raises(ShapeError, match=r"ops\.concatenate: shapes \[\(2, 3\), \(4,\)\]"):
        lnp.concatenate([A, B])
    with pytest.raises(ShapeError, match=r"ops\.stack: all shapes must be equal"):
        lnp.stack([A, A.T])
    with pytest.raises(ShapeError, match=r"ops\.split: axis 1 of length 3 .* cannot be split into 2"):
        lnp.split(A, 2, axis=1)
    with pytest.raises(ShapeError, match=r"ops\.squeeze: .*length \[3\]"):
        lnp.squeeze(A, axis=1)
    with pytest.raises(ShapeError, match=r"ops\.broadcast_to: shape \(4,\) cannot be broadcast to \(2, 3\)"):
        lnp.broadcast_to(B, (2, 3))
    with pytest.raises(ShapeError, match=r"ops\.slogdet: needs square matrices"):
        lnp.slogdet(A)


def test_dtypes_an_op_cannot_take():
    with pytest.raises(InputError, match=r"ops\.bitwise_and: `x` must be an integer or bool tensor; got dtype"):
        lnp.bitwise_and(A, 1)
    with pytest.raises(InputError, match=r"ops\.bitwise_invert: needs an integer or bool tensor"):
        lnp.bitwise_invert(A)
    with pytest.raises(InputError, match=r"ops\.ldexp: the exponent `x2` must be an integer"):
        lnp.ldexp(A, 2.0)
    with pytest.raises(InputError, match=r"ops\.negative: a bool tensor"):
        lnp.negative(A > 0)
    with pytest.raises(InputError, match=r"ops\.ptp: a bool tensor"):
        lnp.ptp(A > 0)
    with pytest.raises(InputError, match=r"ops\.take: `indices` must be integers"):
        lnp.take(A, np.array([0.5]))
    with pytest.raises(InputError, match=r"ops\.imag: needs a complex tensor"):
        lnp.imag(A)
    with pytest.raises(InputError, match=r"ops\.add: .*dtype <U1"):
        lnp.add(np.array(["a"]), 1)
    with pytest.raises(InputError, match=r"ops\.ones: Unknown dtype 'float13'"):
        lnp.ones((2,), dtype="float13")


def test_bad_argument_values():
    with pytest.raises(InputError, match=r"ops\.pad: `mode` must be one of"):
        lnp.pad(A, 1, mode="mirror")
    with pytest.raises(InputError, match=r"ops\.pad: `pad_width`"):
        lnp.pad(A, ((1, 1), (1, 1), (1, 1)))
    with pytest.raises(InputError, match=r"ops\.quantile: quantiles must lie in \[0, 1\]"):
        lnp.quantile(A, 1.5)
    with pytest.raises(InputError, match=r"ops\.quantile: `method` must be one of"):
        lnp.quantile(A, 0.5, method="cubic")
    with pytest.raises(InputError, match=r"ops\.arange: `step` must not be 0"):
        lnp.arange(0, 5, 0)
    with pytest.raises(InputError, match=r"ops\.max: cannot reduce an empty tensor"):
        lnp.max(np.zeros((0,)))
    with pytest.raises(InputError, match=r"ops\.where: give both"):
        lnp.where(A > 0, A)
    with pytest.raises(InputError, match=r"ops\.searchsorted: `side`"):
        lnp.searchsorted(B, A, side="middle")
    with pytest.raises(InputError, match=r"ops\.bincount: `x` must be non-negative"):
        lnp.bincount(np.array([-1, 2]))


def test_torch_failures_surface_as_loom_errors_naming_the_op():
    with pytest.raises(LoomError, match=r"ops\.gcd"):
        lnp.gcd(A, A)
    with pytest.raises(ValueError):  # loom errors are ValueErrors, as Keras raises
        lnp.add(A, B)
