"""``ReversibleEmbedding``: an ``Embedding`` that can also map vectors back to logits over the vocabulary.

Forward, ids become vectors as in ``Embedding``; with ``reverse=True``, vectors ``(..., output_dim)`` become
logits ``(..., input_dim)`` through the transposed table (``tie_weights=True``) or a separate
``reverse_embeddings`` matrix ``(output_dim, input_dim)``: the usual input and output layers of a language
model sharing one table.

Example:
    >>> import torch, loom
    >>> layer = loom.layers.ReversibleEmbedding(100, 8)
    >>> vectors = layer(torch.tensor([[1, 2, 3]]))
    >>> layer(vectors, reverse=True).shape
    torch.Size([1, 3, 100])
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend, regularizers
from loom.errors import ConfigError
from loom.layers.activity_penalty import ActivityPenalty
from loom.layers.embedding import Embedding


class ReversibleEmbedding(ActivityPenalty, Embedding):
    """An embedding table usable in both directions: ``layer(ids)`` and ``layer(vectors, reverse=True)``.

    Forward, as ``Embedding``. Reverse, ``vectors @ embeddings.T`` (tied weights) or
    ``vectors @ reverse_embeddings`` (untied), optionally soft-capped. No bias.

    Args:
        input_dim: the vocabulary size (largest id + 1).
        output_dim: the size of each vector.
        tie_weights: reverse through the transposed table; else learn a separate ``reverse_embeddings``
            matrix ``(output_dim, input_dim)``, initialized with ``embeddings_initializer`` (default ``True``).
        embeddings_initializer: default ``'uniform'``.
        embeddings_regularizer: default ``None`` (it applies to ``embeddings`` only).
        embeddings_constraint: default ``None`` (it applies to ``embeddings`` only).
        mask_zero: id 0 is padding and masked in the forward direction (default ``False``).
        reverse_dtype: the dtype of the reverse product, e.g. ``'float32'`` under mixed precision (default
            ``None``: the computation dtype).
        logit_soft_cap: a positive number; reverse logits become ``tanh(logits / cap) * cap`` (default
            ``None``: no cap).
        activity_regularizer: a penalty on the outputs (of either direction), added to ``losses`` divided by
            the batch size (default ``None``).
        quantization_config: Keras's quantization settings; only ``None`` is accepted (default ``None``).

    Call arguments:
        inputs: integer ids (forward) or vectors ``(..., output_dim)`` (reverse).
        reverse: map vectors to logits instead of ids to vectors (default ``False``).

    Input shape:
        Forward: ``(batch, ...)`` integer ids. Reverse: ``(batch, ..., output_dim)``.

    Output shape:
        Forward: ``(batch, ..., output_dim)``. Reverse: ``(batch, ..., input_dim)``.

    Returns:
        The embedding vectors of the ids, or (``reverse=True``) the logits over the vocabulary.

    Raises:
        ConfigError: a non-positive ``input_dim``, ``output_dim`` or ``logit_soft_cap``, or a
            ``quantization_config``.
        InputError: forward ids outside ``[0, input_dim)``.

    Example:
        >>> import torch
        >>> layer = ReversibleEmbedding(10, 4, tie_weights=False)
        >>> vectors = layer(torch.tensor([[1, 2]]))
        >>> layer(vectors, reverse=True).shape, [w.shape for w in layer.get_weights()]
        (torch.Size([1, 2, 10]), [(10, 4), (4, 10)])
        >>> capped = ReversibleEmbedding(10, 4, logit_soft_cap=0.5)
        >>> bool(capped(100 * torch.ones(1, 4), reverse=True).abs().max() <= 0.5)
        True
    """

    def __init__(self, input_dim: int, output_dim: int, tie_weights: bool = True,
                 embeddings_initializer: Any = "uniform", embeddings_regularizer: Any = None,
                 embeddings_constraint: Any = None, mask_zero: bool = False, reverse_dtype: Any = None,
                 logit_soft_cap: float | None = None, activity_regularizer: Any = None,
                 quantization_config: Any = None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer, embeddings_constraint=embeddings_constraint,
                         mask_zero=mask_zero, **kwargs)
        if quantization_config is not None:
            raise ConfigError(f"ReversibleEmbedding '{self.name}': quantization is not supported by loom.")
        if logit_soft_cap is not None and (isinstance(logit_soft_cap, bool) or logit_soft_cap <= 0):
            raise ConfigError(f"ReversibleEmbedding '{self.name}': logit_soft_cap must be a positive number or "
                              f"None, got {logit_soft_cap!r}.")
        self.tie_weights = bool(tie_weights)
        self.reverse_dtype = None if reverse_dtype is None else backend.dtype_name(backend.torch_dtype(reverse_dtype))
        self.logit_soft_cap = logit_soft_cap
        self.activity_regularizer = regularizers.get(activity_regularizer)

    def build(self, input_shape=None):
        super().build(input_shape)
        if not self.tie_weights:
            self.add_weight("reverse_embeddings", (self.output_dim, self.input_dim), self.embeddings_initializer)

    def call(self, inputs, reverse: bool = False):
        if not reverse:
            out = super().call(inputs)
        else:
            kernel = self.embeddings.t() if self.tie_weights else self.reverse_embeddings
            if self.reverse_dtype is not None:
                dtype = backend.torch_dtype(self.reverse_dtype)
                inputs, kernel = inputs.to(dtype), kernel.to(dtype)
            out = torch.matmul(inputs, kernel.to(inputs.dtype))
            if self.logit_soft_cap is not None:
                out = torch.tanh(out / self.logit_soft_cap) * self.logit_soft_cap
        self._penalize_activity(out)
        return out

    def compute_mask(self, inputs, mask=None):
        if inputs is None or inputs.is_floating_point():  # reverse calls take vectors, which carry no mask
            return None
        return super().compute_mask(inputs, mask)

    def get_config(self):
        config = super().get_config()
        del config["input_length"]
        return {**config, "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "quantization_config": None, "tie_weights": self.tie_weights, "reverse_dtype": self.reverse_dtype,
                "logit_soft_cap": self.logit_soft_cap}
