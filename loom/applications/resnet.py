"""ResNet50, ResNet101 and ResNet152 (He et al., 2015, https://arxiv.org/abs/1512.03385), layer for layer as
Keras's ``keras.applications.resnet`` (same layer names and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (``'caffe'`` mode: BGR, mean pixel
subtracted); the native size is 224x224, the smallest 32x32.

Example:
    >>> model = ResNet50(weights=None)
    >>> model.count_params()
    25636712
"""

from __future__ import annotations

from typing import Any, Callable

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.blocks import bn_act, residual_block
from loom.applications.keras_weights import PretrainedWeights

__all__ = ["ResNet50", "ResNet101", "ResNet152", "preprocess_input", "decode_predictions", "stack_residual_blocks"]

_EPSILON = 1.001e-5
_PRETRAINED = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
}


def stack_residual_blocks(x: Any, filters: int, blocks: int, stride1: int = 2, name: str | None = None) -> Any:
    """``blocks`` bottleneck blocks: the first with a projection shortcut and stride ``stride1``
    (default 2), the rest with identity shortcuts; blocks are named ``name_block1``, ``name_block2``..."""
    x = residual_block(x, filters, strides=stride1, shortcut="projection", bottleneck=True, use_bias=True,
                       epsilon=_EPSILON, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block(x, filters, shortcut="identity", bottleneck=True, use_bias=True, epsilon=_EPSILON,
                           name=f"{name}_block{i}")
    return x


def build_resnet(stack: Callable[..., Any], strides: tuple[int, int, int, int], preact: bool, weights_name: str,
                 hashes: tuple[str, str], depths: tuple[int, int, int, int], **kwargs: Any) -> Any:
    """A ResNet as Keras's ``ResNet`` builds v1 and v2: the 7x7 stem and max pooling, four ``stack``s
    (``conv2``..``conv5``) of ``depths`` blocks of 64..512 filters with strides ``strides``, and with
    ``preact`` (v2) no normalization in the stem but a final ``post`` BN -> ReLU."""
    def body(img_input):
        x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
        x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
        if not preact:
            x = bn_act(x, epsilon=_EPSILON, name="conv1")
        x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
        for i, (filters, blocks, stride) in enumerate(zip((64, 128, 256, 512), depths, strides)):
            x = stack(x, filters, blocks, stride1=stride, name=f"conv{i + 2}")
        return bn_act(x, epsilon=_EPSILON, name="post") if preact else x

    pretrained = PretrainedWeights.tf_kernels("resnet", weights_name, *hashes)
    return imagenet_utils.build_application(body, default_size=224, min_size=32, pretrained=pretrained,
                                            pool_names=("avg_pool", "max_pool"), **kwargs)


def _resnet(weights_name: str, depths: tuple[int, int, int, int], **kwargs: Any) -> Any:
    return build_resnet(stack_residual_blocks, (1, 2, 2, 2), False, weights_name, _PRETRAINED[weights_name], depths,
                        **kwargs)


@imagenet_utils.with_application_args_doc
def ResNet50(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
             input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
             classifier_activation: Any = "softmax", name: str = "resnet50") -> Any:
    """ResNet50: 50 layers of bottleneck residual blocks (3, 4, 6, 3), 25.6 million parameters."""
    return _resnet("resnet50", (3, 4, 6, 3), name=name, include_top=include_top, weights=weights,
                   input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                   classifier_activation=classifier_activation)


@imagenet_utils.with_application_args_doc
def ResNet101(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = "resnet101") -> Any:
    """ResNet101: bottleneck residual blocks (3, 4, 23, 3), 44.7 million parameters."""
    return _resnet("resnet101", (3, 4, 23, 3), name=name, include_top=include_top, weights=weights,
                   input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                   classifier_activation=classifier_activation)


@imagenet_utils.with_application_args_doc
def ResNet152(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
              input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
              classifier_activation: Any = "softmax", name: str = "resnet152") -> Any:
    """ResNet152: bottleneck residual blocks (3, 8, 36, 3), 60.4 million parameters."""
    return _resnet("resnet152", (3, 8, 36, 3), name=name, include_top=include_top, weights=weights,
                   input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                   classifier_activation=classifier_activation)



def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """ResNet's preprocessing: RGB -> BGR and ImageNet's mean pixel subtracted, no scaling (``'caffe'``
    mode of :func:`loom.applications.imagenet_utils.preprocess_input`)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
