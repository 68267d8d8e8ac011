"""loom.ops.linalg against keras.ops.linalg."""

import numpy as np
import pytest
import torch

from loom.errors import ConfigError, InputError, ShapeError
from loom.ops import linalg
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

K = keras.ops.linalg
RNG = np.random.default_rng(1)
A = RNG.normal(size=(2, 3, 3)).astype("float32")
SPD = (A @ A.transpose(0, 2, 1) + 3 * np.eye(3)).astype("float32")
B = RNG.normal(size=(2, 3, 2)).astype("float32")
R = RNG.normal(size=(4, 3)).astype("float32")


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _same(got, want, rel=1e-4):
    got = got if isinstance(got, (tuple, list)) else (got,)
    want = want if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
        if g.is_complex():
            g, w = torch.view_as_real(g), torch.view_as_real(w)
        assert_allclose_scaled(_np(g), _np(w), rel=rel)


@pytest.mark.parametrize("name,args", [
    ("cholesky", (SPD,)), ("cholesky", (SPD, True)), ("cholesky_inverse", (np.linalg.cholesky(SPD),)),
    ("det", (A,)), ("eigh", (SPD,)), ("inv", (A,)), ("lu_factor", (A,)), ("qr", (R,)), ("qr", (R, "complete")),
    ("solve", (A, B)), ("solve_triangular", (np.triu(A), B)), ("solve_triangular", (np.tril(A), B[..., 0], True)),
    ("svd", (R,)), ("svd", (R, False)), ("svd", (R, True, False)), ("lstsq", (R, R[:, :2])),
    ("lstsq", (R, R[:, 0], 1e-3)), ("matrix_rank", (R,)), ("matrix_rank", (R @ np.ones((3, 3), "float32"),)),
    ("pinv", (R,)), ("pinv", (R, 0.1)),
])
def test_matches_keras(name, args):
    _same(getattr(linalg, name)(*args), getattr(K, name)(*args))


def test_eig_values():
    got, want = linalg.eig(SPD[0]), K.eig(SPD[0])
    assert got[0].dtype == want[0].dtype == torch.complex64
    _same(torch.sort(got[0].real).values, torch.sort(want[0].real).values)


@pytest.mark.parametrize("ord,axis", [(None, None), (1, None), ("fro", (1, 2)), ("nuc", (1, 2)), (2, -1),
                                      (np.inf, 1), (-np.inf, (1, 2)), (0, -1), (3, 0)])
def test_norm(ord, axis):
    x = A if axis is not None else A[0, 0]
    _same(linalg.norm(x, ord, axis), K.norm(x, ord, axis))
    _same(linalg.norm(x, ord, axis, keepdims=True), K.norm(x, ord, axis, keepdims=True))


def test_integer_inputs_and_gradients():
    m = np.array([[2, 1], [1, 3]], dtype="int32")
    _same(linalg.det(m), torch.tensor(5.0))
    x = torch.tensor(A, requires_grad=True)
    linalg.det(x).sum().backward()
    assert_allclose_scaled(x.grad.numpy(), np.linalg.det(A)[:, None, None] * np.linalg.inv(A).transpose(0, 2, 1))


def test_jvp():
    out, tangent = linalg.jvp(torch.sin, (torch.tensor([0.0, 1.0]),), (torch.tensor([1.0, 1.0]),))
    _same(tangent, torch.cos(torch.tensor([0.0, 1.0])))
    got = linalg.jvp(lambda x: (x * 2, x), (torch.ones(2),), (torch.ones(2),), has_aux=True)
    assert len(got) == 3
    with pytest.raises(ShapeError, match="jvp"):
        linalg.jvp(torch.sin, (torch.ones(2),), ())


def test_errors():
    with pytest.raises(ShapeError, match="linalg.inv.*square"):
        linalg.inv(R)
    with pytest.raises(ShapeError, match="linalg.det.*rank"):
        linalg.det(np.ones(3, "float32"))
    with pytest.raises(ConfigError, match="mode"):
        linalg.qr(R, mode="full")
    with pytest.raises(InputError, match="linalg.cholesky"):
        linalg.cholesky(-SPD)
    with pytest.raises(ShapeError, match="lstsq"):
        linalg.lstsq(R, R[:2])


def test_every_keras_name_exists():
    assert {n for n in dir(K) if not n.startswith("_")} <= set(linalg.__all__)
