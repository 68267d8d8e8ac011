"""DenseNet121, DenseNet169 and DenseNet201 (Huang et al., 2016, https://arxiv.org/abs/1608.06993), layer for
layer as Keras's ``keras.applications.densenet`` (same layer names and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (``'torch'`` mode: [0, 1], then ImageNet's
mean and standard deviation); the native size is 224x224, the smallest 32x32.

Example:
    >>> DenseNet121(weights=None).count_params()
    8062504
"""

from __future__ import annotations

from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.blocks import bn_act
from loom.applications.keras_weights import PretrainedWeights

__all__ = ["DenseNet121", "DenseNet169", "DenseNet201", "preprocess_input", "decode_predictions", "dense_block",
           "transition_block", "conv_block"]

_EPSILON = 1.001e-5
_PRETRAINED = {
    121: ("9d60b8095a5708f2dcce2bca79d332c7", "30ee3e1110167f948a6b9946edeeb738"),
    169: ("d699b8f76981ab1b30698df4c175e90b", "b8c4d4c20dd625c148057b9ff1c1176b"),
    201: ("1ceb130c1ea1b78c3bf6114dbdfd8807", "c13680b51ded0fb44dff2d8f86ac8bb1"),
}


def conv_block(x: Any, growth_rate: int, name: str) -> Any:
    """One dense layer: BN -> ReLU -> 1x1 conv (``4 * growth_rate``) -> BN -> ReLU -> 3x3 conv
    (``growth_rate``), concatenated to its input.

    Example:
        >>> import loom
        >>> conv_block(loom.Input((8, 8, 16)), 32, name="b").shape
        (None, 8, 8, 48)
    """
    x1 = bn_act(x, epsilon=_EPSILON, name=f"{name}_0")
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = bn_act(x1, epsilon=_EPSILON, name=f"{name}_1")
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, x1])


def dense_block(x: Any, blocks: int, name: str) -> Any:
    """``blocks`` :func:`conv_block` of growth rate 32, named ``name_block1``..."""
    for i in range(blocks):
        x = conv_block(x, 32, name=f"{name}_block{i + 1}")
    return x


def transition_block(x: Any, reduction: float, name: str) -> Any:
    """BN -> ReLU -> 1x1 conv to ``reduction`` times the channels -> 2x2 average pooling."""
    x = bn_act(x, epsilon=_EPSILON, name=name)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(depth: int, blocks: tuple[int, int, int, int], **kwargs) -> Any:
    def body(img_input):
        x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
        x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
        x = bn_act(x, epsilon=_EPSILON, name="conv1")
        x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
        for i, count in enumerate(blocks):
            x = dense_block(x, count, name=f"conv{i + 2}")
            if i < 3:
                x = transition_block(x, 0.5, name=f"pool{i + 2}")
        x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name="bn")(x)
        return layers.Activation("relu", name="relu")(x)

    pretrained = PretrainedWeights.tf_kernels("densenet", f"densenet{depth}", *_PRETRAINED[depth])
    return imagenet_utils.build_application(body, default_size=224, min_size=32, pretrained=pretrained,
                                            pool_names=("avg_pool", "max_pool"), **kwargs)


@imagenet_utils.with_application_args_doc
def DenseNet121(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet121") -> Any:
    """DenseNet121: dense blocks of (6, 12, 24, 16) layers, 8.1 million parameters."""
    return _densenet(121, (6, 12, 24, 16), name=name, include_top=include_top, weights=weights,
                     input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                     classifier_activation=classifier_activation)


@imagenet_utils.with_application_args_doc
def DenseNet169(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet169") -> Any:
    """DenseNet169: dense blocks of (6, 12, 32, 32) layers, 14.3 million parameters."""
    return _densenet(169, (6, 12, 32, 32), name=name, include_top=include_top, weights=weights,
                     input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                     classifier_activation=classifier_activation)


@imagenet_utils.with_application_args_doc
def DenseNet201(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "densenet201") -> Any:
    """DenseNet201: dense blocks of (6, 12, 48, 32) layers, 20.2 million parameters."""
    return _densenet(201, (6, 12, 48, 32), name=name, include_top=include_top, weights=weights,
                     input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                     classifier_activation=classifier_activation)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """DenseNet's preprocessing: pixels scaled to [0, 1], then normalized by ImageNet's per-channel mean
    and standard deviation (``'torch'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
