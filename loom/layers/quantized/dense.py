"""``Dense`` quantized to int8 and int4, as Keras 3's ``Dense._int8_*`` / ``_int4_*`` (float8 training:
:mod:`loom.layers.quantized.float8`).

* **int8**: the kernel is stored as int8 with one scale per output unit (``kernel_scale``, shape ``(units,)``;
  ``float ≈ int8 / scale``). By default the inputs are quantized too, per row (abs-max over the last axis),
  and the product of the two int8 tensors is de-scaled by ``kernel_scale * inputs_scale``.
* **int4**: two 4-bit values per int8 byte, packed along the output axis (kernel ``(in, ceil(units / 2))``).
  With ``block_size`` (default 128) each block of input rows has its own scale and zero point
  (``kernel_scale`` / ``kernel_zero`` of shape ``(ceil(in / block_size), units)``, ``g_idx`` the block of each
  row); with ``block_size=None`` / ``-1`` one symmetric scale per unit, as int8.

Gradients reach the inputs through the dequantized kernel (Keras's custom gradient); the quantized kernel and
its scales are frozen, the bias still trains.
"""

from __future__ import annotations

from typing import Any

import torch

from loom.layers.quantized.core import (Scheme, dequantize_groups, frozen_weight, integer_product,
                                        with_input_gradient)
from loom.layers.quantized.kernel_formats import Int4Kernel, Int8Kernel
from loom.quantizers import AbsMaxQuantizer, QuantizationConfig, unpack_int4


class Int8Dense(Int8Kernel, Scheme):
    """``Dense`` with an int8 kernel (see the module docstring)."""

    def build(self, layer: Any, shape: tuple, device: Any = None) -> None:
        frozen_weight(layer, "kernel", shape, "int8", device=device)
        frozen_weight(layer, "kernel_scale", (layer.units,), initializer="ones", device=device)

    def quantize(self, layer: Any) -> None:
        quantizer = QuantizationConfig.weight_quantizer_or_default(self.config, AbsMaxQuantizer(axis=0))
        values, scale = quantizer(layer.kernel.detach(), to_numpy=True)
        self.store(layer, values, scale.squeeze(0))

    def call(self, layer: Any, inputs: torch.Tensor) -> torch.Tensor:
        out = with_input_gradient(self, layer, inputs)
        return out + layer.bias if layer.use_bias else out

    def value(self, layer: Any, x: torch.Tensor) -> torch.Tensor:
        scale = layer.kernel_scale
        if self.inputs_quantizer is not None:
            xq, x_scale = self.inputs_quantizer(x, axis=-1)
            out = integer_product(torch.matmul, xq, layer.kernel, layer.kernel.shape[0])
            return out.to(x.dtype) / (scale * x_scale)
        return torch.matmul(x, layer.kernel.to(x.dtype)) / scale

    def input_grad(self, layer: Any, upstream: torch.Tensor) -> torch.Tensor:
        return torch.matmul(upstream, (layer.kernel.to(upstream.dtype) / layer.kernel_scale).t())


class Int4Dense(Int4Kernel, Scheme):
    """``Dense`` with a packed int4 kernel (see the module docstring)."""

    def build(self, layer: Any, shape: tuple, device: Any = None) -> None:
        self.build_packed(layer, *shape, device=device)

    def quantize(self, layer: Any) -> None:
        kernel = layer.kernel.detach()
        quantizer = QuantizationConfig.weight_quantizer_or_default(
            self.config, AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8"))
        self.store_packed(layer, kernel, lambda m: quantizer(m, to_numpy=True), tuple(kernel.shape))

    def call(self, layer: Any, inputs: torch.Tensor) -> torch.Tensor:
        out = with_input_gradient(self, layer, inputs)
        return out + layer.bias if layer.use_bias else out

    def _unpacked(self, layer: Any) -> torch.Tensor:
        return unpack_int4(layer.kernel, layer.units, axis=-1)

    def _float_kernel(self, layer: Any, dtype: torch.dtype) -> torch.Tensor:
        unpacked = self._unpacked(layer)
        if self.block_size is None:
            return unpacked.to(dtype) / layer.kernel_scale
        return dequantize_groups(unpacked, layer.kernel_scale, layer.kernel_zero, layer.g_idx, 0).to(dtype)

    def value(self, layer: Any, x: torch.Tensor) -> torch.Tensor:
        if self.block_size is not None:
            return torch.matmul(x, self._float_kernel(layer, x.dtype))
        unpacked, scale = self._unpacked(layer), layer.kernel_scale
        if self.inputs_quantizer is not None:
            xq, x_scale = self.inputs_quantizer(x, axis=-1)
            out = integer_product(torch.matmul, xq, unpacked, unpacked.shape[0])
            return out.to(x.dtype) / (scale * x_scale)
        return torch.matmul(x, unpacked.to(x.dtype)) / scale

    def input_grad(self, layer: Any, upstream: torch.Tensor) -> torch.Tensor:
        return torch.matmul(upstream, self._float_kernel(layer, upstream.dtype).t())


def _register() -> None:
    from loom.layers.dense import Dense
    from loom.layers.quantized.core import register
    from loom.layers.quantized.float8 import Float8Dense
    register(Dense, Int8Dense, Int4Dense, Float8Dense)


_register()
