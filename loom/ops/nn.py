"""``keras.ops.nn`` on torch: activations, cross-entropies, normalizations, convolutions, pooling, attention.

The functions live in private modules by concept (``_activations``, ``_nn_stats``, ``_conv``, ``_sequence``);
this module is the public list. Image-like inputs are channels_last by default, as in Keras.

Example:
    >>> from loom.ops import nn
    >>> [round(v, 4) for v in nn.softmax([1.0, 2.0, 3.0]).tolist()]
    [0.09, 0.2447, 0.6652]
"""

from loom.ops._activations import (celu, elu, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_swish,
                                   hard_tanh, leaky_relu, log_sigmoid, log_softmax, polar, relu, relu6, selu,
                                   sigmoid, silu, soft_shrink, softmax, softplus, softsign, sparse_plus,
                                   sparse_sigmoid, sparsemax, squareplus, swish, tanh_shrink, threshold)
from loom.ops._conv import (adaptive_average_pool, adaptive_max_pool, average_pool, conv, conv_transpose,
                            depth_to_space, depthwise_conv, fold, max_pool, separable_conv, space_to_depth, unfold)
from loom.ops._nn_stats import (batch_normalization, binary_crossentropy, categorical_crossentropy,
                                layer_normalization, moments, multi_hot, normalize, one_hot, psnr,
                                rms_normalization, sparse_categorical_crossentropy)
from loom.ops._sequence import ctc_decode, ctc_loss, dot_product_attention
from loom.ops._tensor import op

__all__ = [
    "adaptive_average_pool", "adaptive_max_pool", "average_pool", "batch_normalization", "binary_crossentropy",
    "categorical_crossentropy", "celu", "conv", "conv_transpose", "ctc_decode", "ctc_loss", "depth_to_space",
    "depthwise_conv", "dot_product_attention", "elu", "fold", "gelu", "glu", "hard_shrink", "hard_sigmoid",
    "hard_silu", "hard_swish", "hard_tanh", "layer_normalization", "leaky_relu", "log_sigmoid", "log_softmax",
    "max_pool", "moments", "multi_hot", "normalize", "one_hot", "polar", "psnr", "relu", "relu6",
    "rms_normalization", "selu", "separable_conv", "sigmoid", "silu", "soft_shrink", "softmax", "softplus",
    "softsign", "space_to_depth", "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid", "sparsemax",
    "squareplus", "swish", "tanh_shrink", "threshold", "unfold",
]


# torch failures inside an op (e.g. a kernel's own shape check) surface as loom InputErrors naming the op
for _name in __all__:
    globals()[_name] = op("nn." + _name)(globals()[_name])
