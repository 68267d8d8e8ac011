"""InceptionV3 (Szegedy et al., 2015, https://arxiv.org/abs/1512.00567), layer for layer as Keras's
``keras.applications.inception_v3`` (same layer names and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (scaled to [-1, 1]); the native size is
299x299, the smallest 75x75.

Example:
    >>> model = InceptionV3(weights=None)
    >>> model.count_params()
    23851784
"""

from __future__ import annotations

from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.blocks import conv2d_bn, inception_module
from loom.applications.keras_weights import PretrainedWeights

__all__ = ["InceptionV3", "conv2d_bn", "preprocess_input", "decode_predictions"]

_PRETRAINED = PretrainedWeights.tf_kernels("inception_v3", "inception_v3", "9a0d58056eeedaa3f26cb7ebd46da564",
                                           "bcbd6486424b2319ff4ef7d526e38f63")
_S2 = ("valid", (2, 2))  # conv2d_bn arguments of the grid-reducing convolutions


def _stem(x: Any) -> Any:
    x = conv2d_bn(x, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    return layers.MaxPooling2D((3, 3), strides=(2, 2))(x)


def _factorized_7x7(x: Any, width: int, name: str) -> Any:
    """mixed4-7: 1x1, 1x7 -> 7x1, and twice 7x1 -> 1x7 towers of ``width`` filters, 192 out."""
    return inception_module(x, [[(192, 1, 1)],
                                [(width, 1, 1), (width, 1, 7), (192, 7, 1)],
                                [(width, 1, 1), (width, 7, 1), (width, 1, 7), (width, 7, 1), (192, 1, 7)]],
                            pool="avg", pool_filters=192, name=name)


def _expanded(x: Any, i: int) -> Any:
    """mixed9-10: towers that fork into parallel 1x3 and 3x1 convolutions (8x8x2048)."""
    branch1x1 = conv2d_bn(x, 320, 1, 1)
    branch3x3 = conv2d_bn(x, 384, 1, 1)
    branch3x3 = layers.concatenate([conv2d_bn(branch3x3, 384, 1, 3), conv2d_bn(branch3x3, 384, 3, 1)],
                                   axis=3, name=f"mixed9_{i}")
    branch3x3dbl = conv2d_bn(conv2d_bn(x, 448, 1, 1), 384, 3, 3)
    branch3x3dbl = layers.concatenate([conv2d_bn(branch3x3dbl, 384, 1, 3), conv2d_bn(branch3x3dbl, 384, 3, 1)],
                                      axis=3)
    branch_pool = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)
    branch_pool = conv2d_bn(branch_pool, 192, 1, 1)
    return layers.concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=3, name=f"mixed{9 + i}")


def _body(img_input: Any) -> Any:
    x = _stem(img_input)
    for i, pool_filters in enumerate((32, 64, 64)):  # mixed0-2: 35x35
        x = inception_module(x, [[(64, 1, 1)], [(48, 1, 1), (64, 5, 5)], [(64, 1, 1), (96, 3, 3), (96, 3, 3)]],
                             pool="avg", pool_filters=pool_filters, name=f"mixed{i}")
    x = inception_module(x, [[(384, 3, 3, *_S2)], [(64, 1, 1), (96, 3, 3), (96, 3, 3, *_S2)]],  # to 17x17
                         pool="max", pool_strides=2, name="mixed3")
    for i, width in enumerate((128, 160, 160, 192)):  # mixed4-7
        x = _factorized_7x7(x, width, f"mixed{4 + i}")
    x = inception_module(x, [[(192, 1, 1), (320, 3, 3, *_S2)],  # to 8x8
                             [(192, 1, 1), (192, 1, 7), (192, 7, 1), (192, 3, 3, *_S2)]],
                         pool="max", pool_strides=2, name="mixed8")
    for i in range(2):
        x = _expanded(x, i)
    return x


@imagenet_utils.with_application_args_doc
def InceptionV3(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "inception_v3") -> Any:
    """InceptionV3: factorized inception modules, 23.9 million parameters."""
    return imagenet_utils.build_application(
        _body, name=name, default_size=299, min_size=75, pretrained=_PRETRAINED, include_top=include_top,
        weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation)



def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """InceptionV3's preprocessing: pixels scaled from [0, 255] to [-1, 1] (``'tf'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
