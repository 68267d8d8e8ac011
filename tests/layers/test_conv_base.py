"""conv_base: argument checks, Keras/TF 'same' padding, the copy-free channels_last layout, kernel layouts."""

import math

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from loom.layers.conv_base import SpatialOp, data_format_arg, int_tuple, padding_arg, same_padding


def _tf_same_padding(size, kernel, stride, dilation):
    effective = (kernel - 1) * dilation + 1
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


@pytest.mark.parametrize("size", [1, 4, 5, 7, 8])
@pytest.mark.parametrize("kernel,stride,dilation", [(1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 2), (3, 2, 1),
                                                    (4, 3, 1), (5, 2, 1), (2, 4, 1)])
def test_same_padding_is_tensorflows(size, kernel, stride, dilation):
    before, after = same_padding(size, kernel, stride, dilation)
    assert (before, after) == _tf_same_padding(size, kernel, stride, dilation)
    assert after - before in (0, 1)  # the extra element goes at the end
    effective = (kernel - 1) * dilation + 1
    assert (size + before + after - effective) // stride + 1 == math.ceil(size / stride)


def test_int_tuple_and_errors():
    assert int_tuple(3, 2, "kernel_size", "L") == (3, 3)
    assert int_tuple([2, np.int64(4)], 2, "kernel_size", "L") == (2, 4)
    assert int_tuple((0, 1), 2, "padding", "L", allow_zero=True) == (0, 1)
    for bad in [(1, 2, 3), 0, (1, 0), "3", 2.5, None, (True, 1)]:
        with pytest.raises(ConfigError, match="kernel_size"):
            int_tuple(bad, 2, "kernel_size", "L")


def test_padding_and_data_format_args_list_the_options():
    assert padding_arg("SAME", "L") == "same"
    with pytest.raises(ConfigError, match=r"\['valid', 'same'\]"):
        padding_arg("causal", "L")
    assert data_format_arg(None, "L") == "channels_last"
    assert data_format_arg("Channels_First", "L") == "channels_first"
    with pytest.raises(ConfigError, match="channels_last"):
        data_format_arg("NHWC", "L")


@pytest.mark.parametrize("layer", [
    lambda: loom.layers.Conv2D(4, 3, padding="same"),
    lambda: loom.layers.Conv2D(4, 3, strides=2, groups=2),
    lambda: loom.layers.DepthwiseConv2D(3, depth_multiplier=2),
    lambda: loom.layers.Conv1D(4, 3, padding="causal"),
    lambda: loom.layers.Conv1D(4, 3, strides=2),
    lambda: loom.layers.Conv3D(4, 2),
    lambda: loom.layers.Conv2DTranspose(4, 3, strides=2),
    lambda: loom.layers.MaxPooling2D(),
    lambda: loom.layers.AveragePooling2D(2),
    lambda: loom.layers.MaxPooling1D(),
    lambda: loom.layers.SeparableConv2D(4, 3),
    lambda: loom.layers.UpSampling2D(interpolation="bilinear"),
])
def test_channels_last_output_is_contiguous_without_copies(layer):
    """A contiguous NHWC input gives a contiguous NHWC output: the permutes are views, torch keeps the
    channels_last memory format (and 1-D layers run as 2-D so they keep it too)."""
    layer = layer()
    rank = layer.rank if hasattr(layer, "rank") else 2
    shape = {1: (2, 12, 4), 2: (2, 8, 9, 4), 3: (2, 6, 5, 4, 4)}[rank]
    x = torch.randn(shape)
    y = layer(x)
    assert y.is_contiguous()


@pytest.mark.parametrize("layer", [
    lambda: loom.layers.Conv2D(4, 3, activation="relu"),
    lambda: loom.layers.Conv1D(4, 3, activation="relu"),
    lambda: loom.layers.SeparableConv2D(4, 3, activation="relu"),
    lambda: loom.layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu", use_bias=False),
])
def test_activation_in_place_never_on_a_view_while_training(layer):
    """An in-place ReLU on the channels-last view of a convolution's output would make autograd copy the whole
    output around it (CopySlices / AsStridedBackward): the activation runs on the op's own output."""
    layer = layer()
    x = torch.randn((2, 12, 4) if layer.rank == 1 else (2, 8, 9, 4), requires_grad=True)
    y = layer(x)
    seen, stack = set(), [y.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            stack.extend(next_node for next_node, _ in node.next_functions)
    names = {type(node).__name__ for node in seen}
    assert "ReluBackward0" in names and not names & {"CopySlices", "AsStridedBackward0"}, names
    (grad,) = torch.autograd.grad((y * y).sum(), x)
    layer.activation = loom.activations.linear
    (expected,) = torch.autograd.grad((torch.relu(layer(x)) ** 2).sum(), x)
    torch.testing.assert_close(grad, expected)


def test_spatial_op_views_share_storage():
    op = SpatialOp(2, (3, 3), (1, 1), (1, 1), "same", "channels_last")
    x = torch.randn(2, 5, 6, 3)
    first = op.to_first(x)
    assert first.shape == (2, 3, 5, 6) and first.data_ptr() == x.data_ptr()
    assert first.is_contiguous(memory_format=torch.channels_last)
    assert op.to_last(first).data_ptr() == x.data_ptr()
    lifted = SpatialOp(1, (3,), (1,), (1,), "valid", "channels_last")
    x1 = torch.randn(2, 7, 3)
    assert lifted.to_first(x1).shape == (2, 3, 1, 7)
    assert torch.equal(lifted.to_last(lifted.to_first(x1)), x1)


def test_spatial_op_padding_plans():
    same = SpatialOp(2, (3, 2), (1, 1), (1, 1), "same", "channels_last")
    assert same.padding_for(torch.empty(1, 1, 5, 5)) == ((0, 0), (0, 1, 1, 1))  # asymmetric -> F.pad
    odd = SpatialOp(2, (3, 3), (1, 1), (1, 1), "same", "channels_last")
    assert odd.padding_for(torch.empty(1, 1, 5, 5)) == ((1, 1), None)  # symmetric -> op padding
    strided = SpatialOp(2, (3, 3), (2, 2), (1, 1), "same", "channels_first")
    assert strided.padding_for(torch.empty(1, 1, 8, 7)) == ((0, 0), (1, 1, 0, 1))
    causal = SpatialOp(1, (3,), (1,), (2,), "causal", "channels_last")
    assert causal.padding_for(torch.empty(1, 1, 1, 9)) == ((0, 0), (4, 0, 0, 0))


@pytest.mark.parametrize("layer,keras_shapes", [
    (lambda: loom.layers.Conv2D(6, (2, 3), groups=2), [(2, 3, 2, 6), (6,)]),
    (lambda: loom.layers.Conv1D(6, 3), [(3, 4, 6), (6,)]),
    (lambda: loom.layers.Conv2DTranspose(6, 3), [(3, 3, 6, 4), (6,)]),
    (lambda: loom.layers.DepthwiseConv2D(3, depth_multiplier=2), [(3, 3, 4, 2), (8,)]),
    (lambda: loom.layers.SeparableConv2D(5, 3, depth_multiplier=2), [(3, 3, 4, 2), (1, 1, 8, 5), (5,)]),
])
def test_kernels_stored_in_torch_layout_shown_in_keras_layout(layer, keras_shapes):
    layer = layer()
    rank = layer.rank
    layer(torch.randn((2,) + (7,) * rank + (4,)))
    weights = layer.get_weights()
    assert [w.shape for w in weights] == keras_shapes
    new = [np.random.default_rng(i).standard_normal(w.shape).astype("float32") for i, w in enumerate(weights)]
    layer.set_weights(new)
    for got, want in zip(layer.get_weights(), new):
        np.testing.assert_array_equal(got, want)


def test_initializer_sees_keras_shape_fans():
    """glorot_uniform's limit uses Keras's fans: receptive field * in, receptive field * out."""
    layer = loom.layers.Conv2D(64, 3)
    layer(torch.zeros(1, 5, 5, 32))
    limit = math.sqrt(6 / (9 * 32 + 9 * 64))
    kernel = layer.get_weights()[0]
    assert np.abs(kernel).max() <= limit
    assert np.abs(kernel).max() > 0.9 * limit


def test_wrong_channel_count_is_a_clear_error():
    conv = loom.layers.Conv2D(4, 3)
    conv(torch.zeros(1, 5, 5, 3))
    with pytest.raises(ShapeError, match=r"'conv2d'.*3 channels.*\(1, 5, 5, 2\)"):
        conv(torch.zeros(1, 5, 5, 2))
    with pytest.raises(ShapeError, match="axis -1"):
        conv(loom.Input((5, 5, 2)))
    with pytest.raises(ShapeError, match="rank 4"):
        loom.layers.Conv2D(4, 3)(loom.Input((5, 3)))


@pytest.mark.parametrize("kwargs,match", [
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 4, "kernel_size": 3, "groups": 3}, "groups"),
    ({"filters": 4, "kernel_size": 0}, "kernel_size"),
    ({"filters": 4, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "dilation_rate"),
    ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "causal"),
    ({"filters": 4, "kernel_size": 3, "padding": "full"}, "padding"),
    ({"filters": 4, "kernel_size": 3, "data_format": "NCHW"}, "data_format"),
])
def test_conv_argument_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        loom.layers.Conv2D(**kwargs)


def test_groups_must_divide_input_channels():
    with pytest.raises(ConfigError, match="divisible by groups=2"):
        loom.layers.Conv2D(4, 3, groups=2)(loom.Input((5, 5, 3)))
