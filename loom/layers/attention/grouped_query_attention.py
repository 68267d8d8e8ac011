"""``GroupQueryAttention``: attention where groups of query heads share a key/value head (Ainslie et al., 2023).

``num_query_heads`` query heads and ``num_key_value_heads`` key/value heads; each key/value head serves
``num_query_heads // num_key_value_heads`` query heads. With one key/value head it is multi-query attention,
with as many as query heads it is multi-head attention. Weights are Keras's: query kernel
``(dim, query_heads, head_dim)``, key/value kernels ``(dim, kv_heads, head_dim)``, output kernel
``(query_heads, head_dim, dim)``.

Example:
    >>> import loom
    >>> x = loom.Input((8, 16))
    >>> loom.layers.GroupQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)(x, x).shape
    (None, 8, 16)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from loom import backend
from loom.errors import ConfigError, InputError, ShapeError
from loom.layers.attention.masks import large_negative, masked_softmax, merge_attention_mask
from loom.layers.dropout import Dropout
from loom.layers.einsum_dense import EinsumDense, einsum_projection
from loom.layers.layer import Layer
from loom.layers.layer_args import DENSE_WEIGHT_ARGS, parse_args, positive_int, serialize_args
from loom.variables import name_scope


class GroupedQueryAttention(Layer):
    """Grouped-query attention: ``layer(query, value, key=None)`` on ``(batch, length, dim)`` tensors.

    Each of the ``num_key_value_heads`` key/value heads serves ``num_query_heads // num_key_value_heads`` query
    heads; scores are scaled by ``1 / sqrt(head_dim)``. Weights are Keras's: query kernel
    ``(dim, num_query_heads, head_dim)``, key/value kernels ``(dim, num_key_value_heads, head_dim)``, output
    kernel ``(num_query_heads, head_dim, dim)``.

    Args:
        head_dim: the size of each head.
        num_query_heads: the number of query heads.
        num_key_value_heads: the number of key/value heads; must divide ``num_query_heads``.
        dropout: dropout rate on the attention probabilities (default 0.0).
        use_bias: projections have biases (default ``True``).
        sliding_window: each position attends only to positions less than this far away (default ``None``).
        flash_attention: Keras's switch for flash kernels; loom lets torch choose its kernel, and only
            refuses ``dropout`` with ``True``, as Keras (default ``None``).
        kernel_initializer: default ``'glorot_uniform'``.
        bias_initializer: default ``'zeros'``.
        kernel_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        activity_regularizer: default ``None``.
        kernel_constraint: default ``None``.
        bias_constraint: default ``None``.
        use_gate: gate the attention output with a sigmoid projection of the query (default ``False``).
        seed: seed of the dropout (default ``None``).

    Call arguments as :class:`~loom.layers.MultiHeadAttention`; scores are ``(B, num_query_heads, T, S)``.

    Input shape:
        ``query`` ``(batch, T, dim)``, ``value`` ``(batch, S, vdim)``, ``key`` ``(batch, S, kdim)``.

    Output shape:
        ``(batch, T, dim)``; the scores are ``(batch, num_query_heads, T, S)``.

    Returns:
        The attention output, or ``(output, scores)`` with ``return_attention_scores=True``.

    Raises:
        ConfigError: a ``head_dim``, head count or ``sliding_window`` that is not a positive int,
            ``num_query_heads`` not divisible by ``num_key_value_heads``, or a ``dropout`` outside ``[0, 1]`` or
            with ``flash_attention=True``.
        ShapeError: inputs that are not 3D, or key and value of different lengths.
        InputError: a call without ``value``, or a mask whose shape does not fit its input.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.GroupedQueryAttention(head_dim=2, num_query_heads=4, num_key_value_heads=1)
        >>> out, scores = layer(torch.ones(1, 3, 6), torch.ones(1, 5, 6), return_attention_scores=True)
        >>> tuple(out.shape), tuple(scores.shape)
        ((1, 3, 6), (1, 4, 3, 5))
        >>> [tuple(w.shape) for w in layer.weights if w.path.endswith("kernel")]  # query, key, value, output
        [(6, 4, 2), (6, 1, 2), (6, 1, 2), (4, 2, 6)]
    """

    supports_masking = True
    _shares_dtype_policy = True  # its projections take its policy; quantized ones are saved in a map

    def __init__(self, head_dim: int, num_query_heads: int, num_key_value_heads: int, dropout: float = 0.0,
                 use_bias: bool = True, sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                           ("num_key_value_heads", num_key_value_heads)):
            positive_int(f"GroupedQueryAttention '{self.name}'", arg, value)
        positive_int(f"GroupedQueryAttention '{self.name}'", "sliding_window", sliding_window, allow_none=True)
        if num_query_heads % num_key_value_heads:
            raise ConfigError(f"GroupedQueryAttention '{self.name}': num_query_heads ({num_query_heads}) must be "
                              f"divisible by num_key_value_heads ({num_key_value_heads}).")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ConfigError(f"GroupedQueryAttention '{self.name}': dropout must be in [0, 1], got {dropout!r}.")
        if flash_attention and dropout > 0:
            raise ConfigError(f"GroupedQueryAttention '{self.name}': dropout is not supported with "
                              f"flash_attention=True; set dropout=0.0 (got {dropout!r}).")
        self.head_dim, self.num_query_heads, self.num_key_value_heads = head_dim, num_query_heads, num_key_value_heads
        self.num_repeats = num_query_heads // num_key_value_heads
        self.dropout, self.use_bias, self.use_gate = float(dropout), bool(use_bias), bool(use_gate)
        self.sliding_window, self.flash_attention, self.seed = sliding_window, flash_attention, seed
        parse_args(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint)

    def _dense(self, equation: str, shape: list, bias_axes: str, name: str, input_shape: Sequence,
               activation: Any = None) -> EinsumDense:
        dense = einsum_projection(self, equation, shape, bias_axes, name, activation)
        dense._maybe_build(tuple(input_shape))
        return dense

    def build(self, query_shape: Sequence, value_shape: Sequence | None = None,
              key_shape: Sequence | None = None) -> None:
        """Create the projections for inputs of these shapes (``key_shape`` defaults to ``value_shape``)."""
        query_shape, value_shape = tuple(query_shape), tuple(query_shape if value_shape is None else value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ShapeError(f"GroupedQueryAttention '{self.name}': {what} must be (batch, length, dim), got "
                                 f"shape {shape}.")
        self.feature_dim = query_shape[-1]
        q_heads, kv_heads, size = self.num_query_heads, self.num_key_value_heads, self.head_dim
        self._query_dense = self._dense("bqm,muh->bquh", [None, q_heads, size], "uh", "query", query_shape)
        self._key_dense = self._dense("bkm,mvh->bkvh", [None, kv_heads, size], "vh", "key", key_shape)
        if self.use_gate:
            self._gate_dense = self._dense("bqm,muh->bquh", [None, q_heads, size], "uh", "gate", query_shape,
                                           "sigmoid")
        self._value_dense = self._dense("bkm,mvh->bkvh", [None, kv_heads, size], "vh", "value", value_shape)
        self._dropout_layer = Dropout(self.dropout, seed=self.seed, dtype=self.dtype)
        self._output_dense = self._dense("bquh,uhm->bqm", [None, self.feature_dim], "m", "attention_output",
                                         (None, None, q_heads, size))

    def __call__(self, *args, **kwargs):
        if not self.built and args:
            value = args[1] if len(args) > 1 else kwargs.get("value")
            key = args[2] if len(args) > 2 else kwargs.get("key")
            if value is None:
                raise InputError(f"GroupedQueryAttention '{self.name}' needs a value: layer(query, value).")
            with name_scope(self.name, self):
                self.build(_shape(args[0]), _shape(value), _shape(key))
        return super().__call__(*args, **kwargs)

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores: bool = False, training=None, use_causal_mask: bool = False):
        value = _like(value, query)
        key = value if key is None else _like(key, query)
        if query.dim() != 3 or value.dim() != 3 or key.dim() != 3 or key.shape[1] != value.shape[1]:
            raise ShapeError(f"GroupedQueryAttention '{self.name}': query, value and key must be (batch, length, dim) "
                             f"with key and value of one length, got {tuple(query.shape)}, {tuple(value.shape)}, "
                             f"{tuple(key.shape)}.")
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self.sliding_window is None)
        mask = None if causal_only else merge_attention_mask(
            self.name, query, value, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
            attention_mask=attention_mask, use_causal_mask=use_causal_mask, sliding_window=self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        q = self._query_dense(query)
        k = self._key_dense(key).repeat_interleave(self.num_repeats, dim=2)
        v = self._value_dense(value).repeat_interleave(self.num_repeats, dim=2)
        out, scores = self._attend(q, k, v, mask, bool(return_attention_scores), causal_only)
        out = self._output_dense(out if gate is None else out * gate)
        return (out, scores) if return_attention_scores else out

    def _attend(self, q, k, v, mask, want_scores: bool, causal_only: bool):
        scale = 1.0 / math.sqrt(float(self.head_dim))
        if mask is not None:
            while mask.dim() < 4:
                mask = mask.unsqueeze(-3)
        if not (self.dropout > 0 or want_scores):
            bias = None if mask is None else torch.zeros(mask.shape, dtype=q.dtype, device=q.device).masked_fill(
                ~mask, large_negative(q.dtype))
            out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                 attn_mask=bias, is_causal=causal_only, scale=scale)
            return out.transpose(1, 2), None
        if causal_only:
            mask = merge_attention_mask(self.name, q, v, use_causal_mask=True).unsqueeze(-3)
        scores = masked_softmax(torch.einsum("bquh,bkuh->buqk", q * scale, k), mask, (-1,))
        dropped = self._dropout_layer(scores) if self.dropout > 0 else scores
        return torch.einsum("buqk,bkuh->bquh", dropped, v), scores

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "head_dim": self.head_dim, "num_query_heads": self.num_query_heads,
                "num_key_value_heads": self.num_key_value_heads, "use_bias": self.use_bias,
                "use_gate": self.use_gate, "sliding_window": self.sliding_window, "dropout": self.dropout,
                **serialize_args(self, *DENSE_WEIGHT_ARGS), "seed": self.seed}


def _like(x: Any, query: torch.Tensor) -> torch.Tensor:
    x = backend.to_tensor(x, device=query.device)
    return x.to(query.dtype) if x.dtype != query.dtype else x


def _shape(x: Any) -> tuple | None:
    if x is None:
        return None
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else tuple(torch.as_tensor(x).shape)


GroupQueryAttention = GroupedQueryAttention  # Keras's public name for the class
