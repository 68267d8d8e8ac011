"""Quantization, as ``keras.quantizers``: quantizers, quantization math and quantization configurations.

Example:
    >>> import torch, loom
    >>> packed, shape, length = loom.quantizers.pack_int4(torch.tensor([1, -2, 3], dtype=torch.int8))
    >>> loom.quantizers.unpack_int4(packed, length).tolist()
    [1, -2, 3]
"""

from loom.quantizers.functions import (abs_max_quantize, abs_max_quantize_grouped_with_zero_point,
                                       compute_float8_amax_history, compute_float8_scale,
                                       fake_quant_with_min_max_vars, pack_int4, quantize_and_dequantize,
                                       unpack_int4)
from loom.quantizers.quantization_config import (AWQConfig, Float8QuantizationConfig, GPTQConfig,
                                                 Int4QuantizationConfig, Int8QuantizationConfig,
                                                 QuantizationConfig)
from loom.quantizers.quantizer import AbsMaxQuantizer, Quantizer, deserialize, get, serialize

__all__ = ["AWQConfig", "AbsMaxQuantizer", "Float8QuantizationConfig", "GPTQConfig", "Int4QuantizationConfig",
           "Int8QuantizationConfig", "QuantizationConfig", "Quantizer", "abs_max_quantize",
           "abs_max_quantize_grouped_with_zero_point", "compute_float8_amax_history", "compute_float8_scale",
           "deserialize", "fake_quant_with_min_max_vars", "get", "pack_int4", "quantize_and_dequantize", "serialize",
           "unpack_int4"]
