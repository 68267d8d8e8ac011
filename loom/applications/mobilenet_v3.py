"""MobileNetV3Small and MobileNetV3Large (Howard et al., 2019, https://arxiv.org/abs/1905.02244): inverted
residual blocks with squeeze-and-excitation and hard-swish, layer for layer as Keras's
``keras.applications.mobilenet_v3`` (same layer names and order, so Keras's weight files load).

The models take RGB images in [0, 255]: with ``include_preprocessing=True`` (the default) a ``Rescaling``
layer maps them to [-1, 1], so :func:`preprocess_input` is the identity. ImageNet weights are for 224x224
inputs; the smallest input is 32x32, and without ``input_shape`` the size is free even with the top.

Example:
    >>> model = MobileNetV3Small(weights=None, include_preprocessing=False, input_shape=(32, 32, 3))
    >>> model.count_params()
    2554968
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights
from loom.applications.mobilenet_v2 import make_divisible
from loom.errors import ConfigError
from loom.models.keras_ops import OPS

__all__ = ["MobileNetV3Small", "MobileNetV3Large", "preprocess_input", "decode_predictions"]

_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}
# (expansion, filters, kernel or None for the model's, stride, squeeze-excite, activation "relu" or None for
# the model's) of each inverted residual block.
_SMALL = ((1, 16, 3, 2, True, "relu"), (72 / 16, 24, 3, 2, False, "relu"), (88 / 24, 24, 3, 1, False, "relu"),
          (4, 40, None, 2, True, None), (6, 40, None, 1, True, None), (6, 40, None, 1, True, None),
          (3, 48, None, 1, True, None), (3, 48, None, 1, True, None), (6, 96, None, 2, True, None),
          (6, 96, None, 1, True, None), (6, 96, None, 1, True, None))
_LARGE = ((1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
          (3, 40, None, 2, True, "relu"), (3, 40, None, 1, True, "relu"), (3, 40, None, 1, True, "relu"),
          (6, 80, 3, 2, False, None), (2.5, 80, 3, 1, False, None), (2.3, 80, 3, 1, False, None),
          (2.3, 80, 3, 1, False, None), (6, 112, 3, 1, True, None), (6, 112, 3, 1, True, None),
          (6, 160, None, 2, True, None), (6, 160, None, 1, True, None), (6, 160, None, 1, True, None))


def _relu(x: Any) -> Any:
    return layers.ReLU()(x)


def _hard_swish(x: Any) -> Any:
    return layers.Activation("hard_swish")(x)


def _hard_sigmoid(x: Any) -> Any:
    """``relu6(x + 3) / 6`` as Keras's MobileNetV3 writes it: two recorded ops (saved as Keras's ``keras.ops``
    add and multiply) around a ``ReLU`` layer."""
    return OPS["Multiply"]()(layers.ReLU(6.0)(OPS["Add"]()(x, 3.0)), 1.0 / 6.0)


def _bn(x: Any, name: str) -> Any:
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)(x)


def _se_block(inputs: Any, filters: int, se_ratio: float, prefix: str) -> Any:
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(make_divisible(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, _hard_sigmoid(x)])


def _inverted_res_block(x: Any, expansion: float, filters: int, kernel_size: int, stride: int,
                        se_ratio: float | None, activation: Callable, block_id: int) -> Any:
    shortcut, prefix, infilters = x, "expanded_conv_", x.shape[-1]
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(make_divisible(infilters * expansion), kernel_size=1, padding="same", use_bias=False,
                          name=f"{prefix}expand")(x)
        x = activation(_bn(x, f"{prefix}expand_bn"))
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, padding="same" if stride == 1 else "valid",
                               use_bias=False, name=f"{prefix}depthwise")(x)
    x = activation(_bn(x, f"{prefix}depthwise_bn"))
    if se_ratio:
        x = _se_block(x, make_divisible(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _bn(x, f"{prefix}project_bn")
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def _input_shape(input_shape: Any, input_tensor: Any) -> tuple:
    """Keras's MobileNetV3 rule: the given shape, else the input tensor's, else ``(None, None, 3)``."""
    if input_shape is None and input_tensor is not None and getattr(input_tensor, "ndim", 0) == 4:
        rows, cols = input_tensor.shape[1], input_tensor.shape[2]
        input_shape = (cols, rows, 3)
    shape = (None, None, 3) if input_shape is None else tuple(input_shape)
    if shape[0] and shape[1] and (shape[0] < 32 or shape[1] < 32):
        raise ConfigError(f"Input size must be at least 32x32; got input_shape {shape}.")
    return shape


def _pretrained(model_type: str, alpha: float, minimalistic: bool, shape: tuple) -> PretrainedWeights:
    if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
        raise ConfigError("With weights='imagenet', alpha must be 0.75 or 1.0 (not minimalistic) or 1.0 "
                          f"(minimalistic); got alpha={alpha}, minimalistic={minimalistic}.")
    if shape[0] != shape[1] or shape[0] != 224:
        warnings.warn("input_shape is undefined or non-square, or its size is not 224; the weights for input "
                      "shape (224, 224) are loaded.", stacklevel=4)
    key = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
    return PretrainedWeights("mobilenet_v3", f"weights_mobilenet_v3_{key}.h5",
                             f"weights_mobilenet_v3_{key}_no_top_v2.h5", *_HASHES[key])


def _mobilenet_v3(blocks: tuple, last_point_ch: int, model_type: str, input_shape: Any, alpha: float,
                  minimalistic: bool, include_top: bool, weights: Any, input_tensor: Any, classes: int,
                  pooling: str | None, dropout_rate: float, classifier_activation: Any,
                  include_preprocessing: bool, name: str) -> Any:
    imagenet_utils.check_weights_arg(weights, include_top, classes)
    shape = _input_shape(input_shape, input_tensor)
    pretrained = _pretrained(model_type, alpha, minimalistic, shape) if weights == "imagenet" else None
    activation, kernel, se_ratio = (_relu, 3, None) if minimalistic else (_hard_swish, 5, 0.25)

    def body(x):
        if include_preprocessing:
            from loom.layers import Rescaling
            x = Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
        x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
        x = activation(_bn(x, "conv_bn"))
        for block_id, (expansion, filters, k, stride, se, act) in enumerate(blocks):
            x = _inverted_res_block(x, expansion, make_divisible(filters * alpha), k or kernel, stride,
                                    se_ratio if se else None, _relu if act == "relu" else activation, block_id)
        x = layers.Conv2D(make_divisible(x.shape[-1] * 6), kernel_size=1, padding="same", use_bias=False,
                          name="conv_1")(x)
        return activation(_bn(x, "conv_1_bn"))

    def head(x, include_top, pooling, classes, classifier_activation):
        if not include_top:
            return imagenet_utils.global_pooling(x, pooling, ("avg_pool", "max_pool"))
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        point_ch = make_divisible(last_point_ch * alpha) if alpha > 1.0 else last_point_ch
        x = activation(layers.Conv2D(point_ch, kernel_size=1, padding="same", use_bias=True, name="conv_2")(x))
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Flatten()(layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x))
        return layers.Activation(activation=classifier_activation, name="predictions")(x)

    return imagenet_utils.build_application(
        body, name=name, default_size=224, min_size=32, pretrained=pretrained, include_top=include_top,
        weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
        classifier_activation=classifier_activation, head=head, shape=shape)


_V3_ARGS_DOC = """

    ``alpha`` (default 1.0) scales the filters; ``minimalistic`` (default ``False``) drops squeeze-and-excite,
    hard-swish and 5x5 kernels; ``dropout_rate`` (default 0.2) comes before the classifier;
    ``include_preprocessing`` (default ``True``) starts with ``Rescaling(1 / 127.5, offset=-1)``."""


@imagenet_utils.with_application_args_doc
def MobileNetV3Small(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "MobileNetV3Small") -> Any:
    """MobileNetV3Small: 11 inverted residual blocks, 2.6 million parameters at ``alpha=1``."""
    return _mobilenet_v3(_SMALL, 1024, "small", input_shape, alpha, minimalistic, include_top, weights,
                         input_tensor, classes, pooling, dropout_rate, classifier_activation, include_preprocessing,
                         name)


@imagenet_utils.with_application_args_doc
def MobileNetV3Large(input_shape: Any = None, alpha: float = 1.0, minimalistic: bool = False,
                     include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                     classes: int = 1000, pooling: str | None = None, dropout_rate: float = 0.2,
                     classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                     name: str = "MobileNetV3Large") -> Any:
    """MobileNetV3Large: 15 inverted residual blocks, 5.5 million parameters at ``alpha=1``."""
    return _mobilenet_v3(_LARGE, 1280, "large", input_shape, alpha, minimalistic, include_top, weights,
                         input_tensor, classes, pooling, dropout_rate, classifier_activation, include_preprocessing,
                         name)


for _fn in (MobileNetV3Small, MobileNetV3Large):
    if _fn.__doc__ is not None:
        _fn.__doc__ = _fn.__doc__.replace("\n\n    Args:", _V3_ARGS_DOC + "\n\n    Args:", 1)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity: MobileNetV3 rescales its inputs itself (``include_preprocessing``), as in Keras."""
    return x


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
