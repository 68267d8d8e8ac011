"""MobileNetV2 (Sandler et al., 2018, https://arxiv.org/abs/1801.04381): inverted residual blocks with
linear bottlenecks, layer for layer as Keras's ``keras.applications.mobilenet_v2`` (same layer names and
order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (scaled to [-1, 1]); ImageNet weights
exist for 96, 128, 160, 192 and 224 pixels, the smallest input is 32x32.

Example:
    >>> MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3)).count_params()
    2257984
"""

from __future__ import annotations

from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights
from loom.applications.mobilenet import native_size, pretrained_rows
from loom.errors import ConfigError

__all__ = ["MobileNetV2", "preprocess_input", "decode_predictions", "make_divisible"]

_SIZES = (96, 128, 160, 192, 224)
_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# (filters, stride, expansion) of the 17 inverted residual blocks.
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
           (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
           (320, 1, 6))


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """``v`` rounded to a multiple of ``divisor`` (at least ``min_value``, default ``divisor``), never more
    than 10% below ``v``: the channel rounding of the MobileNets and EfficientNets.

    Example:
        >>> make_divisible(32 * 0.35), make_divisible(1280 * 1.3)
        (16, 1664)
    """
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _bn(x: Any, name: str) -> Any:
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)(x)


def _inverted_res_block(inputs: Any, expansion: int, stride: int, alpha: float, filters: int, block_id: int) -> Any:
    in_channels = inputs.shape[-1]
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    x, prefix = inputs, f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False, activation=None,
                          name=f"{prefix}expand")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(_bn(x, f"{prefix}expand_BN"))
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(_bn(x, f"{prefix}depthwise_BN"))
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = _bn(x, f"{prefix}project_BN")
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _body(alpha: float):
    def body(img_input):
        x = layers.Conv2D(make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same",
                          use_bias=False, name="Conv1")(img_input)
        x = layers.ReLU(6.0, name="Conv1_relu")(_bn(x, "bn_Conv1"))
        for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
            x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride, expansion=expansion,
                                    block_id=block_id)
        last = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
        x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
        return layers.ReLU(6.0, name="out_relu")(_bn(x, "Conv_1_bn"))
    return body


def _input_shape(input_shape: Any, input_tensor: Any) -> Any:
    """Keras's rule: without ``input_shape``, the shape of ``input_tensor`` decides the native size."""
    if input_shape is None and input_tensor is not None and getattr(input_tensor, "ndim", 0) == 4:
        return tuple(input_tensor.shape[1:])
    return input_shape


@imagenet_utils.with_application_args_doc
def MobileNetV2(input_shape: Any = None, alpha: float = 1.0, include_top: bool = True, weights: Any = "imagenet",
                input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str | None = None) -> Any:
    """MobileNetV2: 17 inverted residual blocks, 3.5 million parameters at ``alpha=1``.

    ``alpha`` (default 1.0) scales every layer's filters. The default name is
    ``mobilenetv2_{alpha:0.2f}_{rows}``."""
    imagenet_utils.check_weights_arg(weights, include_top, classes)
    default_size = native_size(_input_shape(input_shape, input_tensor), _SIZES)
    shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                              require_flatten=include_top, weights=weights)
    rows, pretrained = shape[0], None
    if weights == "imagenet":
        if alpha not in _ALPHAS:
            raise ConfigError(f"MobileNetV2: with weights='imagenet' alpha must be one of {list(_ALPHAS)}; "
                              f"got {alpha}.")
        rows = pretrained_rows(shape, _SIZES)
        stem = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
        pretrained = PretrainedWeights("mobilenet_v2", f"{stem}.h5", f"{stem}_no_top.h5", None, None)
    return imagenet_utils.build_application(
        _body(alpha), name=name or f"mobilenetv2_{alpha:0.2f}_{rows}", default_size=default_size, min_size=32,
        pretrained=pretrained, include_top=include_top, weights=weights, input_tensor=input_tensor,
        pooling=pooling, classes=classes, classifier_activation=classifier_activation, shape=shape, top_pool_name=None)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """MobileNetV2's preprocessing: pixels scaled from [0, 255] to [-1, 1] (``'tf'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
