"""MobileNet (Howard et al., 2017, https://arxiv.org/abs/1704.04861): depthwise separable convolutions with
a width multiplier ``alpha``, layer for layer as Keras's ``keras.applications.mobilenet`` (same layer names
and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (scaled to [-1, 1]); ImageNet weights
exist for 128, 160, 192 and 224 pixels, the smallest input is 32x32.

Example:
    >>> MobileNet(weights=None, alpha=0.25, include_top=False, input_shape=(32, 32, 3)).count_params()
    218544
"""

from __future__ import annotations

import warnings
from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights
from loom.errors import ConfigError

__all__ = ["MobileNet", "preprocess_input", "decode_predictions", "pretrained_rows"]

_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
# (pointwise filters, stride) of the 13 depthwise separable blocks.
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
           (512, 1), (1024, 2), (1024, 1))


def pretrained_rows(input_shape: Any, sizes: tuple[int, ...]) -> int:
    """The image size whose ImageNet weights fit ``input_shape``: its height when square and one of
    ``sizes``, else 224 (with a warning, as Keras)."""
    rows = None if input_shape is None else input_shape[0]
    cols = None if input_shape is None else input_shape[1]
    if rows == cols and rows in sizes:
        return rows
    warnings.warn(f"input_shape is undefined or non-square, or its size is not in {list(sizes)}; the weights "
                  f"for input shape (224, 224) are loaded.", stacklevel=3)
    return 224


def native_size(input_shape: Any, sizes: tuple[int, ...]) -> int:
    """The default size of a family with several native sizes: ``input_shape``'s when square and listed."""
    if input_shape is not None and len(input_shape) >= 2 and input_shape[0] == input_shape[1] \
            and input_shape[0] in sizes:
        return input_shape[0]
    return 224


def _conv_block(x: Any, filters: int, alpha: float, strides: tuple) -> Any:
    x = layers.Conv2D(int(filters * alpha), (3, 3), padding="same", use_bias=False, strides=strides,
                      name="conv1")(x)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(x: Any, filters: int, alpha: float, depth_multiplier: int, strides: int,
                          block_id: int) -> Any:
    if strides != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == 1 else "valid",
                               depth_multiplier=depth_multiplier, strides=(strides, strides), use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(filters * alpha), (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def _check_pretrained(alpha: float, depth_multiplier: int) -> None:
    if depth_multiplier != 1:
        raise ConfigError(f"MobileNet: with weights='imagenet' depth_multiplier must be 1; got {depth_multiplier}.")
    if alpha not in _ALPHA_TEXT:
        raise ConfigError(f"MobileNet: with weights='imagenet' alpha must be one of {sorted(_ALPHA_TEXT)}; "
                          f"got {alpha}.")


@imagenet_utils.with_application_args_doc
def MobileNet(input_shape: Any = None, alpha: float = 1.0, depth_multiplier: int = 1, dropout: float = 1e-3,
              include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
              name: str | None = None) -> Any:
    """MobileNet: 13 depthwise separable blocks, 4.3 million parameters at ``alpha=1``.

    ``alpha`` (default 1.0) scales every layer's filters; ``depth_multiplier`` (default 1) multiplies the
    depthwise convolutions' channels; ``dropout`` (default 1e-3) is the rate before the classifier. The
    default name is ``mobilenet_{alpha:0.2f}_{rows}``."""
    imagenet_utils.check_weights_arg(weights, include_top, classes)
    shape = imagenet_utils.obtain_input_shape(input_shape, default_size=native_size(input_shape, (128, 160, 192, 224)),
                                              min_size=32, require_flatten=include_top, weights=weights)
    rows, pretrained = shape[0], None
    if weights == "imagenet":
        _check_pretrained(alpha, depth_multiplier)
        rows = pretrained_rows(shape, (128, 160, 192, 224))
        stem = f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf"
        pretrained = PretrainedWeights("mobilenet", f"{stem}.h5", f"{stem}_no_top.h5", None, None)

    def body(x):
        x = _conv_block(x, 32, alpha, strides=(2, 2))
        for block_id, (filters, strides) in enumerate(_BLOCKS, 1):
            x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides, block_id)
        return x

    def head(x, include_top, pooling, classes, classifier_activation):
        if not include_top:
            return imagenet_utils.global_pooling(x, pooling)
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        return layers.Activation(activation=classifier_activation, name="predictions")(x)

    return imagenet_utils.build_application(
        body, name=name or f"mobilenet_{alpha:0.2f}_{rows}", default_size=224, min_size=32, pretrained=pretrained,
        include_top=include_top, weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, head=head, shape=shape)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """MobileNet's preprocessing: pixels scaled from [0, 255] to [-1, 1] (``'tf'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
