"""ResNet50V2, ResNet101V2 and ResNet152V2 (He et al., 2016, https://arxiv.org/abs/1603.05027): residual
networks with pre-activation (batch normalization and ReLU before each convolution), layer for layer as
Keras's ``keras.applications.resnet_v2`` (same layer names and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (scaled to [-1, 1]); the native size is
224x224, the smallest 32x32.

Example:
    >>> ResNet50V2(weights=None).count_params()
    25613800
"""

from __future__ import annotations

from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.blocks import bn_act
from loom.applications.resnet import build_resnet

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "preprocess_input", "decode_predictions",
           "residual_block_v2", "stack_residual_blocks_v2"]

_EPSILON = 1.001e-5
_PRETRAINED = {
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}


def residual_block_v2(x: Any, filters: int, kernel_size: int = 3, stride: int = 1, conv_shortcut: bool = False,
                      name: str | None = None) -> Any:
    """A pre-activation bottleneck block: BN -> ReLU, then 1x1 -> kxk (stride ``stride``) -> 1x1 convolutions
    with ``4 * filters`` outputs, added to the shortcut (a 1x1 convolution of the activated input with
    ``conv_shortcut``, else the input, max-pooled when ``stride`` > 1). No activation after the addition.

    Example:
        >>> import loom
        >>> residual_block_v2(loom.Input((8, 8, 16)), 4, stride=2, name="b").shape
        (None, 4, 4, 16)
    """
    preact = bn_act(x, epsilon=_EPSILON, name=f"{name}_preact")
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = bn_act(x, epsilon=_EPSILON, name=f"{name}_1")
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = bn_act(x, epsilon=_EPSILON, name=f"{name}_2")
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """``blocks`` pre-activation blocks named ``name_block1``...: the first with a convolution shortcut, the
    last with stride ``stride1`` (default 2)."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _resnet_v2(weights_name: str, depths: tuple[int, int, int, int], **kwargs: Any) -> Any:
    return build_resnet(stack_residual_blocks_v2, (2, 2, 2, 1), True, weights_name, _PRETRAINED[weights_name],
                        depths, **kwargs)


@imagenet_utils.with_application_args_doc
def ResNet50V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
               input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
               classifier_activation: Any = "softmax", name: str = "resnet50v2") -> Any:
    """ResNet50V2: pre-activation bottleneck blocks (3, 4, 6, 3), 25.6 million parameters."""
    return _resnet_v2("resnet50v2", (3, 4, 6, 3), name=name, include_top=include_top, weights=weights,
                      input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)


@imagenet_utils.with_application_args_doc
def ResNet101V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "resnet101v2") -> Any:
    """ResNet101V2: pre-activation bottleneck blocks (3, 4, 23, 3), 44.7 million parameters."""
    return _resnet_v2("resnet101v2", (3, 4, 23, 3), name=name, include_top=include_top, weights=weights,
                      input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)


@imagenet_utils.with_application_args_doc
def ResNet152V2(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "resnet152v2") -> Any:
    """ResNet152V2: pre-activation bottleneck blocks (3, 8, 36, 3), 60.4 million parameters."""
    return _resnet_v2("resnet152v2", (3, 8, 36, 3), name=name, include_top=include_top, weights=weights,
                      input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                      classifier_activation=classifier_activation)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """ResNetV2's preprocessing: pixels scaled from [0, 255] to [-1, 1] (``'tf'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
