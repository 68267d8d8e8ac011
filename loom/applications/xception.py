"""Xception (Chollet, 2017, https://arxiv.org/abs/1610.02357), layer for layer as Keras's
``keras.applications.xception`` (same layer names and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (scaled to [-1, 1]); the native size is
299x299, the smallest 71x71.

Example:
    >>> model = Xception(weights=None, include_top=False, input_shape=(71, 71, 3))
    >>> model.count_params()
    20861480
"""

from __future__ import annotations

from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.blocks import separable_conv_block
from loom.applications.keras_weights import PretrainedWeights

__all__ = ["Xception", "preprocess_input", "decode_predictions"]

_PRETRAINED = PretrainedWeights.tf_kernels("xception", "xception", "0a58e3b7378bc2990ea3b43d5981f1f6",
                                           "b0042744bf5b25fce3cb969f33bebb97")


def _entry_conv(x: Any, filters: int, strides: tuple, name: str) -> Any:
    x = layers.Conv2D(filters, (3, 3), strides=strides, use_bias=False, name=name)(x)
    x = layers.BatchNormalization(axis=-1, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_act")(x)


def _exit_sepconv(x: Any, filters: int, name: str) -> Any:
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(axis=-1, name=f"{name}_bn")(x)
    return layers.Activation("relu", name=f"{name}_act")(x)


def _body(img_input: Any) -> Any:
    x = _entry_conv(img_input, 32, (2, 2), "block1_conv1")
    x = _entry_conv(x, 64, (1, 1), "block1_conv2")
    x = separable_conv_block(x, 128, activation_first=False, name="block2")  # entry flow
    x = separable_conv_block(x, 256, name="block3")
    x = separable_conv_block(x, 728, name="block4")
    for i in range(8):  # middle flow
        x = separable_conv_block(x, [728, 728, 728], pool=False, residual="identity", name=f"block{i + 5}")
    x = separable_conv_block(x, [728, 1024], name="block13")  # exit flow
    x = _exit_sepconv(x, 1536, "block14_sepconv1")
    return _exit_sepconv(x, 2048, "block14_sepconv2")


@imagenet_utils.with_application_args_doc
def Xception(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "xception") -> Any:
    """Xception: depthwise separable convolutions with residual connections, 22.9 million parameters."""
    return imagenet_utils.build_application(
        _body, name=name, default_size=299, min_size=71, pretrained=_PRETRAINED, include_top=include_top,
        weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation)



def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """Xception's preprocessing: pixels scaled from [0, 255] to [-1, 1] (``'tf'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
