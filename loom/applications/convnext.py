"""ConvNeXtTiny, Small, Base, Large and XLarge (Liu et al., 2022, https://arxiv.org/abs/2201.03545): a
convnet modernized after vision transformers (7x7 depthwise convolutions, LayerNormalization, GELU, layer
scale), layer for layer as Keras's ``keras.applications.convnext`` (same layer names and order, so Keras's
weight files load).

The models take RGB images in [0, 255]; with ``include_preprocessing=True`` (the default) a
``Normalization`` layer applies ImageNet's mean and variance, so :func:`preprocess_input` is the identity.
The smallest input is 32x32.

Example:
    >>> ConvNeXtTiny(weights=None, include_preprocessing=False).count_params()
    28589128
"""

from __future__ import annotations

from typing import Any

import torch

from loom import initializers, layers
from loom import random as loom_random
from loom.applications import imagenet_utils
from loom.applications.keras_weights import PretrainedWeights
from loom.errors import ConfigError
from loom.models.keras_ops import OPS

__all__ = ["ConvNeXtTiny", "ConvNeXtSmall", "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtXLarge", "LayerScale",
           "StochasticDepth", "convnext_block", "preprocess_input", "decode_predictions"]

_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
# (depths, projection dims) of each variant; all are native at 224x224.
_CONFIGS = {
    "tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}


class LayerScale(layers.Layer):
    """Multiplies its input by a learned per-channel ``gamma`` (Touvron et al., 2021,
    https://arxiv.org/abs/2103.17239), as Keras ConvNeXt's layer of that name.

    Args:
        init_values: the initial value of every ``gamma`` entry.
        projection_dim: the number of channels (the last axis).

    Example:
        >>> import torch
        >>> LayerScale(0.5, 2)(torch.ones(1, 2)).tolist()
        [[0.5, 0.5]]
    """

    _keras_module = "keras.src.applications.convnext"  # where Keras defines it, for .keras files

    def __init__(self, init_values: float, projection_dim: int, **kwargs: Any):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.projection_dim:
            raise ConfigError(f"LayerScale '{self.name}': projection_dim is {self.projection_dim} but the input has "
                              f"{input_shape[-1]} channels (input shape {tuple(input_shape)}).")
        self.gamma = self.add_weight(shape=(self.projection_dim,),
                                     initializer=initializers.Constant(self.init_values), trainable=True)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma

    def get_config(self) -> dict:
        return {**super().get_config(), "init_values": self.init_values, "projection_dim": self.projection_dim}


class StochasticDepth(layers.Layer):
    """Drops whole residual branches per sample during training (Huang et al., 2016,
    https://arxiv.org/abs/1603.09382), scaling the kept ones by ``1 / (1 - drop_path_rate)``; the identity
    otherwise. As Keras ConvNeXt's layer of that name.

    Args:
        drop_path_rate: the probability of dropping a sample's branch.

    Example:
        >>> import torch
        >>> StochasticDepth(0.5)(torch.ones(2, 3)).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]
    """

    _keras_module = "keras.src.applications.convnext"  # where Keras defines it, for .keras files

    def __init__(self, drop_path_rate: float, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0 <= drop_path_rate < 1:
            raise ConfigError(f"StochasticDepth: drop_path_rate must be in [0, 1), got {drop_path_rate}.")
        self.drop_path_rate = drop_path_rate

    def call(self, x: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if not training or self.drop_path_rate == 0:
            return x
        keep = 1.0 - self.drop_path_rate
        noise = loom_random.uniform((x.shape[0],) + (1,) * (x.ndim - 1), dtype=x.dtype)
        return x / keep * torch.floor(keep + noise.to(x.device))

    def get_config(self) -> dict:
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


def convnext_block(x: Any, projection_dim: int, drop_path_rate: float = 0.0, layer_scale_init_value: float = 1e-6,
                   name: str = "block") -> Any:
    """A ConvNeXt block: 7x7 depthwise convolution, LayerNormalization, Dense 4x -> GELU -> Dense, layer
    scale, then added to the input (through stochastic depth when ``drop_path_rate``).

    Example:
        >>> import loom
        >>> convnext_block(loom.Input((8, 8, 16)), 16, name="b").shape
        (None, 8, 8, 16)
    """
    inputs = x
    x = layers.Conv2D(projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                      name=f"{name}_depthwise_conv")(x)
    x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
    x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
    x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
    if layer_scale_init_value is not None:
        x = LayerScale(layer_scale_init_value, projection_dim, name=f"{name}_layer_scale")(x)
    if drop_path_rate:
        x = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")(x)
    else:
        x = layers.Activation("linear", name=f"{name}_identity")(x)
    return OPS["Add"]()(inputs, x)  # a recorded op, as Keras's ``inputs + x`` (saved as keras.ops.add)


def _downsampling(name: str, dims: tuple, i: int) -> Any:
    """The stem (``i`` 0: 4x4 patches) or the ``i``-th downsampling (2x2), as Keras's nested Sequentials."""
    from loom.models import Sequential
    if i == 0:
        return Sequential([layers.Conv2D(dims[0], kernel_size=4, strides=4, name=f"{name}_stem_conv"),
                           layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")],
                          name=f"{name}_stem")
    return Sequential([layers.LayerNormalization(epsilon=1e-6, name=f"{name}_downsampling_layernorm_{i - 1}"),
                       layers.Conv2D(dims[i], kernel_size=2, strides=2, name=f"{name}_downsampling_conv_{i - 1}")],
                      name=f"{name}_downsampling_block_{i - 1}")


def _body(name: str, depths: tuple, dims: tuple, include_preprocessing: bool):
    def body(x):
        if include_preprocessing and x.shape[-1] == 3:
            from loom.layers import Normalization
            x = Normalization(mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
                              variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
                              name=f"{name}_prestem_normalization")(x)
        for i, depth in enumerate(depths):
            x = _downsampling(name, dims, i)(x)
            for j in range(depth):
                x = convnext_block(x, dims[i], name=f"{name}_stage_{i}_block_{j}")
        return x
    return body


def _head(name: str):
    def head(x: Any, include_top: bool, pooling: str | None, classes: int, classifier_activation: Any) -> Any:
        if not include_top:
            x = imagenet_utils.global_pooling(x, pooling)
            return layers.LayerNormalization(epsilon=1e-6)(x)
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(classes, activation=classifier_activation, name=f"{name}_head_dense")(x)
    return head


def _variant(size: str):
    depths, dims = _CONFIGS[size]
    weights_name = f"convnext_{size}"
    public = f"ConvNeXt{'XLarge' if size == 'xlarge' else size.capitalize()}"
    summary = (f"{public}: stages of {depths} blocks, {dims} channels; ``include_preprocessing`` (default "
               "``True``) normalizes the inputs in the model.")

    @imagenet_utils.application_variant(public, summary)
    def application(include_top: bool = True, include_preprocessing: bool = True, weights: Any = "imagenet",
                    input_tensor: Any = None, input_shape: Any = None, pooling: str | None = None,
                    classes: int = 1000, classifier_activation: Any = "softmax", name: str = weights_name) -> Any:
        if weights == "imagenet" and weights_name not in name:
            raise ConfigError(f'{public}: with weights="imagenet" the model name must contain "{weights_name}" '
                              f"(Keras names the weight file after the model); got name={name!r}.")
        pretrained = PretrainedWeights.named_after_model("convnext", name, *_HASHES[weights_name])
        return imagenet_utils.build_application(
            _body(name, depths, dims, include_preprocessing), name=name, default_size=224, min_size=32,
            pretrained=pretrained, include_top=include_top, weights=weights, input_tensor=input_tensor,
            input_shape=input_shape, pooling=pooling, classes=classes, classifier_activation=classifier_activation,
            head=_head(name))
    return application


ConvNeXtTiny = _variant("tiny")
ConvNeXtSmall = _variant("small")
ConvNeXtBase = _variant("base")
ConvNeXtLarge = _variant("large")
ConvNeXtXLarge = _variant("xlarge")


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """The identity: the ConvNeXts normalize their inputs themselves, as in Keras."""
    return x


def decode_predictions(preds: Any, top: int = 5, class_index: Any = None) -> list:
    """See :func:`loom.applications.imagenet_utils.decode_predictions`."""
    return imagenet_utils.decode_predictions(preds, top=top, class_index=class_index)
