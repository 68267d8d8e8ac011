"""NASNetMobile and NASNetLarge (Zoph et al., 2017, https://arxiv.org/abs/1707.07012): convnets made of
cells found by architecture search, layer for layer as Keras's ``keras.applications.nasnet`` (same layer
names and order, so Keras's weight files load).

Inputs are RGB images preprocessed with :func:`preprocess_input` (scaled to [-1, 1]); the native sizes are
224x224 (Mobile) and 331x331 (Large), the smallest 32x32. (Keras refuses NASNetMobile on its torch backend;
loom builds it.)

Example:
    >>> NASNetMobile(weights=None).count_params()
    5326716
"""

from __future__ import annotations

from typing import Any

from loom import layers
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights
from loom.errors import ConfigError

__all__ = ["NASNetMobile", "NASNetLarge", "preprocess_input", "decode_predictions"]

_FOLDER = "nasnet"
_PRETRAINED = {
    224: PretrainedWeights(_FOLDER, "nasnet_mobile.h5", "nasnet_mobile_no_top.h5", "020fb642bf7360b370c678b08e0adf61",
                           "1ed92395b5b598bdda52abe5c0dbfd63", "NASNet-mobile.h5", "NASNet-mobile-no-top.h5"),
    331: PretrainedWeights(_FOLDER, "nasnet_large.h5", "nasnet_large_no_top.h5", "11577c9a518f0070763c2b964a382f17",
                           "d81d89dc07e6e56530c4e77faddd61b5", "NASNet-large.h5", "NASNet-large-no-top.h5"),
}


def _bn(x: Any, name: str | None) -> Any:
    return layers.BatchNormalization(axis=-1, momentum=0.9997, epsilon=1e-3, name=name)(x)


def _conv1x1(x: Any, filters: int, name: str) -> Any:
    return layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same", use_bias=False, name=name,
                         kernel_initializer="he_normal")(x)


def _separable_conv_block(ip: Any, filters: int, kernel_size: tuple = (3, 3), strides: tuple = (1, 1),
                          block_id: str = "") -> Any:
    """ReLU -> SeparableConv2D (strided, padded as TensorFlow's 'same') -> BN -> ReLU -> SeparableConv2D -> BN."""
    x = layers.Activation("relu")(ip)
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides, name=f"separable_conv_1_{block_id}",
                               padding="valid" if strides == (2, 2) else "same", use_bias=False)(x)
    x = _bn(x, f"separable_conv_1_bn_{block_id}")
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, name=f"separable_conv_2_{block_id}", padding="same",
                               use_bias=False)(x)
    return _bn(x, f"separable_conv_2_bn_{block_id}")


def _adjust_block(p: Any, ip: Any, filters: int, block_id: str) -> Any:
    """Matches the previous cell's output ``p`` to ``ip``: halves its size (two offset 1x1 paths) or
    projects its channels to ``filters``."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = _conv1x1(p1, filters // 2, f"adjust_conv_1_{block_id}")
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid", name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = _conv1x1(p2, filters // 2, f"adjust_conv_2_{block_id}")
        p = layers.concatenate([p1, p2], axis=-1)
        return _bn(p, f"adjust_bn_{block_id}")
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = _conv1x1(p, filters, f"adjust_conv_projection_{block_id}")
        return _bn(p, f"adjust_bn_{block_id}")
    return p


def _avg3x3(x: Any, name: str) -> Any:
    return layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same", name=name)(x)


def _normal_a_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    p = _adjust_block(p, ip, filters, block_id)
    h = _bn(_conv1x1(layers.Activation("relu")(ip), filters, f"normal_conv_1_{block_id}"), f"normal_bn_1_{block_id}")
    x1_1 = _separable_conv_block(h, filters, kernel_size=(5, 5), block_id=f"normal_left1_{block_id}")
    x1_2 = _separable_conv_block(p, filters, block_id=f"normal_right1_{block_id}")
    x1 = layers.add([x1_1, x1_2], name=f"normal_add_1_{block_id}")
    x2_1 = _separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}")
    x2_2 = _separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"normal_add_2_{block_id}")
    x3 = layers.add([_avg3x3(h, f"normal_left3_{block_id}"), p], name=f"normal_add_3_{block_id}")
    x4 = layers.add([_avg3x3(p, f"normal_left4_{block_id}"), _avg3x3(p, f"normal_right4_{block_id}")],
                    name=f"normal_add_4_{block_id}")
    x5 = _separable_conv_block(h, filters, block_id=f"normal_left5_{block_id}")
    x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")
    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _max3x3s2(x: Any, name: str) -> Any:
    return layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid", name=name)(x)


def _reduction_a_cell(ip: Any, p: Any, filters: int, block_id: str) -> tuple[Any, Any]:
    p = _adjust_block(p, ip, filters, block_id)
    h = _bn(_conv1x1(layers.Activation("relu")(ip), filters, f"reduction_conv_1_{block_id}"),
            f"reduction_bn_1_{block_id}")
    h3 = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(h, 3), name=f"reduction_pad_1_{block_id}")(h)
    x1_1 = _separable_conv_block(h, filters, (5, 5), strides=(2, 2), block_id=f"reduction_left1_{block_id}")
    x1_2 = _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right1_{block_id}")
    x1 = layers.add([x1_1, x1_2], name=f"reduction_add_1_{block_id}")
    x2_1 = _max3x3s2(h3, f"reduction_left2_{block_id}")
    x2_2 = _separable_conv_block(p, filters, (7, 7), strides=(2, 2), block_id=f"reduction_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"reduction_add_2_{block_id}")
    x3_1 = layers.AveragePooling2D((3, 3), strides=(2, 2), padding="valid", name=f"reduction_left3_{block_id}")(h3)
    x3_2 = _separable_conv_block(p, filters, (5, 5), strides=(2, 2), block_id=f"reduction_right3_{block_id}")
    x3 = layers.add([x3_1, x3_2], name=f"reduction_add3_{block_id}")
    x4 = layers.add([x2, _avg3x3(x1, f"reduction_left4_{block_id}")])
    x5_1 = _separable_conv_block(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}")
    x5_2 = _max3x3s2(h3, f"reduction_right5_{block_id}")
    x5 = layers.add([x5_1, x5_2], name=f"reduction_add4_{block_id}")
    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip


def _body(penultimate_filters: int, num_blocks: int, stem_block_filters: int, skip_reduction: bool,
          filter_multiplier: int = 2):
    if penultimate_filters % (24 * (filter_multiplier**2)) != 0:
        raise ConfigError(f"NASNet: penultimate_filters must be a multiple of 24 * filter_multiplier ** 2 = "
                          f"{24 * filter_multiplier ** 2}; got {penultimate_filters}.")
    filters = penultimate_filters // 24

    def body(img_input):
        x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid", use_bias=False,
                          name="stem_conv1", kernel_initializer="he_normal")(img_input)
        x = _bn(x, "stem_bn1")
        x, p = _reduction_a_cell(x, None, filters // (filter_multiplier**2), block_id="stem_1")
        x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
        for stage in range(3):
            width = filters * filter_multiplier**stage
            if stage:
                x, p0 = _reduction_a_cell(x, p, width, block_id=f"reduce_{stage * num_blocks}")
                p = p if skip_reduction else p0
            for i in range(num_blocks):
                x, p = _normal_a_cell(x, p, width, block_id=f"{stage * num_blocks + i + (stage > 0)}")
        return layers.Activation("relu")(x)
    return body


def _nasnet(input_shape: Any, default_size: int, penultimate_filters: int, num_blocks: int, stem_block_filters: int,
            skip_reduction: bool, weights: Any, **kwargs: Any) -> Any:
    if input_shape is not None and None in tuple(input_shape) and weights == "imagenet":
        raise ConfigError(f"NASNet: with weights='imagenet' the input_shape must be static (no None entries); "
                          f"got {input_shape}.")
    return imagenet_utils.build_application(
        _body(penultimate_filters, num_blocks, stem_block_filters, skip_reduction), default_size=default_size,
        min_size=32, pretrained=_PRETRAINED[default_size], input_shape=input_shape, weights=weights,
        top_pool_name=None, **kwargs)


@imagenet_utils.with_application_args_doc
def NASNetMobile(input_shape: Any = None, include_top: bool = True, weights: Any = "imagenet",
                 input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                 classifier_activation: Any = "softmax", name: str = "nasnet_mobile") -> Any:
    """NASNet-A Mobile (4 @ 1056): 5.3 million parameters; without the top and ``input_shape`` the input is
    224x224x3 (as Keras)."""
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return _nasnet(input_shape, 224, 1056, 4, 32, False, weights, include_top=include_top,
                   input_tensor=input_tensor, pooling=pooling, classes=classes,
                   classifier_activation=classifier_activation, name=name)


@imagenet_utils.with_application_args_doc
def NASNetLarge(input_shape: Any = None, include_top: bool = True, weights: Any = "imagenet",
                input_tensor: Any = None, pooling: str | None = None, classes: int = 1000,
                classifier_activation: Any = "softmax", name: str = "nasnet_large") -> Any:
    """NASNet-A Large (6 @ 4032): 88.9 million parameters."""
    return _nasnet(input_shape, 331, 4032, 6, 96, True, weights, include_top=include_top,
                   input_tensor=input_tensor, pooling=pooling, classes=classes,
                   classifier_activation=classifier_activation, name=name)


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """NASNet's preprocessing: pixels scaled from [0, 255] to [-1, 1] (``'tf'`` mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
