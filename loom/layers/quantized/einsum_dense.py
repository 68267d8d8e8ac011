"""``EinsumDense`` quantized to int8 and int4, as Keras 3's ``EinsumDense._int8_*`` / ``_int4_*`` (float8
training: :mod:`loom.layers.quantized.float8`).

* **int8**: the kernel keeps its shape as int8, quantized over its reduced axes; ``kernel_scale`` is stored in
  the output's layout (:mod:`loom.layers.quantized.einsum_axes`). The inputs are quantized over their reduced
  axes too by default, and the int8 einsum is de-scaled by both scales.
* **int4**: the kernel is flattened to ``(reduced, other)`` (``reduced`` the product of its reduced axes) and
  packed two values per byte along the second axis; scales per column (``block_size=None`` / ``-1``) or per
  block of rows with zero points, as ``Dense``'s int4.

Unlike Keras 3.15 (whose quantization info fails on them), equations with ``...`` quantize too.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom.layers.quantized.core import (Scheme, dequantize_groups, frozen_weight, integer_product,
                                        with_input_gradient)
from loom.layers.quantized.einsum_axes import analyze
from loom.layers.quantized.kernel_formats import Int4Kernel, Int8Kernel
from loom.quantizers import AbsMaxQuantizer, QuantizationConfig, abs_max_quantize, unpack_int4


class _EinsumScheme(Scheme):
    """What both modes share: the axis analysis, the bias and the custom input gradient."""

    def __init__(self, layer: Any, config: Any = None) -> None:
        super().__init__(layer, config)
        self.axes = analyze(layer.equation, layer.input_spec.ndim)
        self.kernel_shape: tuple = ()

    def _reduced_size(self) -> int:
        return math.prod(self.kernel_shape[i] for i in self.axes.kernel_reduced)

    def call(self, layer: Any, inputs: torch.Tensor) -> torch.Tensor:
        out = with_input_gradient(self, layer, inputs)
        return out + layer.bias if layer._has_bias else out

    def input_grad(self, layer: Any, upstream: torch.Tensor) -> torch.Tensor:
        return torch.einsum(self.axes.gradient_equation, upstream, self._float_kernel(layer, upstream.dtype))

    def _float_kernel(self, layer: Any, dtype: torch.dtype) -> torch.Tensor:
        raise NotImplementedError


class Int8EinsumDense(Int8Kernel, _EinsumScheme):
    """``EinsumDense`` with an int8 kernel (see the module docstring)."""

    def build(self, layer: Any, shape: tuple, device: Any = None) -> None:
        self.kernel_shape = tuple(shape)
        frozen_weight(layer, "kernel", shape, "int8", device=device)
        frozen_weight(layer, "kernel_scale", self.axes.kernel_scale_shape(shape), initializer="ones", device=device)

    def quantize(self, layer: Any) -> None:
        quantizer = QuantizationConfig.weight_quantizer_or_default(
            self.config, AbsMaxQuantizer(axis=self.axes.kernel_reduced))
        values, scale = quantizer(layer.kernel.detach(), to_numpy=True)
        self.store(layer, values, self.axes.scale_for_output(scale, "kernel"))

    def _float_kernel(self, layer: Any, dtype: torch.dtype) -> torch.Tensor:
        return layer.kernel.to(dtype) / self.axes.scale_for_kernel(layer.kernel_scale)

    def value(self, layer: Any, x: torch.Tensor) -> torch.Tensor:
        if self.inputs_quantizer is None:
            return torch.einsum(layer.equation, x, self._float_kernel(layer, x.dtype))
        xq, x_scale = self.inputs_quantizer(x, axis=tuple(self.axes.input_reduced))
        x_scale = self.axes.scale_for_output(x_scale, "input")
        out = integer_product(lambda a, b: torch.einsum(layer.equation, a, b), xq, layer.kernel,
                              self._reduced_size())
        return out.to(x.dtype) / (x_scale * layer.kernel_scale)


class Int4EinsumDense(Int4Kernel, _EinsumScheme):
    """``EinsumDense`` with a flattened, packed int4 kernel (see the module docstring)."""

    def _flat_shape(self) -> tuple[int, int]:
        rows = self._reduced_size()
        return rows, math.prod(self.kernel_shape) // rows

    def build(self, layer: Any, shape: tuple, device: Any = None) -> None:
        self.kernel_shape = tuple(shape)
        self.build_packed(layer, *self._flat_shape(), device=device)

    def quantize(self, layer: Any) -> None:
        kernel = layer.kernel.detach()
        self.kernel_shape = tuple(kernel.shape)
        self.store_packed(layer, kernel.reshape(self._flat_shape()),
                          lambda m: abs_max_quantize(m, axis=0, value_range=(-8, 7), dtype="int8"), self.kernel_shape)

    def _float_kernel(self, layer: Any, dtype: torch.dtype) -> torch.Tensor:
        unpacked = unpack_int4(layer.kernel, self._flat_shape()[1], axis=-1)
        if self.block_size is None:
            flat = unpacked.to(dtype) / layer.kernel_scale
        else:
            flat = dequantize_groups(unpacked, layer.kernel_scale, layer.kernel_zero, layer.g_idx, 0).to(dtype)
        return flat.reshape(self.kernel_shape)

    def value(self, layer: Any, x: torch.Tensor) -> torch.Tensor:
        kernel = self._float_kernel(layer, x.dtype)
        if self.block_size is not None or self.inputs_quantizer is None:
            return torch.einsum(layer.equation, x, kernel)
        xq, x_scale = self.inputs_quantizer(x, axis=tuple(self.axes.input_reduced))
        x_scale = self.axes.scale_for_output(x_scale, "input")
        return torch.einsum(layer.equation, xq.to(x.dtype), kernel) / x_scale


def _register() -> None:
    from loom.layers.einsum_dense import EinsumDense
    from loom.layers.quantized.core import register
    from loom.layers.quantized.float8 import Float8EinsumDense
    register(EinsumDense, Int8EinsumDense, Int4EinsumDense, Float8EinsumDense)


_register()
