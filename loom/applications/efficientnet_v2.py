"""EfficientNetV2B0 to B3, S, M and L (Tan & Le, 2021, https://arxiv.org/abs/2104.00298): fused and
depthwise inverted bottleneck blocks, layer for layer as Keras's ``keras.applications.efficientnet_v2`` (same
layer names and order, so Keras's weight files load).

The models take RGB images in [0, 255]; with ``include_preprocessing=True`` (the default) they rescale them
themselves (B0-B3: to [0, 1] and ImageNet's mean and variance; S, M, L: to [-1, 1]), so
:func:`preprocess_input` is the identity. The smallest input is 32x32.

Example:
    >>> EfficientNetV2B0(weights=None, include_preprocessing=False).count_params()
    7200312
"""

from __future__ import annotations

import math
from typing import Any

from loom import initializers, layers
from loom.applications import imagenet_utils
from loom.applications.efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER, squeeze_excite
from loom.applications.keras_weights import PretrainedWeights

__all__ = ["EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3", "EfficientNetV2S",
           "EfficientNetV2M", "EfficientNetV2L", "mb_conv_block", "fused_mb_conv_block", "preprocess_input",
           "decode_predictions"]

_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
# (kernel, repeats, filters in, filters out, expansion, se_ratio, stride, fused) of each stage.
_B_STAGES = ((3, 1, 32, 16, 1, 0, 1, True), (3, 2, 16, 32, 4, 0, 2, True), (3, 2, 32, 48, 4, 0, 2, True),
             (3, 3, 48, 96, 4, 0.25, 2, False), (3, 5, 96, 112, 6, 0.25, 1, False),
             (3, 8, 112, 192, 6, 0.25, 2, False))
_STAGES = {
    "s": ((3, 2, 24, 24, 1, 0, 1, True), (3, 4, 24, 48, 4, 0, 2, True), (3, 4, 48, 64, 4, 0, 2, True),
          (3, 6, 64, 128, 4, 0.25, 2, False), (3, 9, 128, 160, 6, 0.25, 1, False),
          (3, 15, 160, 256, 6, 0.25, 2, False)),
    "m": ((3, 3, 24, 24, 1, 0, 1, True), (3, 5, 24, 48, 4, 0, 2, True), (3, 5, 48, 80, 4, 0, 2, True),
          (3, 7, 80, 160, 4, 0.25, 2, False), (3, 14, 160, 176, 6, 0.25, 1, False),
          (3, 18, 176, 304, 6, 0.25, 2, False), (3, 5, 304, 512, 6, 0.25, 1, False)),
    "l": ((3, 4, 32, 32, 1, 0, 1, True), (3, 7, 32, 64, 4, 0, 2, True), (3, 7, 64, 96, 4, 0, 2, True),
          (3, 10, 96, 192, 4, 0.25, 2, False), (3, 19, 192, 224, 6, 0.25, 1, False),
          (3, 25, 224, 384, 6, 0.25, 2, False), (3, 7, 384, 640, 6, 0.25, 1, False)),
    "b0": _B_STAGES, "b1": _B_STAGES, "b2": _B_STAGES, "b3": _B_STAGES,
}
# (width, depth, native size) of each variant.
_SCALING = {"b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 260), "b3": (1.2, 1.4, 300),
            "s": (1.0, 1.0, 384), "m": (1.0, 1.0, 480), "l": (1.0, 1.0, 480)}
_BN_MOMENTUM = 0.9


def _round_filters(filters: float, width: float, divisor: int = 8) -> int:
    filters *= width
    return int(max(divisor, int(filters + divisor / 2) // divisor * divisor))


def _conv(filters: int, kernel: int, name: str, **kwargs: Any) -> Any:
    return layers.Conv2D(filters, kernel, padding="same", use_bias=False, name=name,
                         kernel_initializer=initializers.get(CONV_KERNEL_INITIALIZER), **kwargs)


def _bn_act(x: Any, activation: str | None, bn_name: str, act_name: str) -> Any:
    x = layers.BatchNormalization(axis=3, momentum=_BN_MOMENTUM, name=bn_name)(x)
    return x if activation is None else layers.Activation(activation, name=act_name)(x)


def _expand(x: Any, filters: int, kernel_size: int, strides: int, activation: str, name: str) -> Any:
    """The blocks' expansion: convolution -> BN -> activation (``expand_conv``, ``expand_bn``...)."""
    x = _conv(filters, kernel_size, f"{name}expand_conv", strides=strides)(x)
    return _bn_act(x, activation, f"{name}expand_bn", f"{name}expand_activation")


def _residual(x: Any, inputs: Any, strides: int, filters_in: int, filters_out: int, rate: float, name: str) -> Any:
    if strides == 1 and filters_in == filters_out:
        if rate:
            x = layers.Dropout(rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def mb_conv_block(inputs: Any, filters_in: int, filters_out: int, expand_ratio: int = 1, kernel_size: int = 3,
                  strides: int = 1, se_ratio: float = 0.0, activation: str = "swish", drop_rate: float = 0.0,
                  name: str = "") -> Any:
    """EfficientNetV2's MBConv block (Keras's ``MBConvBlock``): 1x1 expansion, depthwise ``'same'``
    convolution, squeeze-and-excitation, 1x1 projection, residual (with dropout ``drop_rate``).

    Example:
        >>> import loom
        >>> mb_conv_block(loom.Input((8, 8, 16)), 16, 16, expand_ratio=4, se_ratio=0.25, name="b_").shape
        (None, 8, 8, 16)
    """
    filters = filters_in * expand_ratio
    x = _expand(inputs, filters, 1, 1, activation, name) if expand_ratio != 1 else inputs
    x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="same", use_bias=False, name=f"{name}dwconv2",
                               depthwise_initializer=initializers.get(CONV_KERNEL_INITIALIZER))(x)
    x = _bn_act(x, activation, f"{name}bn", f"{name}activation")
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name)
    x = _bn_act(_conv(filters_out, 1, f"{name}project_conv")(x), None, f"{name}project_bn", "")
    return _residual(x, inputs, strides, filters_in, filters_out, drop_rate, name)


def fused_mb_conv_block(inputs: Any, filters_in: int, filters_out: int, expand_ratio: int = 1,
                        kernel_size: int = 3, strides: int = 1, se_ratio: float = 0.0, activation: str = "swish",
                        drop_rate: float = 0.0, name: str = "") -> Any:
    """EfficientNetV2's Fused-MBConv block (Keras's ``FusedMBConvBlock``): one kxk expansion convolution
    instead of 1x1 + depthwise, optional squeeze-and-excitation, 1x1 projection, residual.

    Example:
        >>> import loom
        >>> fused_mb_conv_block(loom.Input((8, 8, 16)), 16, 32, expand_ratio=4, strides=2, name="f_").shape
        (None, 4, 4, 32)
    """
    filters = filters_in * expand_ratio
    x = _expand(inputs, filters, kernel_size, strides, activation, name) if expand_ratio != 1 else inputs
    if 0 < se_ratio <= 1:
        x = squeeze_excite(x, filters, max(1, int(filters_in * se_ratio)), activation, name)
    fused = expand_ratio == 1
    x = _conv(filters_out, kernel_size if fused else 1, f"{name}project_conv", strides=strides if fused else 1)(x)
    x = _bn_act(x, activation if fused else None, f"{name}project_bn", f"{name}project_activation")
    return _residual(x, inputs, strides, filters_in, filters_out, drop_rate, name)


def _body(variant: str, include_preprocessing: bool, drop_connect_rate: float = 0.2, activation: str = "swish"):
    width, depth, _ = _SCALING[variant]
    stages = _STAGES[variant]

    def body(x):
        if include_preprocessing:
            from loom.layers import Normalization, Rescaling
            if variant.startswith("b") and x.shape[-1] == 3:
                x = Rescaling(scale=1.0 / 255)(x)
                x = Normalization(mean=[0.485, 0.456, 0.406], variance=[0.229**2, 0.224**2, 0.225**2], axis=3)(x)
            else:
                x = Rescaling(scale=1.0 / 128.0, offset=-1)(x)
        x = _conv(_round_filters(stages[0][2], width), 3, "stem_conv", strides=2)(x)
        x = _bn_act(x, activation, "stem_bn", "stem_activation")
        b, total = 0, float(sum(stage[1] for stage in stages))
        for i, (kernel, repeats, f_in, f_out, expand, se_ratio, strides, fused) in enumerate(stages):
            f_in, f_out = _round_filters(f_in, width), _round_filters(f_out, width)
            block = fused_mb_conv_block if fused else mb_conv_block
            for j in range(int(math.ceil(depth * repeats))):
                x = block(x, f_in if j == 0 else f_out, f_out, expand_ratio=expand, kernel_size=kernel,
                          strides=strides if j == 0 else 1, se_ratio=se_ratio, activation=activation,
                          drop_rate=drop_connect_rate * b / total, name=f"block{i + 1}{chr(j + 97)}_")
                b += 1
        x = _conv(_round_filters(1280, width), 1, "top_conv")(x)
        return _bn_act(x, activation, "top_bn", "top_activation")
    return body


def _head(x: Any, include_top: bool, pooling: str | None, classes: int, classifier_activation: Any) -> Any:
    if not include_top:
        return imagenet_utils.global_pooling(x, pooling, ("avg_pool", "max_pool"))
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(0.2, name="top_dropout")(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions", bias_initializer="zeros",
                        kernel_initializer=initializers.get(DENSE_KERNEL_INITIALIZER))(x)


def _variant(variant: str):
    width, depth, size = _SCALING[variant]
    key = variant if variant.startswith("b") else f"-{variant}"
    public = f"EfficientNetV2{variant.upper()}"
    summary = (f"{public}: width x{width}, depth x{depth}, native size {size}x{size}; ``include_preprocessing`` "
               "(default ``True``) rescales the inputs in the model.")

    @imagenet_utils.application_variant(public, summary)
    def application(include_top: bool = True, weights: Any = "imagenet", input_tensor: Any = None,
                    input_shape: Any = None, pooling: str | None = None, classes: int = 1000,
                    classifier_activation: Any = "softmax", include_preprocessing: bool = True,
                    name: str = f"efficientnetv2-{variant}") -> Any:
        pretrained = PretrainedWeights.named_after_model("efficientnet_v2", name, *_HASHES[key])
        return imagenet_utils.build_application(
            _body(variant, include_preprocessing), name=name, default_size=size, min_size=32, pretrained=pretrained,
            include_top=include_top, weights=weights, input_tensor=input_tensor, input_shape=input_shape,
            pooling=pooling, classes=classes, classifier_activation=classifier_activation, head=_head)
    return application


EfficientNetV2B0 = _variant("b0")
EfficientNetV2B1 = _variant("b1")
EfficientNetV2B2 = _variant("b2")
EfficientNetV2B3 = _variant("b3")
EfficientNetV2S = _variant("s")
EfficientNetV2M = _variant("m")
EfficientNetV2L = _variant("l")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity: the EfficientNetV2s rescale their inputs themselves, as in Keras."""
    return x


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
