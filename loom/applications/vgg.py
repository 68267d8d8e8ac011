"""VGG16 and VGG19 (Simonyan & Zisserman, 2014, https://arxiv.org/abs/1409.1556), layer for layer as Keras's
``keras.applications.vgg16`` / ``vgg19`` (same layer names and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (``'caffe'`` mode: BGR, mean pixel
subtracted); the native size is 224x224, the smallest 32x32. The classifier top flattens the last feature
map, so with the top the input size is fixed.

Example:
    >>> VGG16(weights=None, include_top=False, input_shape=(32, 32, 3)).count_params()
    14714688
"""

from __future__ import annotations

from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights

__all__ = ["VGG16", "VGG19", "preprocess_input", "decode_predictions"]

_PRETRAINED = {
    16: PretrainedWeights.tf_kernels("vgg16", "vgg16", "64373286793e3c8b2b4e3219cbf3544b",
                                     "6d6bbae143d832006294945121d1f1fc"),
    19: PretrainedWeights.tf_kernels("vgg19", "vgg19", "cbe5617147190e668d6c5d5026f83318",
                                     "253f8cb515780f3b799900260a226db6"),
}
_WIDTHS = (64, 128, 256, 512, 512)


def _body(convs_per_block: tuple[int, ...]):
    def body(x: Any) -> Any:
        for block, (filters, convs) in enumerate(zip(_WIDTHS, convs_per_block), 1):
            for i in range(1, convs + 1):
                x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                                  name=f"block{block}_conv{i}")(x)
            x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
        return x
    return body


def _head(x: Any, include_top: bool, pooling: str | None, classes: int, classifier_activation: Any) -> Any:
    if not include_top:
        return imagenet_utils.global_pooling(x, pooling)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(4096, activation="relu", name="fc1")(x)
    x = layers.Dense(4096, activation="relu", name="fc2")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def _vgg(depth: int, convs: tuple[int, ...], **kwargs) -> Any:
    return imagenet_utils.build_application(_body(convs), default_size=224, min_size=32,
                                            pretrained=_PRETRAINED[depth], head=_head, **kwargs)


@imagenet_utils.with_application_args_doc
def VGG16(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
          pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
          name: str = "vgg16") -> Any:
    """VGG16: 13 3x3 convolutions in 5 blocks and three dense layers, 138.4 million parameters."""
    return _vgg(16, (2, 2, 3, 3, 3), name=name, include_top=include_top, weights=weights,
                input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                classifier_activation=classifier_activation)


@imagenet_utils.with_application_args_doc
def VGG19(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None, input_shape: Any = None,
          pooling: str | None = None, classes: int = 1000, classifier_activation: Any = "softmax",
          name: str = "vgg19") -> Any:
    """VGG19: 16 3x3 convolutions in 5 blocks and three dense layers, 143.7 million parameters."""
    return _vgg(19, (2, 2, 4, 4, 4), name=name, include_top=include_top, weights=weights,
                input_tensor=input_tensor, input_shape=input_shape, pooling=pooling, classes=classes,
                classifier_activation=classifier_activation)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """VGG's preprocessing: RGB -> BGR and ImageNet's mean pixel subtracted, no scaling (``'caffe'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
