"""Post-training quantization of loom layers and models, as Keras 3's ``layer.quantize`` / ``model.quantize``.

``layer.quantize(mode)`` replaces a built layer's float kernel by a quantized one and gives the layer a quantized
dtype policy (``'int8_from_float32'``, ``'int4/128_from_float32'``...); ``model.quantize(mode)`` does it for
every layer that has a quantized form and warns about the others. Quantized layers compute as Keras's do on the
same weights, list their weights in Keras's ``get_weights()`` order and save in Keras's variable order, so a
``.keras`` file of a quantized model moves between Keras and loom both ways.

Modes and layers (one module each): ``'int8'`` and ``'int4'`` for ``Dense`` (:mod:`.dense`), ``EinsumDense``
(:mod:`.einsum_dense`, axis bookkeeping in :mod:`.einsum_axes`) and ``Embedding`` (:mod:`.embedding`);
``'float8'`` training for ``Dense`` and ``EinsumDense`` (:mod:`.float8`). Quantized kernels are frozen; the
inputs get Keras's custom gradient through the dequantized kernel, so the rest of the model (and the biases)
still trains. GPTQ and AWQ (calibrated on data) are not implemented: their policies load and save, quantizing
with them raises ``NotSupportedError``. Keras's LoRA on quantized layers is not implemented either.

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.Input((8,)), loom.layers.Dense(4), loom.layers.Dense(1)])
    >>> model.quantize("int8")
    >>> [layer.dtype_policy.name for layer in model.layers]
    ['int8_from_float32', 'int8_from_float32']
    >>> model.predict(np.ones((2, 8), "float32"), verbose=0).shape
    (2, 1)
"""

from loom.layers.quantized.core import (Scheme, build_quantized, config_entry, config_from, config_item,
                                        quantize_layer, resolve_config)
from loom.layers.quantized.model import quantize_model

__all__ = ["Scheme", "build_quantized", "config_entry", "config_from", "config_item", "quantize_layer",
           "quantize_model",
           "resolve_config"]
