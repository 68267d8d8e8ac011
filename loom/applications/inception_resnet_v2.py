"""InceptionResNetV2 (Szegedy et al., 2016, https://arxiv.org/abs/1602.07261): inception modules with scaled
residual connections, layer for layer as Keras's ``keras.applications.inception_resnet_v2`` (same layer names
and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (scaled to [-1, 1]); the native size is
299x299, the smallest 75x75.

Example:
    >>> InceptionResNetV2(weights=None, include_top=False, input_shape=(75, 75, 3)).count_params()
    54336736
"""

from __future__ import annotations

from typing import Any

import torch

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights
from loom.errors import ConfigError

__all__ = ["InceptionResNetV2", "CustomScaleLayer", "conv2d_bn", "inception_resnet_block", "preprocess_input",
           "decode_predictions"]

_PRETRAINED = PretrainedWeights.tf_kernels("inception_resnet_v2", "inception_resnet_v2",
                                           "e693bd0210a403b3192acc6073ad2e96", "d19885ff4a710c122648d3b5c3b684e4")
# conv2d_bn (filters, kernel) towers of each block type, concatenated before the residual 1x1 convolution.
_TOWERS = {
    "block35": (((32, 1),), ((32, 1), (32, 3)), ((32, 1), (48, 3), (64, 3))),
    "block17": (((192, 1),), ((128, 1), (160, (1, 7)), (192, (7, 1)))),
    "block8": (((192, 1),), ((192, 1), (224, (1, 3)), (256, (3, 1)))),
}


class CustomScaleLayer(layers.Layer):
    """``inputs[0] + inputs[1] * scale``: the scaled residual connection of InceptionResNetV2, as Keras's
    layer of that name.

    Args:
        scale: the factor of the residual branch.

    Example:
        >>> import torch
        >>> CustomScaleLayer(0.5)([torch.ones(1, 2), torch.full((1, 2), 4.0)]).tolist()
        [[3.0, 3.0]]
    """

    _keras_module = "keras.src.applications.inception_resnet_v2"  # where Keras defines it, for .keras files

    def __init__(self, scale: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs: list) -> torch.Tensor:
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ConfigError(f"CustomScaleLayer '{self.name}' takes a list of two tensors [shortcut, residual].")
        return inputs[0] + inputs[1] * self.scale

    def get_config(self) -> dict:
        return {**super().get_config(), "scale": self.scale}


def conv2d_bn(x: Any, filters: int, kernel_size: Any, strides: int = 1, padding: str = "same",
              activation: str | None = "relu", use_bias: bool = False, name: str | None = None) -> Any:
    """Conv2D -> BatchNormalization without scale (only without bias) -> activation, as Keras's
    InceptionResNetV2: layers named ``name``, ``name_bn``, ``name_ac``.

    Example:
        >>> import loom
        >>> conv2d_bn(loom.Input((9, 9, 3)), 8, 3, strides=2, padding="valid").shape
        (None, 4, 4, 8)
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias, name=name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=3, scale=False, name=None if name is None else f"{name}_bn")(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else f"{name}_ac")(x)
    return x


def inception_resnet_block(x: Any, scale: float, block_type: str, block_idx: int,
                           activation: str | None = "relu") -> Any:
    """An Inception-ResNet block: ``activation(x + scale * conv1x1(concat(towers(x))))``; ``block_type`` is
    ``'block35'``, ``'block17'`` or ``'block8'``.

    Example:
        >>> import loom
        >>> inception_resnet_block(loom.Input((5, 5, 32)), 0.17, "block35", 1).shape
        (None, 5, 5, 32)
    """
    if block_type not in _TOWERS:
        raise ConfigError(f"inception_resnet_block: block_type must be one of {list(_TOWERS)}, got {block_type!r}.")
    branches = []
    for tower in _TOWERS[block_type]:
        branch = x
        for filters, kernel in tower:
            branch = conv2d_bn(branch, filters, list(kernel) if isinstance(kernel, tuple) else kernel)
        branches.append(branch)
    block_name = f"{block_type}_{block_idx}"
    mixed = layers.Concatenate(axis=3, name=f"{block_name}_mixed")(branches)
    up = conv2d_bn(mixed, x.shape[3], 1, activation=None, use_bias=True, name=f"{block_name}_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=f"{block_name}_ac")(x)
    return x


def _stem(x: Any) -> Any:
    x = conv2d_bn(x, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    branches = [conv2d_bn(x, 96, 1), conv2d_bn(conv2d_bn(x, 48, 1), 64, 5),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)]
    pool = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    branches.append(conv2d_bn(pool, 64, 1))
    return layers.Concatenate(axis=3, name="mixed_5b")(branches)


def _body(img_input: Any) -> Any:
    x = _stem(img_input)
    for block_idx in range(1, 11):  # 35x35
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    branches = [conv2d_bn(x, 384, 3, strides=2, padding="valid"),  # mixed_6a: to 17x17
                conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2, padding="valid"),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=3, name="mixed_6a")(branches)
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    branches = [conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid"),  # mixed_7a: to 8x8
                conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid"),
                conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2, padding="valid"),
                layers.MaxPooling2D(3, strides=2, padding="valid")(x)]
    x = layers.Concatenate(axis=3, name="mixed_7a")(branches)
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    return conv2d_bn(x, 1536, 1, name="conv_7b")


@imagenet_utils.with_application_args_doc
def InceptionResNetV2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                      input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                      classifier_activation: Any = "softmax", name: str = "inception_resnet_v2") -> Any:
    """InceptionResNetV2: 40 Inception-ResNet blocks, 55.9 million parameters."""
    return imagenet_utils.build_application(
        _body, name=name, default_size=299, min_size=75, pretrained=_PRETRAINED, include_top=include_top,
        weights=weights, input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """InceptionResNetV2's preprocessing: pixels scaled from [0, 255] to [-1, 1] (``'tf'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
