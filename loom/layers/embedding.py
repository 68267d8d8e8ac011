"""``Embedding``: integer ids -> dense vectors, looked up in a ``(input_dim, output_dim)`` table.

Example:
    >>> import loom
    >>> ids = loom.Input((10,), dtype="int32")
    >>> loom.layers.Embedding(1000, 8, mask_zero=True)(ids).shape
    (None, 10, 8)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom import constraints, initializers, regularizers
from loom.errors import ConfigError, InputError
from loom.layers import opaque_kernels
from loom.layers.layer import Layer
from loom.layers import quantized


def _positive_int(layer: str, name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"Embedding '{layer}': {name} must be a positive int, got {value!r}.")


class Embedding(Layer):
    """Turn ids in ``[0, input_dim)`` into ``output_dim``-vectors: ``(batch, ...)`` -> ``(batch, ..., output_dim)``.

    Float inputs are cast to integers, as Keras does. As the first layer of a ``Sequential``, a model built
    without an ``Input`` gets ``int32`` inputs.

    Args:
        input_dim: the vocabulary size (largest id + 1).
        output_dim: the size of each vector.
        embeddings_initializer: default ``'uniform'`` (Keras's RandomUniform(-0.05, 0.05)).
        embeddings_regularizer: default ``None``.
        embeddings_constraint: default ``None``.
        mask_zero: id 0 is padding: the layer emits a mask ``ids != 0`` that later layers (RNNs, merges,
            ``Softmax``...) honour; then id 0 cannot be a real token (default ``False``).
        input_length: Keras 2's argument, kept for the book's code: the fixed sequence length. As the first
            layer of a ``Sequential`` it sets the input shape to ``(None, input_length)`` (default ``None``).
        quantization_config: the ``loom.quantizers.QuantizationConfig`` of a quantized layer (default ``None``;
            see :mod:`loom.layers.quantized`).

    Input shape:
        ``(batch, ...)`` integer indices (any rank).

    Output shape:
        ``(batch, ..., output_dim)``.

    Returns:
        The rows of ``embeddings`` selected by the indices.

    Raises:
        InputError: indices outside ``[0, input_dim)``.

    Example:
        >>> import torch
        >>> layer = Embedding(10, 3)
        >>> layer(torch.tensor([[1, 2], [3, 0]])).shape
        torch.Size([2, 2, 3])
        >>> layer.compute_mask(torch.tensor([[1, 0]])) is None
        True
    """

    _casts_int_inputs = False  # ids stay integers

    expects_integer_inputs = True

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer: Any = "uniform",
                 embeddings_regularizer: Any = None, embeddings_constraint: Any = None, mask_zero: bool = False,
                 input_length: int | None = None, quantization_config: Any = None, **kwargs):
        super().__init__(**kwargs)
        self.quantization_config = quantized.config_from(quantization_config)
        _positive_int(self.name, "input_dim", input_dim)
        _positive_int(self.name, "output_dim", output_dim)
        if input_length is not None:
            _positive_int(self.name, "input_length", input_length)
            if self._batch_input_shape is None:
                self._batch_input_shape = (kwargs.get("batch_size"), input_length)
        self.input_dim, self.output_dim = input_dim, output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.input_length = input_length

    def build(self, input_shape=None):
        if self.quantization_mode is not None:
            quantized.build_quantized(self, (self.input_dim, self.output_dim))
            return
        self.add_weight("embeddings", (self.input_dim, self.output_dim), self.embeddings_initializer,
                        self.embeddings_regularizer, constraint=self.embeddings_constraint)

    def call(self, inputs):
        if inputs.dtype not in (torch.int32, torch.int64):
            inputs = inputs.long()
        try:
            if self._quantized is not None:  # see loom.layers.quantized
                return self._quantized.call(self, inputs)
            return opaque_kernels.embedding(inputs, self.embeddings)
        except IndexError as e:  # torch's "index out of range in self" names neither the layer nor the index
            bad = inputs[(inputs < 0) | (inputs >= self.input_dim)]
            index = int(bad.reshape(-1)[0]) if bad.numel() else "?"
            raise InputError(f"Layer '{self.name}' (Embedding, input_dim={self.input_dim}) got the index {index}; "
                             f"indices must be in 0..{self.input_dim - 1}. Raise input_dim or check the "
                             f"tokenization.") from e

    def _call_time_major(self, inputs: torch.Tensor) -> torch.Tensor:
        """``call``'s values and shape, ``(batch, steps, dim)``, laid out step-major in memory: torch's fused
        recurrent kernels work step-major and would otherwise copy a batch-first input (the inference plan uses
        this when a recurrent layer is the output's only reader)."""
        if inputs.dim() != 2:
            return self.call(inputs)
        return self.call(inputs.t()).transpose(0, 1)

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return inputs != 0

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero, "input_length": self.input_length,
                **quantized.config_item(self.quantization_config)}
