"""Convolution weights prepacked for oneDNN during one predict() (loom.layers.onednn_weights): packed once per
weight, the same outputs, never a stale copy after the weights change, and nothing packed while a callback
watches the batches."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.layers import conv_base, onednn_weights

pytestmark = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch build has no oneDNN")


def _convnet():
    loom.utils.set_random_seed(3)
    x = loom.Input((12, 12, 3))
    h = layers.SeparableConv2D(8, 3, activation="relu")(x)
    h = layers.Conv2D(8, 3, padding="same")(h)          # no activation: the "none" post-op
    h = layers.BatchNormalization()(h)                  # folded into the convolution before it
    h = layers.Activation("relu")(h)
    h = layers.DepthwiseConv2D(3, activation="tanh")(h)
    h = layers.GlobalAveragePooling2D()(h)
    model = loom.Model(x, layers.Dense(4)(h))
    model.compile(optimizer="sgd", loss="mse")
    return model


def _images(n=40):
    return np.random.default_rng(0).random((n, 12, 12, 3), dtype=np.float32)


@pytest.fixture
def reorders(monkeypatch):
    """Count the weights packed."""
    calls = []
    original = onednn_weights._reorder

    def counting(weight, *args):
        calls.append(tuple(weight.shape))
        return original(weight, *args)
    monkeypatch.setattr(onednn_weights, "_reorder", counting)
    return calls


def test_outside_frozen_nothing_is_packed_and_memo_recomputes():
    weight, x = torch.nn.Parameter(torch.randn(4, 3, 3, 3)), torch.randn(2, 3, 8, 8)
    assert onednn_weights.packed(weight, x, (1, 1), (0, 0), (1, 1), 1) is None
    made = []
    for _ in range(2):
        onednn_weights.memo((weight,), lambda: made.append(1))
    assert made == [1, 1]


def test_inside_frozen_a_weight_is_packed_once_and_views_never():
    weight, x = torch.nn.Parameter(torch.randn(4, 3, 3, 3)), torch.randn(2, 3, 8, 8)
    with onednn_weights.frozen(), torch.no_grad():
        first = onednn_weights.packed(weight, x, (1, 1), (0, 0), (1, 1), 1)
        assert first is not None and first.is_mkldnn
        assert onednn_weights.packed(weight, x, (1, 1), (0, 0), (1, 1), 1) is first
        assert onednn_weights.packed(weight[:2], x, (1, 1), (0, 0), (1, 1), 1) is None  # a per-call tensor
        made = onednn_weights.memo((weight, "fold"), lambda: weight * 2)
        assert onednn_weights.memo((weight, "fold"), lambda: weight * 3) is made
        assert onednn_weights.packed(made, x, (1, 1), (0, 0), (1, 1), 1) is not None  # memo's tensors pack
        got = torch.ops.mkldnn._convolution_pointwise(x, first, None, [0, 0], [1, 1], [1, 1], 1, "none", [], "")
        torch.testing.assert_close(got, torch.nn.functional.conv2d(x, weight), rtol=1e-5, atol=1e-5)
    assert onednn_weights.packed(weight, x, (1, 1), (0, 0), (1, 1), 1) is None  # dropped with the block


def test_predict_packs_each_convolution_once_with_the_same_outputs(reorders):
    model, images = _convnet(), _images()
    with torch.no_grad():
        expected = model(torch.from_numpy(images)).numpy()   # the graph as written, nothing packed
    assert reorders == []
    got = model.predict(images, batch_size=8, verbose=0)      # 5 batches
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # depthwise + pointwise of the separable layer, the folded Conv2D, the depthwise layer: once each per shape
    assert sorted(reorders) == sorted([(3, 1, 3, 3), (8, 3, 1, 1), (8, 8, 3, 3), (8, 1, 3, 3)])


def test_weights_changed_between_predicts_are_used(reorders):
    model, images = _convnet(), _images(16)
    model.predict(images, batch_size=8, verbose=0)
    model.set_weights([w * 0.5 for w in model.get_weights()])
    got = model.predict(images, batch_size=8, verbose=0)
    with torch.no_grad():
        expected = model(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert len(reorders) == 8  # packed again by the second predict


def test_nothing_is_packed_while_a_callback_watches_batches(reorders):
    model, images = _convnet(), _images(16)
    seen = []
    watcher = loom.callbacks.LambdaCallback(on_predict_batch_end=lambda batch, logs: seen.append(batch))
    model.predict(images, batch_size=8, verbose=0, callbacks=[watcher])
    assert seen == [0, 1] and reorders == []


def test_the_none_post_op_without_a_packed_weight_leaves_the_call_to_torch():
    x, w = torch.randn(1, 3, 6, 6), torch.randn(4, 3, 3, 3)
    with torch.no_grad():
        assert conv_base.onednn_conv2d(x, w, None, (1, 1), (0, 0), (1, 1), 1, post_op="none") is None
        fused = conv_base.onednn_conv2d(x, w, None, (1, 1), (0, 0), (1, 1), 1)
    torch.testing.assert_close(fused, torch.relu(torch.nn.functional.conv2d(x, w)), rtol=1e-5, atol=1e-5)
