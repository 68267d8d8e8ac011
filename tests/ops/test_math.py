"""loom.ops.math against Keras's math ops (keras.ops.segment_sum, top_k, fft, stft, ...)."""

import numpy as np
import pytest
import torch

from loom.errors import ConfigError, InputError, ShapeError
from loom.ops import math
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

K = keras.ops
RNG = np.random.default_rng(2)
X = RNG.normal(size=(3, 8)).astype("float32")


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def _same(got, want, rel=1e-5):
    got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    want = tuple(want) if isinstance(want, (tuple, list)) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape, (g.dtype, w.dtype, g.shape, w.shape)
        if g.is_complex():
            g, w = torch.view_as_real(g), torch.view_as_real(w)
        g, w = _np(g), _np(w)
        np.testing.assert_array_equal(np.isfinite(g), np.isfinite(w))
        np.testing.assert_array_equal(g[~np.isfinite(g)], w[~np.isfinite(w)])
        assert_allclose_scaled(np.where(np.isfinite(g), g, 0), np.where(np.isfinite(w), w, 0), rel=rel)


@pytest.mark.parametrize("name", ["segment_sum", "segment_max", "segment_min", "segment_prod"])
@pytest.mark.parametrize("ids,num", [([0, 0, 1, 2, 2, 2], None), ([2, 0, 1, 0, 2, 1], 3), ([0, 1, 1, 3, 3, 9], 5)])
def test_segments(name, ids, num):
    data = RNG.normal(size=(6, 2)).astype("float32")
    ids = np.array(ids, "int32")
    _same(getattr(math, name)(data, ids, num), getattr(K, name)(data, ids, num))
    if name == "segment_sum":
        _same(math.segment_sum(data.astype("int32") * 0 + 3, ids, num),
              K.segment_sum(data.astype("int32") * 0 + 3, ids, num))


def test_segment_gradient_and_errors():
    data = torch.tensor(RNG.normal(size=(4, 2)).astype("float32"), requires_grad=True)
    math.segment_sum(data, [0, 1, 0, 1]).sum().backward()
    assert torch.equal(data.grad, torch.ones(4, 2))
    with pytest.raises(ShapeError, match="segment_sum.*segment_ids"):
        math.segment_sum(np.ones((4, 2)), [0, 1])


def test_top_k_in_top_k_logsumexp():
    for sorted_ in (True, False):
        got, want = math.top_k(X, 3, sorted_), K.top_k(X, 3, sorted_)
        if sorted_:
            _same(tuple(got), tuple(want))
        else:
            _same(torch.sort(got[0]).values, torch.sort(want[0]).values)
    preds, targets = X, np.array([1, 5, 7], "int32")
    for k in (1, 3, 8):
        _same(math.in_top_k(targets, preds, k), K.in_top_k(targets, preds, k))
    for axis, keep in ((None, False), (1, True), (-2, False), ((0, 1), False)):
        _same(math.logsumexp(X, axis, keep), K.logsumexp(X, axis, keep))
    with pytest.raises(ConfigError, match="top_k"):
        math.top_k(X, 9)
    with pytest.raises(ShapeError, match="logsumexp"):
        math.logsumexp(X, 2)


@pytest.mark.parametrize("name", ["rsqrt", "erf", "erfc", "erfinv"])
def test_unary(name):
    x = np.abs(X) / 5 + 0.01
    _same(getattr(math, name)(x), getattr(K, name)(x))
    _same(getattr(math, name)(np.array([1, 2], "int32") if name != "erfinv" else np.array([0, 0], "int32")),
          getattr(K, name)(np.array([1, 2], "int32") if name != "erfinv" else np.array([0, 0], "int32")))


def test_cdist_logdet_sequences_views():
    a, b = RNG.normal(size=(2, 4, 3)).astype("float32"), RNG.normal(size=(2, 5, 3)).astype("float32")
    _same(math.cdist(a, b), K.cdist(a, b))
    spd = (a[:, :3] @ a[:, :3].transpose(0, 2, 1) + np.eye(3)).astype("float32")
    _same(math.logdet(spd), K.logdet(spd))
    _same(math.extract_sequences(X, 3, 2), K.extract_sequences(X, 3, 2))
    pairs = RNG.normal(size=(3, 2)).astype("float32")
    _same(math.view_as_complex(pairs), K.view_as_complex(pairs))
    _same(math.view_as_real(math.view_as_complex(pairs)), K.view_as_real(K.view_as_complex(pairs)))
    with pytest.raises(ShapeError, match="cdist"):
        math.cdist(a, b[..., :2])
    with pytest.raises(ShapeError, match="view_as_complex"):
        math.view_as_complex(X)


def test_ffts():
    re, im = X, X[::-1].copy()
    for name in ("fft", "fft2", "ifft2"):
        _same(getattr(math, name)((re, im)), getattr(K, name)((re, im)))
    for n in (None, 6, 12):
        _same(math.rfft(X, n), K.rfft(X, n))
        spec = K.rfft(X, n)
        _same(math.irfft(spec, n), K.irfft(spec, n))
    with pytest.raises(InputError, match="fft"):
        math.fft(re)
    with pytest.raises(ShapeError, match="fft"):
        math.fft((re, im[:2]))


@pytest.mark.parametrize("seq,stride,nfft,window,center", [
    (8, 4, 8, "hann", True), (6, 2, 8, "hamming", False), (8, 3, 16, None, True), (5, 2, 8, "hann", True),
])
def test_stft_istft(seq, stride, nfft, window, center):
    x = RNG.normal(size=(2, 40)).astype("float32")
    got, want = math.stft(x, seq, stride, nfft, window, center), K.stft(x, seq, stride, nfft, window, center)
    _same(got, want, rel=1e-4)
    _same(math.istft(want, seq, stride, nfft, None, window, center),
          K.istft(want, seq, stride, nfft, None, window, center), rel=1e-4)
    _same(math.istft(want, seq, stride, nfft, 30, window, center),
          K.istft(want, seq, stride, nfft, 30, window, center), rel=1e-4)
    with pytest.raises(ConfigError, match="stft.*fft_length"):
        math.stft(x, 8, 2, 4)



@pytest.mark.parametrize("name,args,kwargs", [
    ("logsumexp", (X,), {"axis": 1}), ("cdist", (X[:2], X[1:]), {}), ("segment_max", (X, np.array([0, 1, 1])), {}),
    ("segment_prod", (X, np.array([0, 1, 1])), {}),
    ("stft", (np.tile(X, (1, 4)),), {"sequence_length": 8, "sequence_stride": 4, "fft_length": 8}),
    ("rsqrt", (np.abs(X) + 0.5,), {}), ("erfinv", (X / 10,), {}),
])
def test_gradients_match_keras(name, args, kwargs):
    ours = [torch.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
            for a in args]
    theirs = [torch.tensor(a, requires_grad=True) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
              for a in args]

    def loss(out):
        parts = out if isinstance(out, tuple) else (out,)
        return sum(p.pow(2).sum() for p in parts)

    loss(getattr(math, name)(*ours, **kwargs)).backward()
    loss(getattr(K, name)(*theirs, **kwargs)).backward()
    for a, b in zip(ours, theirs):
        if isinstance(b, torch.Tensor) and b.grad is not None:
            assert_allclose_scaled(a.grad.numpy(), b.grad.numpy(), rel=1e-4)
