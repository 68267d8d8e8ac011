"""EfficientNetB0 to B7 (Tan & Le, 2019, https://arxiv.org/abs/1905.11946): mobile inverted bottleneck blocks
with squeeze-and-excitation, scaled in width, depth and resolution; layer for layer as Keras's
``keras.applications.efficientnet`` (same layer names and order, so Keras's weight files load).

The models take RGB images in [0, 255] and normalize them themselves (``Rescaling(1/255)`` and a
``Normalization`` layer whose statistics come with the weights), so :func:`preprocess_input` is the identity.
The smallest input is 32x32.

Example:
    >>> import inspect
    >>> inspect.signature(EfficientNetB0).parameters["name"].default
    'efficientnetb0'
"""

from __future__ import annotations

import math
from typing import Any

from loom import initializers, layers
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights
from loom.applications.mobilenet_v2 import make_divisible

__all__ = [f"EfficientNetB{i}" for i in range(8)] + ["preprocess_input", "decode_predictions", "mb_conv_block",
                                                     "squeeze_excite", "CONV_KERNEL_INITIALIZER",
                                                     "DENSE_KERNEL_INITIALIZER"]

CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
DENSE_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                            "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}
_IMAGENET_STDDEV_RGB = (0.229, 0.224, 0.225)
_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
# (kernel, repeats, filters in, filters out, expansion, stride) of the 7 stages; every block has se_ratio 0.25.
_STAGES = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
           (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
# (width, depth, native size, dropout) of B0..B7.
_SCALING = ((1.0, 1.0, 224, 0.2), (1.0, 1.1, 240, 0.2), (1.1, 1.2, 260, 0.3), (1.2, 1.4, 300, 0.3),
            (1.4, 1.8, 380, 0.4), (1.6, 2.2, 456, 0.4), (1.8, 2.6, 528, 0.5), (2.0, 3.1, 600, 0.5))


def _conv(filters: int, kernel: int, name: str, **kwargs: Any) -> Any:
    return layers.Conv2D(filters, kernel, padding=kwargs.pop("padding", "same"), use_bias=kwargs.pop("use_bias", False),
                         kernel_initializer=initializers.get(CONV_KERNEL_INITIALIZER), name=name, **kwargs)


def squeeze_excite(x: Any, filters: int, filters_se: int, activation: str, name: str) -> Any:
    """Squeeze-and-excitation (Hu et al., 2017, https://arxiv.org/abs/1709.01507) as the EfficientNets write
    it: global average pooling, reshape, reduce and expand 1x1 convolutions, then ``x`` times the gate.

    Example:
        >>> import loom
        >>> squeeze_excite(loom.Input((4, 4, 8)), 8, 2, "swish", "se_").shape
        (None, 4, 4, 8)
    """
    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = _conv(filters_se, 1, f"{name}se_reduce", activation=activation, use_bias=True)(se)
    se = _conv(filters, 1, f"{name}se_expand", activation="sigmoid", use_bias=True)(se)
    return layers.multiply([x, se], name=f"{name}se_excite")


def mb_conv_block(inputs: Any, activation: str = "swish", drop_rate: float = 0.0, name: str = "",
                  filters_in: int = 32, filters_out: int = 16, kernel_size: int = 3, strides: int = 1,
                  expand_ratio: int = 1, se_ratio: float = 0.0, id_skip: bool = True) -> Any:
    """EfficientNet's inverted residual block (Keras's ``efficientnet.block``): 1x1 expansion, depthwise
    convolution, squeeze-and-excitation, 1x1 projection, and a dropped-out residual when shapes allow.

    Example:
        >>> import loom
        >>> mb_conv_block(loom.Input((8, 8, 16)), filters_in=16, filters_out=24, strides=2, expand_ratio=6,
        ...               se_ratio=0.25, name="b_").shape
        (None, 4, 4, 24)
    """
    filters = filters_in * expand_ratio
    x = inputs
    if expand_ratio != 1:
        x = _conv(filters, 1, f"{name}expand_conv")(x)
        x = layers.BatchNormalization(axis=3, name=f"{name}expand_bn")(x)
        x = layers.Activation(activation, name=f"{name}expand_activation")(x)
    if strides == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="valid" if strides == 2 else "same",
                               use_bias=False, depthwise_initializer=initializers.get(CONV_KERNEL_INITIALIZER),
                               name=f"{name}dwconv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}bn")(x)
    x = layers.Activation(activation, name=f"{name}activation")(x)
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name)
    x = _conv(filters_out, 1, f"{name}project_conv")(x)
    x = layers.BatchNormalization(axis=3, name=f"{name}project_bn")(x)
    if id_skip and strides == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def _body(width: float, depth: float, imagenet: bool, drop_connect_rate: float = 0.2, activation: str = "swish"):
    def round_filters(filters: int) -> int:
        return int(make_divisible(filters * width, 8))

    def round_repeats(repeats: int) -> int:
        return int(math.ceil(depth * repeats))

    def body(x):
        from loom.layers import Normalization, Rescaling
        x = Rescaling(1.0 / 255.0)(x)
        x = Normalization(axis=3)(x)
        if imagenet:
            x = Rescaling([1.0 / math.sqrt(stddev) for stddev in _IMAGENET_STDDEV_RGB])(x)
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
        x = _conv(round_filters(32), 3, "stem_conv", strides=2, padding="valid")(x)
        x = layers.BatchNormalization(axis=3, name="stem_bn")(x)
        x = layers.Activation(activation, name="stem_activation")(x)
        b, total = 0, float(sum(round_repeats(stage[1]) for stage in _STAGES))
        for i, (kernel, repeats, f_in, f_out, expand, strides) in enumerate(_STAGES):
            f_in, f_out = round_filters(f_in), round_filters(f_out)
            for j in range(round_repeats(repeats)):
                x = mb_conv_block(x, activation, drop_connect_rate * b / total, name=f"block{i + 1}{chr(j + 97)}_",
                                  filters_in=f_in if j == 0 else f_out, filters_out=f_out, kernel_size=kernel,
                                  strides=strides if j == 0 else 1, expand_ratio=expand, se_ratio=0.25)
                b += 1
        x = _conv(round_filters(1280), 1, "top_conv")(x)
        x = layers.BatchNormalization(axis=3, name="top_bn")(x)
        return layers.Activation(activation, name="top_activation")(x)
    return body


def efficientnet_head(dropout_rate: float):
    """The EfficientNets' end: ``avg_pool``, ``top_dropout`` and ``predictions``, or the global pooling."""
    def head(x: Any, include_top: bool, pooling: str | None, classes: int, classifier_activation: Any) -> Any:
        if not include_top:
            return imagenet_utils.global_pooling(x, pooling, ("avg_pool", "max_pool"))
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        return layers.Dense(classes, activation=classifier_activation, name="predictions",
                            kernel_initializer=initializers.get(DENSE_KERNEL_INITIALIZER))(x)
    return head


def _efficientnet(variant: int, name: str, weights: Any, **kwargs: Any) -> Any:
    width, depth, size, dropout = _SCALING[variant]
    pretrained = PretrainedWeights.named_after_model("https://storage.googleapis.com/keras-applications/", name,
                                                     *_HASHES[f"b{variant}"])
    return imagenet_utils.build_application(_body(width, depth, weights == "imagenet"), name=name,
                                            default_size=size, min_size=32, pretrained=pretrained, weights=weights,
                                            head=efficientnet_head(dropout), **kwargs)


def _variant(variant: int):
    width, depth, size, _ = _SCALING[variant]
    public = f"EfficientNetB{variant}"

    @imagenet_utils.application_variant(public, f"{public}: width x{width}, depth x{depth}, native size {size}x{size}.")
    def application(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", name: str = f"efficientnetb{variant}") -> Any:
        return _efficientnet(variant, name, weights, include_top=include_top, input_tensor=input_tensor,
                             input_shape=input_shape, pooling=pooling, classes=classes,
                             classifier_activation=classifier_activation)
    return application


EfficientNetB0 = _variant(0)
EfficientNetB1 = _variant(1)
EfficientNetB2 = _variant(2)
EfficientNetB3 = _variant(3)
EfficientNetB4 = _variant(4)
EfficientNetB5 = _variant(5)
EfficientNetB6 = _variant(6)
EfficientNetB7 = _variant(7)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity: the EfficientNets normalize their inputs themselves, as in Keras."""
    return x


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
