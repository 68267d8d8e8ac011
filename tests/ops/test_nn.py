"""loom.ops.nn against keras.ops.nn on the same inputs: values, dtypes, shapes, gradients, errors."""

import itertools

import numpy as np
import pytest
import torch

from loom import LoomError
from loom.errors import ConfigError, ShapeError
from loom.ops import nn
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

K = keras.ops.nn
RNG = np.random.default_rng(0)
X = RNG.normal(size=(3, 4)).astype("float32") * 2
XI = np.array([[-3, -1, 0], [1, 2, 5]], dtype="int32")


def _np(t):
    return keras.ops.convert_to_numpy(t) if not isinstance(t, torch.Tensor) else t.detach().cpu().numpy()


def _same(got, want, rel=1e-5):
    assert str(got.dtype).replace("torch.", "") == keras.backend.standardize_dtype(want.dtype), (got.dtype,
                                                                                                 want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    assert_allclose_scaled(_np(got), _np(want), rel=rel)


UNARY = ["relu", "relu6", "sigmoid", "sparse_sigmoid", "softplus", "softsign", "soft_shrink", "sparse_plus",
         "silu", "swish", "squareplus", "log_sigmoid", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_swish",
         "elu", "selu", "gelu", "celu", "glu", "tanh_shrink", "hard_tanh", "hard_shrink", "softmax",
         "log_softmax", "sparsemax"]


@pytest.mark.parametrize("name", UNARY)
def test_activation_values_dtypes_and_gradients(name):
    _same(getattr(nn, name)(X), getattr(K, name)(X))
    _same(getattr(nn, name)(X.astype("float16")), getattr(K, name)(X.astype("float16")), rel=2e-3)
    a, b = torch.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    getattr(nn, name)(a).pow(2).sum().backward()
    getattr(K, name)(b).pow(2).sum().backward()
    assert_allclose_scaled(a.grad.numpy(), b.grad.numpy(), rel=1e-5)


@pytest.mark.parametrize("name", UNARY)
def test_activation_integer_inputs(name):
    x = XI if name != "glu" else XI[:, :2]
    try:
        want = getattr(K, name)(x)
    except (NotImplementedError, RuntimeError):  # Keras fails on ints here; loom computes in floatx
        assert getattr(nn, name)(x).dtype == torch.float32
        return
    _same(getattr(nn, name)(x), want)
    assert getattr(nn, name)(x > 0).dtype == torch.float32  # bools compute in floatx (Keras fails on most)


@pytest.mark.parametrize("name,kwargs", [("leaky_relu", {"negative_slope": 0.1}), ("elu", {"alpha": 0.5}),
                                         ("celu", {"alpha": 2.0}), ("gelu", {"approximate": False}),
                                         ("soft_shrink", {"threshold": 1.0}), ("hard_shrink", {"threshold": 1.0}),
                                         ("squareplus", {"b": 2}), ("softmax", {"axis": 0}),
                                         ("softmax", {"axis": None}), ("log_softmax", {"axis": None}),
                                         ("softmax", {"axis": (0, 1)}), ("log_softmax", {"axis": (1, 0)}),
                                         ("sparsemax", {"axis": 0}), ("glu", {"axis": 0}),
                                         ("threshold", {"threshold": 0.5, "default_value": -1.0})])
def test_activation_arguments(name, kwargs):
    x = X if name != "glu" else X[:2]
    _same(getattr(nn, name)(x, **kwargs), getattr(K, name)(x, **kwargs))


def test_activation_errors():
    with pytest.raises(ShapeError, match="softmax"):
        nn.softmax(X, axis=2)
    with pytest.raises(ShapeError, match="glu"):
        nn.glu(np.zeros((2, 3), "float32"))
    with pytest.warns(UserWarning, match="size 1"):
        nn.softmax(np.zeros((2, 1), "float32"))


def test_polar():
    r, a = np.abs(X), X[::-1].copy()
    got, want = nn.polar(r, a), K.polar(r, a)
    assert got.dtype == want.dtype == torch.complex64
    _same(torch.view_as_real(got), torch.view_as_real(want))


LOGITS = RNG.normal(size=(4, 5)).astype("float32")
PROBS = np.exp(LOGITS) / np.exp(LOGITS).sum(-1, keepdims=True)
LABELS = np.array([0, 4, 2, 1], dtype="int32")
ONEHOT = np.eye(5, dtype="float32")[LABELS]


@pytest.mark.parametrize("from_logits", [False, True])
def test_crossentropies(from_logits):
    out = LOGITS if from_logits else PROBS
    _same(nn.categorical_crossentropy(ONEHOT, out, from_logits), K.categorical_crossentropy(ONEHOT, out, from_logits))
    _same(nn.sparse_categorical_crossentropy(LABELS, out, from_logits),
          K.sparse_categorical_crossentropy(LABELS, out, from_logits))
    _same(nn.sparse_categorical_crossentropy(LABELS[:, None], out, from_logits),
          K.sparse_categorical_crossentropy(LABELS[:, None], out, from_logits))
    _same(nn.categorical_crossentropy(ONEHOT.T, out.T, from_logits, axis=0),
          K.categorical_crossentropy(ONEHOT.T, out.T, from_logits, axis=0))
    _same(nn.sparse_categorical_crossentropy(LABELS, out.T, from_logits, axis=0),
          K.sparse_categorical_crossentropy(LABELS, out.T, from_logits, axis=0))
    binary = PROBS if not from_logits else LOGITS
    _same(nn.binary_crossentropy(ONEHOT, binary, from_logits), K.binary_crossentropy(ONEHOT, binary, from_logits))


def test_crossentropy_errors():
    with pytest.raises(ShapeError, match="categorical_crossentropy.*target"):
        nn.categorical_crossentropy(ONEHOT[:, :3], PROBS)
    with pytest.raises(ShapeError, match="sparse_categorical_crossentropy"):
        nn.sparse_categorical_crossentropy(LABELS[:3], PROBS)
    with pytest.raises(ShapeError, match="binary_crossentropy"):
        nn.binary_crossentropy(ONEHOT, PROBS[:2])


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot_and_multi_hot(axis):
    x = np.array([[0, 2, -1], [3, 1, 1]], dtype="int32")
    _same(nn.one_hot(x, 4, axis=axis), K.one_hot(x, 4, axis=axis))
    _same(nn.one_hot(x, 4, dtype="int32"), K.one_hot(x, 4, dtype="int32"))
    _same(nn.multi_hot(x, 4), K.multi_hot(x, 4))
    _same(nn.multi_hot(x[0], 4), K.multi_hot(x[0], 4))
    with pytest.raises(ConfigError, match="num_classes"):
        nn.one_hot(x, 0)


@pytest.mark.parametrize("axes,keepdims", [([0], False), ([0, 1], True), ([-1], False)])
def test_moments(axes, keepdims):
    x = RNG.normal(size=(3, 4, 5)).astype("float32")
    for got, want in zip(nn.moments(x, axes, keepdims), K.moments(x, axes, keepdims)):
        _same(got, want)


def test_normalizations():
    x = RNG.normal(size=(2, 3, 4)).astype("float32")
    mean, var = RNG.normal(size=3).astype("float32"), RNG.uniform(0.5, 2, size=3).astype("float32")
    off, sc = RNG.normal(size=3).astype("float32"), RNG.normal(size=3).astype("float32")
    _same(nn.batch_normalization(x, mean, var, 1, off, sc), K.batch_normalization(x, mean, var, 1, off, sc))
    _same(nn.batch_normalization(x, mean, var, 1), K.batch_normalization(x, mean, var, 1))
    g, b = RNG.normal(size=4).astype("float32"), RNG.normal(size=4).astype("float32")
    _same(nn.layer_normalization(x, g, b), K.layer_normalization(x, g, b))
    _same(nn.layer_normalization(x, axis=(1, 2)), K.layer_normalization(x, axis=(1, 2)))
    with pytest.warns(UserWarning):
        want = K.layer_normalization(x, g, rms_scaling=True)
    _same(nn.layer_normalization(x, g, rms_scaling=True), want)
    _same(nn.rms_normalization(x, g), K.rms_normalization(x, g))
    _same(nn.rms_normalization(x, axis=(1, 2)), K.rms_normalization(x, axis=(1, 2)))
    for order in (1, 2, 3):
        _same(nn.normalize(x, axis=1, order=order), K.normalize(x, axis=1, order=order))
    _same(nn.psnr(x, x * 0.9, 2.0), K.psnr(x, x * 0.9, 2.0))
    with pytest.raises(ShapeError, match="batch_normalization.*mean"):
        nn.batch_normalization(x, mean[:2], var, 1)
    with pytest.raises(ConfigError, match="normalize.*order"):
        nn.normalize(x, order=0)
    with pytest.raises(ShapeError, match="psnr"):
        nn.psnr(x, x[0], 1.0)


CONV_CASES = [  # (input shape, kernel shape, strides, padding, dilation)
    ((2, 9, 3), (3, 3, 4), 1, "valid", 1),
    ((2, 9, 3), (3, 3, 4), 2, "same", 1),
    ((2, 8, 7, 3), (3, 2, 3, 4), (2, 1), "same", 1),
    ((2, 8, 7, 4), (3, 3, 2, 6), 1, "valid", 1),  # groups=2
    ((1, 9, 9, 2), (3, 3, 2, 2), 1, "same", 2),
    ((1, 5, 6, 4, 2), (2, 3, 2, 2, 3), 2, "same", 1),
]


@pytest.mark.parametrize("xs,ks,strides,padding,dil", CONV_CASES)
def test_conv(xs, ks, strides, padding, dil):
    x, k = RNG.normal(size=xs).astype("float32"), RNG.normal(size=ks).astype("float32")
    _same(nn.conv(x, k, strides, padding, dilation_rate=dil), K.conv(x, k, strides, padding, dilation_rate=dil))
    xf = np.moveaxis(x, -1, 1)
    _same(nn.conv(xf, k, strides, padding, "channels_first", dil),
          K.conv(xf, k, strides, padding, "channels_first", dil))


@pytest.mark.parametrize("xs,ks,strides,padding,dil", [c for c in CONV_CASES if c[1][-2] == c[0][-1]])
def test_depthwise_and_separable_conv(xs, ks, strides, padding, dil):
    x, k = RNG.normal(size=xs).astype("float32"), RNG.normal(size=ks[:-1] + (2,)).astype("float32")
    if dil == 1 or strides == 1:
        _same(nn.depthwise_conv(x, k, strides, padding, dilation_rate=dil),
              K.depthwise_conv(x, k, strides, padding, dilation_rate=dil))
        pw = RNG.normal(size=(1,) * (len(xs) - 2) + (ks[-2] * 2, 5)).astype("float32")
        _same(nn.separable_conv(x, k, pw, strides, padding, dilation_rate=dil),
              K.separable_conv(x, k, pw, strides, padding, dilation_rate=dil))


@pytest.mark.parametrize("xs,ks,strides,padding,out_pad,dil", [
    ((2, 5, 3), (3, 4, 3), 2, "valid", None, 1),
    ((2, 5, 3), (3, 4, 3), 2, "same", None, 1),
    ((2, 5, 3), (2, 4, 3), 3, "valid", None, 1),
    ((2, 5, 4, 3), (3, 3, 2, 3), 2, "same", 1, 1),
    ((2, 5, 4, 3), (3, 3, 2, 3), (2, 1), "valid", None, 1),
    ((1, 5, 5, 2), (3, 3, 2, 2), 1, "same", None, 2),
    ((1, 4, 3, 2, 2), (2, 2, 2, 3, 2), 2, "same", None, 1),
])
def test_conv_transpose(xs, ks, strides, padding, out_pad, dil):
    x, k = RNG.normal(size=xs).astype("float32"), RNG.normal(size=ks).astype("float32")
    _same(nn.conv_transpose(x, k, strides, padding, out_pad, dilation_rate=dil),
          K.conv_transpose(x, k, strides, padding, out_pad, dilation_rate=dil))


def test_integer_conv_and_max_pool_keep_integer_dtype():
    x = np.arange(2 * 6 * 6 * 2).reshape(2, 6, 6, 2).astype("int32")
    k = RNG.integers(-3, 4, size=(3, 3, 2, 2)).astype("int32")
    _same(nn.conv(x, k, 2, "same"), K.conv(x, k, 2, "same"))
    _same(nn.max_pool(x, 2), K.max_pool(x, 2))
    _same(nn.max_pool(x, 3, 2, "same"), K.max_pool(x, 3, 2, "same"))
    assert nn.conv(x, k.astype("float32")).dtype == torch.float32  # Keras's torch backend fails on this mix


def test_conv_transpose_lengths_and_offsets_grid():
    for k, s, d, padding, out_pad in itertools.product((1, 2, 3, 4), (1, 2, 3), (1, 2), ("valid", "same"),
                                                        (None, 0, 1)):
        if out_pad is not None and 0 < s <= out_pad:
            continue
        x, w = RNG.normal(size=(1, 5, 2)).astype("float32"), RNG.normal(size=(k, 3, 2)).astype("float32")
        _same(nn.conv_transpose(x, w, s, padding, out_pad, dilation_rate=d),
              K.conv_transpose(x, w, s, padding, out_pad, dilation_rate=d))


def test_conv_gradient_and_errors():
    x = torch.tensor(RNG.normal(size=(1, 6, 6, 2)).astype("float32"), requires_grad=True)
    k = torch.tensor(RNG.normal(size=(3, 3, 2, 3)).astype("float32"), requires_grad=True)
    nn.conv(x, k, 2, "same").sum().backward()
    x2, k2 = x.detach().clone().requires_grad_(), k.detach().clone().requires_grad_()
    K.conv(x2, k2, 2, "same").sum().backward()
    assert_allclose_scaled(x.grad.numpy(), x2.grad.numpy())
    assert_allclose_scaled(k.grad.numpy(), k2.grad.numpy())
    with pytest.raises(ShapeError, match="conv.*channels"):
        nn.conv(np.zeros((1, 5, 5, 3), "float32"), np.zeros((3, 3, 2, 4), "float32"))
    with pytest.raises(ShapeError, match="conv.*larger"):
        nn.conv(np.zeros((1, 2, 2, 2), "float32"), np.zeros((3, 3, 2, 4), "float32"))
    with pytest.raises(ConfigError, match="padding"):
        nn.conv(np.zeros((1, 5, 5, 2), "float32"), np.zeros((3, 3, 2, 4), "float32"), padding="full")
    with pytest.raises(ConfigError, match="data_format"):
        nn.max_pool(np.zeros((1, 5, 5, 2), "float32"), 2, data_format="nhwc")


@pytest.mark.parametrize("xs,pool,strides,padding", [
    ((2, 7, 3), 2, None, "valid"), ((2, 7, 3), 3, 2, "same"), ((2, 7, 6, 3), (2, 3), None, "same"),
    ((2, 7, 6, 3), 3, 1, "valid"), ((1, 5, 4, 3, 2), 2, None, "same"),
])
def test_pooling(xs, pool, strides, padding):
    x = RNG.normal(size=xs).astype("float32")
    for name in ("max_pool", "average_pool"):
        _same(getattr(nn, name)(x, pool, strides, padding), getattr(K, name)(x, pool, strides, padding))
    xf = np.moveaxis(x, -1, 1)
    _same(nn.average_pool(xf, pool, strides, padding, "channels_first"),
          K.average_pool(xf, pool, strides, padding, "channels_first"))


def test_average_pool_same_excludes_asymmetric_padding():
    x = np.arange(6, dtype="float32").reshape(1, 6, 1)
    got = nn.average_pool(x, 4, 1, "same")[0, :, 0]  # total padding 3: one before, two after
    want = [np.mean(x[0, max(i - 1, 0):i + 3, 0]) for i in range(6)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6)


def test_adaptive_pooling():
    x = RNG.normal(size=(2, 7, 9, 3)).astype("float32")
    for name in ("adaptive_average_pool", "adaptive_max_pool"):
        _same(getattr(nn, name)(x, (3, 4)), getattr(K, name)(x, (3, 4)))
        _same(getattr(nn, name)(x[:, 0], 4), getattr(K, name)(x[:, 0], 4))


@pytest.mark.parametrize("fmt", ["channels_last", "channels_first"])
def test_depth_space(fmt):
    x = np.arange(2 * 2 * 3 * 12).reshape(2, 2, 3, 12).astype("float32")
    x = x if fmt == "channels_last" else x.transpose(0, 3, 1, 2)
    _same(nn.depth_to_space(x, 2, fmt), K.depth_to_space(x, 2, fmt))
    y = np.arange(2 * 4 * 6 * 3).reshape(2, 4, 6, 3).astype("int32")
    y = y if fmt == "channels_last" else y.transpose(0, 3, 1, 2)
    _same(nn.space_to_depth(y, 2, fmt), K.space_to_depth(y, 2, fmt))
    with pytest.raises(ConfigError, match="block_size"):
        nn.depth_to_space(x, 1)


def test_fold_unfold():
    x = RNG.normal(size=(2, 3, 6, 5)).astype("float32")
    _same(nn.unfold(x, 3, padding=1, stride=2), K.unfold(torch.tensor(x), 3, padding=1, stride=2))
    p = nn.unfold(x, 2)
    _same(nn.fold(p, (6, 5), 2), K.fold(p, (6, 5), 2))
    with pytest.raises(ShapeError, match="unfold"):
        nn.unfold(x[0], 2)


@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"scale": 0.3},
                                    {"mask": "mask"}, {"mask": "mask", "is_causal": True}, {"bias": "bias"},
                                    {"bias": "bias", "is_causal": True}])
def test_dot_product_attention(kwargs):
    q, k, v = (RNG.normal(size=(2, 5, 3, 4)).astype("float32") for _ in range(3))
    extra = dict(kwargs)
    if "mask" in extra:
        extra["mask"] = RNG.uniform(size=(2, 3, 5, 5)) > 0.3
    if "bias" in extra:
        extra["bias"] = RNG.normal(size=(1, 3, 5, 5)).astype("float32")
    _same(nn.dot_product_attention(q, k, v, **extra), K.dot_product_attention(q, k, v, **extra))
    # Keras refuses a logits soft cap off JAX/TPU; a huge cap changes nothing
    _same(nn.dot_product_attention(q, k, v, attn_logits_soft_cap=1e6, **extra), K.dot_product_attention(q, k, v,
                                                                                                          **extra))
    if not kwargs:  # grouped-query attention: 3 query heads share one key/value head
        _same(nn.dot_product_attention(q, k[:, :, :1], v[:, :, :1]), K.dot_product_attention(q, k[:, :, :1],
                                                                                              v[:, :, :1]))
    with pytest.raises(ConfigError, match="bias"):
        nn.dot_product_attention(q, k, v, bias=q, mask=q)
    with pytest.raises(ShapeError, match="key"):
        nn.dot_product_attention(q, k[:, :, :2], v[:, :, :2])
    with pytest.raises(ShapeError, match="query"):
        nn.dot_product_attention(q[0, 0], k, v)


def test_ctc():
    logits = RNG.normal(size=(2, 6, 4)).astype("float32")
    target = np.array([[1, 2, 0], [3, 3, 1]], dtype="int32")
    tl, ol = np.array([2, 3], "int32"), np.array([6, 5], "int32")
    _same(nn.ctc_loss(target, logits, tl, ol), K.ctc_loss(target, logits, tl, ol), rel=1e-4)
    for mask_index, merge in ((0, True), (1, False)):
        got = nn.ctc_decode(logits, ol, merge_repeated=merge, mask_index=mask_index)
        want = K.ctc_decode(logits, ol, merge_repeated=merge, mask_index=mask_index)
        for g, w in zip(got, want):
            _same(g, w)
    for beam_width, top_paths, mask_index in ((10, 3, 0), (2, 2, 3), (50, 1, 1)):
        got = nn.ctc_decode(logits, ol, "beam_search", beam_width, top_paths, mask_index=mask_index)
        want = K.ctc_decode(logits, ol, "beam_search", beam_width, top_paths, mask_index=mask_index)
        assert torch.equal(got[0], want[0])
        _same(got[1], want[1], rel=1e-5)
    with pytest.raises(ConfigError, match="strategy"):
        nn.ctc_decode(logits, ol, strategy="best")
    with pytest.raises(ConfigError, match="top_paths"):
        nn.ctc_decode(logits, ol, strategy="beam_search", beam_width=2, top_paths=3)


def test_every_keras_name_exists():
    names = {n for n in dir(K) if not n.startswith("_")}
    assert names <= set(nn.__all__), names - set(nn.__all__)
    assert issubclass(ShapeError, LoomError)


GRAD_CASES = {  # name -> (args, kwargs); gradients of sum(out**2) w.r.t. every float argument
    "conv_transpose": ((RNG.normal(size=(1, 4, 3, 2)), RNG.normal(size=(3, 3, 2, 2))), {"strides": 2,
                                                                                         "padding": "same"}),
    "depthwise_conv": ((RNG.normal(size=(1, 5, 5, 2)), RNG.normal(size=(3, 3, 2, 2))), {"padding": "same"}),
    "separable_conv": ((RNG.normal(size=(1, 5, 5, 2)), RNG.normal(size=(3, 3, 2, 1)), RNG.normal(size=(1, 1, 2, 3))),
                       {}),
    "max_pool": ((RNG.normal(size=(1, 5, 5, 2)),), {"pool_size": 2, "padding": "same"}),
    "average_pool": ((RNG.normal(size=(1, 5, 5, 2)),), {"pool_size": 3, "strides": 2, "padding": "same"}),
    "categorical_crossentropy": ((ONEHOT, LOGITS), {"from_logits": True}),
    "binary_crossentropy": ((ONEHOT, PROBS), {}),
    "layer_normalization": ((LOGITS, RNG.normal(size=5), RNG.normal(size=5)), {}),
    "rms_normalization": ((LOGITS, RNG.normal(size=5)), {}),
    "normalize": ((LOGITS,), {"order": 1}),
    "dot_product_attention": ((RNG.normal(size=(1, 3, 2, 4)), RNG.normal(size=(1, 3, 2, 4)),
                               RNG.normal(size=(1, 3, 2, 4))), {"is_causal": True}),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_gradients_match_keras(name):
    args, kwargs = GRAD_CASES[name]
    ours = [torch.tensor(np.asarray(a, "float32"), requires_grad=True) for a in args]
    theirs = [torch.tensor(np.asarray(a, "float32"), requires_grad=True) for a in args]
    getattr(nn, name)(*ours, **kwargs).pow(2).sum().backward()
    getattr(K, name)(*theirs, **kwargs).pow(2).sum().backward()
    for a, b in zip(ours, theirs):
        if b.grad is not None:
            assert_allclose_scaled(a.grad.numpy(), b.grad.numpy(), rel=1e-4)


def test_torch_failures_become_loom_errors():
    with pytest.raises(LoomError, match="ctc_loss"):
        nn.ctc_loss(np.array([[1, 9]]), LOGITS[None], np.array([2]), np.array([4]))
