"""``Embedding`` quantized to int8 and int4, as Keras 3's ``Embedding._int8_*`` / ``_int4_*``.

Each row of the table gets its own scale (``embeddings_scale``, shape ``(input_dim,)``): int8 rows, or int4
values packed two per byte along the output axis (``(input_dim, ceil(output_dim / 2))``). With an int4
``block_size`` the output axis is cut into blocks, each with a scale and zero point per row
(``embeddings_scale`` / ``embeddings_zero`` of shape ``(input_dim, ceil(output_dim / block_size))``, ``g_idx``
the block of each output position). A lookup dequantizes only the rows it reads; the table is frozen (it has
no gradient, as in Keras).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from loom.errors import NotSupportedError
from loom.layers.quantized.core import (Scheme, assign, block_size_for, dequantize_groups, frozen_weight,
                                        group_index, remove_weight)
from loom.quantizers import (AbsMaxQuantizer, QuantizationConfig, abs_max_quantize_grouped_with_zero_point,
                             pack_int4, unpack_int4)


def _rows(table: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    return table.index_select(0, ids.reshape(-1)).reshape(*ids.shape, *table.shape[1:])


class Int8Embedding(Scheme):
    """``Embedding`` with an int8 table (see the module docstring)."""

    MODE = "int8"
    SAVED_ORDER = ("embeddings", "embeddings_scale")

    def build(self, layer: Any, shape: tuple, device: Any = None) -> None:
        frozen_weight(layer, "embeddings", shape, "int8", device=device)
        frozen_weight(layer, "embeddings_scale", (layer.input_dim,), initializer="ones", device=device)

    def quantize(self, layer: Any) -> None:
        quantizer = QuantizationConfig.weight_quantizer_or_default(self.config, AbsMaxQuantizer(axis=-1))
        table = layer.embeddings.detach()
        values, scale = quantizer(table, to_numpy=True)
        remove_weight(layer, "embeddings")
        self.build(layer, tuple(table.shape), table.device)
        assign(layer, "embeddings", values)
        assign(layer, "embeddings_scale", scale.squeeze(-1))

    def call(self, layer: Any, ids: torch.Tensor) -> torch.Tensor:
        scale = _rows(layer.embeddings_scale, ids)
        return _rows(layer.embeddings, ids).to(layer.embeddings_scale.dtype) / scale.unsqueeze(-1)


class Int4Embedding(Scheme):
    """``Embedding`` with a packed int4 table (see the module docstring)."""

    MODE = "int4"
    SAVED_ORDER = ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx")

    def __init__(self, layer: Any, config: Any = None) -> None:
        super().__init__(layer, config)
        self.block_size = block_size_for(layer, config)

    def policy_mode(self, layer: Any) -> str:
        return f"int4/{-1 if self.block_size is None else self.block_size}"

    def build(self, layer: Any, shape: tuple, device: Any = None) -> None:
        rows, width = shape
        frozen_weight(layer, "embeddings", (rows, (width + 1) // 2), "int8", device=device)
        if self.block_size is None:
            frozen_weight(layer, "embeddings_scale", (rows,), initializer="ones", device=device)
            return
        groups = (rows, math.ceil(width / self.block_size))
        frozen_weight(layer, "embeddings_scale", groups, initializer="ones", device=device)
        frozen_weight(layer, "embeddings_zero", groups, "int8", device=device)
        frozen_weight(layer, "g_idx", (width,), "float32", device=device)
        assign(layer, "g_idx", group_index(width, self.block_size))

    def quantize(self, layer: Any) -> None:
        table = layer.embeddings.detach()
        zero = None
        if self.block_size is None:
            quantizer = QuantizationConfig.weight_quantizer_or_default(
                self.config, AbsMaxQuantizer(axis=-1, value_range=(-8, 7), output_dtype="int8"))
            values, scale = quantizer(table, to_numpy=True)
            scale = scale.squeeze(-1)
        else:
            values, scale, zero = abs_max_quantize_grouped_with_zero_point(table.t(), block_size=self.block_size)
            values, scale, zero = values.t(), scale.t(), zero.t()
        packed, _, _ = pack_int4(values.contiguous(), axis=-1)
        remove_weight(layer, "embeddings")
        self.build(layer, tuple(table.shape), table.device)
        assign(layer, "embeddings", packed)
        assign(layer, "embeddings_scale", scale)
        if zero is not None:
            assign(layer, "embeddings_zero", zero)

    def call(self, layer: Any, ids: torch.Tensor) -> torch.Tensor:
        values = unpack_int4(_rows(layer.embeddings, ids), layer.output_dim, axis=-1)
        values = values.to(layer.embeddings_scale.dtype)
        scale = _rows(layer.embeddings_scale, ids)
        if self.block_size is None:
            return values / scale.unsqueeze(-1)
        return dequantize_groups(values, scale, _rows(layer.embeddings_zero, ids), layer.g_idx, -1)


def _mode_error(mode: str) -> Exception:
    return NotSupportedError(f"Invalid quantization mode. Expected one of ('int8', 'int4'). Received: "
                             f"quantization_mode={mode}")


def _not_yet(mode: str) -> Exception:
    return NotSupportedError(f"loom does not quantize ReversibleEmbedding yet (Keras 3 quantizes both of its "
                             f"tables); quantization_mode={mode} is refused rather than leaving its reverse "
                             f"projection on a table it no longer has.")


def _register() -> None:
    from loom.layers.embedding import Embedding
    from loom.layers.quantized.core import register
    from loom.layers.reversible_embedding import ReversibleEmbedding
    register(Embedding, Int8Embedding, Int4Embedding, mode_error=_mode_error)
    register(ReversibleEmbedding, mode_error=_not_yet)  # its own family: type_check=False cannot reach Embedding's


_register()
