"""Compare a ``loom.ops.numpy`` function with ``keras.ops.numpy`` on the same inputs: values, shapes, dtypes
and (for float inputs) torch autograd gradients. Shared by the table-driven ``test_numpy_*`` modules."""

import numpy as np
import torch

from loom.ops import numpy as lnp
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

KNP = keras.ops.numpy


def inputs() -> dict:
    """Small seeded inputs by kind: u in (-0.9, 0.9), p in (0.5, 2), g in (1.1, 3), signed/positive ints, bools."""
    rng = np.random.default_rng(0)
    return {
        "u": rng.uniform(-0.9, 0.9, (2, 3)).astype("float32"),
        "p": rng.uniform(0.5, 2.0, (2, 3)).astype("float32"),
        "g": rng.uniform(1.1, 3.0, (2, 3)).astype("float32"),
        "n": rng.normal(size=(2, 3)).astype("float32") * 3,
        "n3": rng.normal(size=(3,)).astype("float32"),
        "row": rng.normal(size=(1, 3)).astype("float32"),
        "i": rng.integers(-3, 4, (2, 3)).astype("int32"),
        "ip": rng.integers(1, 6, (2, 3)).astype("int32"),
        "i3": rng.integers(1, 6, (3,)).astype("int32"),
        "b": rng.integers(0, 2, (2, 3)).astype(bool),
        "f64": rng.normal(size=(2, 3)),
        "i64": rng.integers(-3, 4, (2, 3)),
        "u8": rng.integers(0, 9, (2, 3)).astype("uint8"),
        "f16": rng.uniform(0.5, 2.0, (2, 3)).astype("float16"),
        "sq": rng.normal(size=(3, 3)).astype("float32"),
        "cube": rng.normal(size=(2, 3, 4)).astype("float32"),
        "nan": np.array([[1.0, np.nan, 3.0], [np.nan, 5.0, -1.0]], "float32"),
        "v": rng.normal(size=(4,)).astype("float32"),
    }


X = inputs()


def to_numpy(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().numpy()
    return keras.ops.convert_to_numpy(t)


def dtype_of(t) -> str:
    if isinstance(t, torch.Tensor):
        return str(t.dtype).replace("torch.", "")
    return keras.backend.standardize_dtype(getattr(t, "dtype", type(t)))


def assert_same(got, want, rel: float = 1e-5, check_dtype: bool = True, where: str = "") -> None:
    """Equal structure, shapes, dtypes and values (NaN equal to NaN)."""
    if isinstance(want, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), f"{where}: {type(got)} vs {type(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, rel, check_dtype, f"{where}[{i}]")
        return
    if isinstance(want, (int, float, bool)) and not isinstance(got, torch.Tensor):
        assert got == want, f"{where}: {got} != {want}"
        return
    assert isinstance(got, torch.Tensor), f"{where}: loom returned {type(got).__name__}, not a torch tensor"
    if check_dtype:
        assert dtype_of(got) == dtype_of(want), f"{where}: dtype {dtype_of(got)} != keras {dtype_of(want)}"
    g, w = to_numpy(got), to_numpy(want)
    assert g.shape == w.shape, f"{where}: shape {g.shape} != keras {w.shape}"
    if g.dtype == bool or w.dtype == bool:
        np.testing.assert_array_equal(g, w, err_msg=where)
    else:
        assert_allclose_scaled(np.nan_to_num(g.astype(np.float64), nan=12345.0),
                               np.nan_to_num(w.astype(np.float64), nan=12345.0), rel=rel, err_msg=where)


def check(name: str, *args, rel: float = 1e-5, check_dtype: bool = True, **kwargs) -> None:
    """loom's ``name`` and Keras's on fresh copies of the same arguments."""
    want = getattr(KNP, name)(*args, **kwargs)
    got = getattr(lnp, name)(*args, **kwargs)
    assert_same(got, want, rel, check_dtype, where=f"{name}{tuple(np.shape(a) for a in args)} {kwargs}")


def check_grad(name: str, *args, rel: float = 1e-4, **kwargs) -> None:
    """Gradients of ``sum(op(*args) * weights)`` w.r.t. every float array argument, loom vs Keras."""
    floats = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    if not floats:
        return

    def run(fn):
        ts = [torch.tensor(a, requires_grad=True) if i in floats else a for i, a in enumerate(args)]
        out = fn(*ts, **kwargs)
        outs = out if isinstance(out, (list, tuple)) else [out]
        total = sum((o * torch.linspace(0.5, 1.5, o.numel()).reshape(o.shape)).sum()
                    for o in outs if isinstance(o, torch.Tensor) and o.dtype.is_floating_point)
        total.backward()
        return [ts[i].grad for i in floats]

    for i, (g, w) in enumerate(zip(run(getattr(lnp, name)), run(getattr(KNP, name)))):
        if w is None:
            continue
        assert g is not None, f"{name}: loom gives no gradient for argument {floats[i]}"
        assert_allclose_scaled(g.numpy(), w.numpy(), rel=rel, err_msg=f"{name} grad of argument {floats[i]}")
