"""``MultiHeadAttention``: scaled dot-product attention over several heads (Vaswani et al., 2017).

The query, key and value are projected by ``EinsumDense`` layers into ``(batch, ..., heads, dim)``, attend
over ``attention_axes``, and are projected back to the query's last size (or ``output_shape``). The weights
are Keras's: query/key/value kernels ``(dim, heads, key_dim)`` with biases ``(heads, key_dim)``, and the output
kernel ``(heads, value_dim, dim)`` with bias ``(dim,)``, so Keras weights and ``.keras`` files load as they are.

Example:
    >>> import loom
    >>> x = loom.Input((8, 16))
    >>> loom.layers.MultiHeadAttention(num_heads=2, key_dim=4)(x, x).shape
    (None, 8, 16)
"""

from __future__ import annotations

import math
import string
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from loom import backend
from loom.errors import ConfigError, InputError, ShapeError
from loom.layers.attention.masks import large_negative, masked_softmax, merge_attention_mask
from loom.layers.dropout import Dropout
from loom.layers.einsum_dense import einsum_projection
from loom.layers.layer import Layer
from loom.layers.layer_args import DENSE_WEIGHT_ARGS, parse_args, positive_int, serialize_args
from loom.variables import name_scope


def projection_equation(free: int, bound: int, out: int) -> tuple[str, str, int]:
    """``(equation, bias_axes, output_rank)`` of a projection keeping ``free`` axes, contracting ``bound``
    axes and adding ``out`` axes: ``projection_equation(2, 1, 2)`` is ``('abc,cde->abde', 'de', 4)``."""
    letters = string.ascii_lowercase
    kept, summed, added = letters[:free], letters[free:free + bound], letters[free + bound:free + bound + out]
    return f"{kept}{summed},{summed}{added}->{kept}{added}", added, free + out


def attention_equations(rank: int, axes: tuple[int, ...]) -> tuple[str, str, int]:
    """``(scores equation, combine equation, scores rank)`` for projected tensors of ``rank`` attending over
    ``axes``: scores are ``(batch dims..., heads, query axes..., key axes...)``."""
    letters = string.ascii_lowercase
    target = letters[:rank]
    batch = [i for i in range(rank - 1) if i not in axes]
    extra = iter(letters[rank:])
    source = "".join(target[i] if i in batch or i == rank - 1 else next(extra) for i in range(rank))
    product = "".join([target[i] for i in batch] + [target[i] for i in axes] + [source[i] for i in axes])
    return f"{source},{target}->{product}", f"{product},{source}->{target}", len(product)


class MultiHeadAttention(Layer):
    """Multi-head attention: ``layer(query, value, key=None)``.

    ``query``, ``key`` and ``value`` are projected into ``num_heads`` heads, attend with scores scaled by
    ``1 / sqrt(key_dim)`` over ``attention_axes``, and are projected back to the query's last size (or
    ``output_shape``). With the same tensor as query and value it is self-attention.

    Args:
        num_heads: the number of heads.
        key_dim: the size of each head for query and key.
        value_dim: the size of each head for value (default ``None``: ``key_dim``).
        dropout: dropout rate on the attention probabilities (default 0.0).
        use_bias: projections have biases (default ``True``).
        output_shape: the output's last axes (default ``None``: the query's last size).
        attention_axes: the axes attention runs over (default ``None``: every axis but batch, heads and
            features).
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
        use_gate: multiply the attention output by a sigmoid gate projected from the query (default ``False``).
        seed: seed of the dropout (default ``None``).

    Call arguments:
        query: ``(B, T, dim)``.
        value: ``(B, S, vdim)``.
        key: ``(B, S, kdim)`` (default ``None``: ``value``).
        query_mask: ``(B, T)`` (filled from ``Embedding(mask_zero=True)`` in a model); also ``value_mask`` and
            ``key_mask`` ``(B, S)``.
        attention_mask: ``(B, T, S)``, ``True`` where a query step may attend to a key step (default ``None``).
        return_attention_scores: also return the attention probabilities (default ``False``).
        training: apply dropout (default ``None``: the layer's mode).
        use_causal_mask: query step ``i`` attends only to key steps ``j <= i`` (default ``False``).

    Input shape:
        ``query`` ``(batch, T, dim)``, ``value`` ``(batch, S, vdim)``, ``key`` ``(batch, S, kdim)``; or more
        axes between batch and features (``(batch, ..., dim)``), attended over per ``attention_axes``.

    Output shape:
        ``(batch, T, dim)`` (the query's shape), or ``(batch, T, *output_shape)``; the scores are
        ``(batch, num_heads, T, S)`` (for more axes: ``(batch, [other axes], num_heads, query axes..., key
        axes...)``).

    Returns:
        The attention output, or ``(output, scores)`` with ``return_attention_scores=True``.

    Raises:
        ConfigError: a ``num_heads`` / ``key_dim`` / ``value_dim`` / ``sliding_window`` that is not a positive
            int, a ``dropout`` outside ``[0, 1]`` or with ``flash_attention=True``, or bad ``attention_axes``.
        ShapeError: inputs of rank below 3, key and value that differ on an axis but the last, batch sizes that
            differ, or a query rank other than the built one.
        InputError: a call without ``value``, or a mask whose shape does not fit its input.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.MultiHeadAttention(num_heads=2, key_dim=3)
        >>> out, scores = layer(torch.ones(1, 4, 6), torch.ones(1, 5, 6), return_attention_scores=True)
        >>> tuple(out.shape), tuple(scores.shape)
        ((1, 4, 6), (1, 2, 4, 5))
        >>> [tuple(w.shape) for w in layer.query_dense.weights]
        [(6, 2, 3), (2, 3)]
    """

    supports_masking = True
    _shares_dtype_policy = True  # its projections take its policy; quantized ones are saved in a map

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: Any = None, attention_axes: Any = None,
                 sliding_window: int | None = None, flash_attention: bool | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, use_gate: bool = False,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        owner = f"MultiHeadAttention '{self.name}'"
        positive_int(owner, "num_heads", num_heads)
        positive_int(owner, "key_dim", key_dim)
        positive_int(owner, "value_dim", value_dim, allow_none=True)
        positive_int(owner, "sliding_window", sliding_window, allow_none=True)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ConfigError(f"MultiHeadAttention '{self.name}': dropout must be in [0, 1], got {dropout!r}.")
        if flash_attention and dropout > 0:
            raise ConfigError(f"MultiHeadAttention '{self.name}': dropout is not supported with "
                              f"flash_attention=True; set dropout=0.0 (got {dropout!r}).")
        if isinstance(attention_axes, int):
            attention_axes = (attention_axes,)
        elif attention_axes is not None and not isinstance(attention_axes, (list, tuple)):
            raise ConfigError(f"MultiHeadAttention '{self.name}': attention_axes must be an int, list or tuple, "
                              f"got {attention_axes!r}.")
        self.num_heads, self.key_dim, self.value_dim = num_heads, key_dim, value_dim or key_dim
        self.dropout, self.use_bias, self.use_gate = float(dropout), bool(use_bias), bool(use_gate)
        self._output_shape = (output_shape,) if isinstance(output_shape, int) else \
            tuple(output_shape) if output_shape else None
        self.attention_axes = None if attention_axes is None else tuple(attention_axes)
        self.sliding_window, self.flash_attention, self.seed = sliding_window, flash_attention, seed
        parse_args(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint)

    # ------------------------------------------------------------------------------------------ build
    def _projection(self, shape: Sequence, heads: int, size: int, name: str, activation: Any = None):
        equation, bias_axes, rank = projection_equation(len(shape) - 1, 1, 2)
        dense = einsum_projection(self, equation, [None] * (rank - 3) + [heads, size], bias_axes, name, activation)
        dense._maybe_build(tuple(shape))
        return dense

    def build(self, query_shape: Sequence, value_shape: Sequence | None = None,
              key_shape: Sequence | None = None) -> None:
        """Create the projections for inputs of these shapes (``key_shape`` defaults to ``value_shape``)."""
        query_shape, value_shape = tuple(query_shape), tuple(query_shape if value_shape is None else value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        self._check_shapes(query_shape, value_shape, key_shape)
        self._query_rank = len(query_shape)
        self.query_dense = self._projection(query_shape, self.num_heads, self.key_dim, "query")
        self.key_dense = self._projection(key_shape, self.num_heads, self.key_dim, "key")
        if self.use_gate:
            self._gate_dense = self._projection(query_shape, self.num_heads, self.value_dim, "gate", "sigmoid")
        self.value_dense = self._projection(value_shape, self.num_heads, self.value_dim, "value")
        rank = len(query_shape) + 1
        axes = tuple(range(1, rank - 2)) if self.attention_axes is None else \
            tuple(a if a >= 0 else rank - 1 + a for a in self.attention_axes)
        if any(not 0 < a < rank - 2 for a in axes):
            raise ConfigError(f"MultiHeadAttention '{self.name}': attention_axes {self.attention_axes} must be "
                              f"axes of the query between batch and features, for query shape {query_shape}.")
        self.attention_axes = axes
        self._scores_equation, self._combine_equation, scores_rank = attention_equations(rank, axes)
        self._softmax_axes = tuple(range(scores_rank - len(axes), scores_rank))
        self._dropout_layer = Dropout(self.dropout, seed=self.seed, dtype=self.dtype)
        out_shape = self._output_shape or (query_shape[-1],)
        equation, bias_axes, out_rank = projection_equation(len(query_shape) - 1, 2, len(out_shape))
        self.output_dense = einsum_projection(self, equation, [None] * (out_rank - 1 - len(out_shape)) + list(out_shape),
                                        bias_axes, "attention_output")
        self.output_dense._maybe_build(query_shape[:-1] + (self.num_heads, self.value_dim))

    def _check_shapes(self, query_shape: tuple, value_shape: tuple, key_shape: tuple) -> None:
        if len(query_shape) < 3 or len(value_shape) < 3:
            raise ShapeError(f"MultiHeadAttention '{self.name}': query and value need rank >= 3 "
                             f"(batch, ..., features), got query {query_shape} and value {value_shape}.")
        if value_shape[1:-1] != key_shape[1:-1]:
            raise ShapeError(f"MultiHeadAttention '{self.name}': value and key must agree on every axis but the "
                             f"last, got value {value_shape} and key {key_shape}.")

    def __call__(self, *args, **kwargs):
        args, kwargs = _tensors_as_positional(args, kwargs)
        if not self.built and args:
            shapes = [_shape(a) for a in (list(args[:3]) + [None] * 3)[:3]]
            value = shapes[1] if shapes[1] is not None else _shape(kwargs.get("value"))
            key = shapes[2] if shapes[2] is not None else _shape(kwargs.get("key"))
            if value is None:
                raise InputError(f"MultiHeadAttention '{self.name}' needs a value: layer(query, value).")
            with name_scope(self.name, self):
                self.build(shapes[0], value, key)
        return super().__call__(*args, **kwargs)

    # -------------------------------------------------------------------------------------------- call
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None, attention_mask=None,
             return_attention_scores: bool = False, training=None, use_causal_mask: bool = False):
        value = self._like(value, query)
        key = value if key is None else self._like(key, query)
        self._check_call(query, value, key)
        causal_only = (use_causal_mask and query_mask is None and value_mask is None and key_mask is None
                       and attention_mask is None and self.sliding_window is None)
        mask = None if causal_only else merge_attention_mask(
            self.name, query, value, query_mask=query_mask, value_mask=value_mask, key_mask=key_mask,
            attention_mask=attention_mask, use_causal_mask=use_causal_mask, sliding_window=self.sliding_window)
        gate = self._gate_dense(query) if self.use_gate else None
        q, k, v = self.query_dense(query), self.key_dense(key), self.value_dense(value)
        out, scores = self._attend(q, k, v, mask, bool(return_attention_scores), causal_only)
        out = self.output_dense(out if gate is None else out * gate)
        return (out, scores) if return_attention_scores else out

    def _like(self, x: Any, query: torch.Tensor) -> torch.Tensor:
        x = backend.to_tensor(x, device=query.device)
        return x.to(query.dtype) if x.dtype != query.dtype else x

    def _check_call(self, query: torch.Tensor, value: torch.Tensor, key: torch.Tensor) -> None:
        if query.dim() != self._query_rank:
            raise ShapeError(f"MultiHeadAttention '{self.name}' was built for queries of rank {self._query_rank}, "
                             f"got query of shape {tuple(query.shape)}.")
        self._check_shapes(tuple(query.shape), tuple(value.shape), tuple(key.shape))
        if query.shape[0] != value.shape[0]:
            raise ShapeError(f"MultiHeadAttention '{self.name}': query and value batch sizes differ: "
                             f"{tuple(query.shape)} vs {tuple(value.shape)}.")

    def _attend(self, q, k, v, mask, want_scores: bool, causal_only: bool):
        """``(output, scores)`` of the projected tensors; torch's fused kernel when Keras uses its own."""
        scale = 1.0 / math.sqrt(float(self.key_dim))
        if not (self.dropout > 0 or want_scores or q.dim() != 4):
            bias = None
            if mask is not None:
                while mask.dim() < 4:
                    mask = mask.unsqueeze(-3)
                bias = torch.zeros(mask.shape, dtype=q.dtype, device=q.device).masked_fill(
                    ~mask, large_negative(q.dtype))
            out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                 attn_mask=bias, is_causal=causal_only, scale=scale)
            return out.transpose(1, 2), None
        if causal_only:
            mask = merge_attention_mask(self.name, q, v, use_causal_mask=True)
        scores = torch.einsum(self._scores_equation, k, q * scale)
        if mask is not None:
            while mask.dim() < scores.dim():
                mask = mask.unsqueeze(-2 * len(self.attention_axes) - 1)
        scores = masked_softmax(scores, mask, self._softmax_axes)
        dropped = self._dropout_layer(scores) if self.dropout > 0 else scores
        return torch.einsum(self._combine_equation, dropped, v), scores

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                "use_gate": self.use_gate,
                "output_shape": None if self._output_shape is None else list(self._output_shape),
                "attention_axes": None if self.attention_axes is None else list(self.attention_axes),
                "sliding_window": self.sliding_window,
                **serialize_args(self, *DENSE_WEIGHT_ARGS), "seed": self.seed}


def _shape(x: Any) -> tuple | None:
    if x is None:
        return None
    shape = getattr(x, "shape", None)
    return tuple(shape) if shape is not None else tuple(torch.as_tensor(x).shape)


def _tensors_as_positional(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    """``query``, ``value`` and ``key`` given by keyword (``layer(query=q, value=v, key=k)``, as Keras programs
    often call it) moved into the positional arguments, in that order, so building and graphs see them."""
    args, kwargs = list(args), dict(kwargs)
    for name in ("query", "value", "key")[len(args):]:
        if name not in kwargs:
            break
        args.append(kwargs.pop(name))
    return tuple(args), kwargs
