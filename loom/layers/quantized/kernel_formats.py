"""The quantized kernels ``Dense`` and ``EinsumDense`` share, as mixins placed before
:class:`~loom.layers.quantized.core.Scheme` in a scheme's bases.

* :class:`Int8Kernel`: the kernel as int8 with its scales; the inputs quantized by default (abs-max).
* :class:`Int4Kernel`: a ``(rows, columns)`` matrix packed two values a byte along its columns, with one
  symmetric scale per column (``block_size=None``) or, per block of ``block_size`` rows, a scale and a zero point
  (and ``g_idx``, each row's block), as Keras 3's ``_int4_build``.

Example:
    >>> import loom
    >>> layer = loom.layers.Dense(6)
    >>> layer.build((None, 4))
    >>> layer.quantize("int4")
    >>> tuple(layer.kernel.shape), layer.kernel.dtype, layer.dtype_policy.name
    ((4, 3), torch.int8, 'int4/128_from_float32')
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom.layers.quantized.core import assign, block_size_for, frozen_weight, group_index, remove_weight
from loom.quantizers import (AbsMaxQuantizer, QuantizationConfig, abs_max_quantize_grouped_with_zero_point,
                             pack_int4)


class Int8Kernel:
    """Mixin for the int8 schemes: the mode, Keras's saved order, the default input quantizer, and
    :meth:`store` (``self.build`` then decides the scale's shape)."""

    MODE = "int8"
    SAVED_ORDER = ("kernel", "bias", "kernel_scale")

    def __init__(self, layer: Any, config: Any = None) -> None:
        super().__init__(layer, config)
        self.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(config, AbsMaxQuantizer())

    def store(self, layer: Any, values: torch.Tensor, scale: torch.Tensor) -> None:
        """Replace the layer's float kernel by int8 ``values`` with ``scale``."""
        shape, device = tuple(layer.kernel.shape), layer.kernel.device
        remove_weight(layer, "kernel")
        self.build(layer, shape, device)
        assign(layer, "kernel", values)
        assign(layer, "kernel_scale", scale)


class Int4Kernel:
    """Mixin for the int4 schemes: the mode, Keras's saved order, the block size, the packed weights."""

    MODE = "int4"
    SAVED_ORDER = ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx")

    def __init__(self, layer: Any, config: Any = None) -> None:
        super().__init__(layer, config)
        self.inputs_quantizer = QuantizationConfig.activation_quantizer_or_default(config, None)
        self.block_size = block_size_for(layer, config)

    def policy_mode(self, layer: Any) -> str:
        return f"int4/{-1 if self.block_size is None else self.block_size}"

    def build_packed(self, layer: Any, rows: int, columns: int, device: Any = None) -> None:
        """Create the frozen packed kernel and its scales (and zero points, ``g_idx``) for a ``(rows, columns)``
        matrix."""
        frozen_weight(layer, "kernel", (rows, (columns + 1) // 2), "int8", device=device)
        if self.block_size is None:
            frozen_weight(layer, "kernel_scale", (columns,), initializer="ones", device=device)
            return
        groups = (math.ceil(rows / self.block_size), columns)
        frozen_weight(layer, "kernel_scale", groups, initializer="ones", device=device)
        frozen_weight(layer, "kernel_zero", groups, "int8", device=device)
        frozen_weight(layer, "g_idx", (rows,), "float32", device=device)
        assign(layer, "g_idx", group_index(rows, self.block_size))

    def store_packed(self, layer: Any, matrix: torch.Tensor, per_column: Any, build_shape: tuple) -> None:
        """Replace the layer's float kernel by ``matrix`` (its ``(rows, columns)`` view) quantized: by
        ``per_column(matrix) -> (int values, scale)`` without blocks, else per block with zero points; the new
        weights come from ``self.build(layer, build_shape)``."""
        zero = None
        if self.block_size is None:
            values, scale = per_column(matrix)
            scale = scale.squeeze(0)
        else:
            values, scale, zero = abs_max_quantize_grouped_with_zero_point(matrix, block_size=self.block_size)
        packed, _, _ = pack_int4(values, axis=-1)
        device = layer.kernel.device
        remove_weight(layer, "kernel")
        self.build(layer, build_shape, device)
        assign(layer, "kernel", packed)
        assign(layer, "kernel_scale", scale)
        if zero is not None:
            assign(layer, "kernel_zero", zero)
