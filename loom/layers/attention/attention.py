"""``Attention``: Luong-style dot-product (or concat) attention on ``[query, value]`` or ``[query, value, key]``.

Scores are ``query @ key^T`` (times a learned ``scale`` with ``use_scale``), or with ``score_mode='concat'``
``concat_score_weight * sum(tanh(scale * (query + key)))``; the output is ``softmax(scores) @ value``.
Masks of the inputs (e.g. from ``Embedding(mask_zero=True)``) are honoured: value padding is never attended
to and padded query steps output zeros.

Example:
    >>> import loom
    >>> q, v = loom.Input((4, 8)), loom.Input((6, 8))
    >>> loom.layers.Attention()([q, v]).shape
    (None, 4, 8)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend, random
from loom.errors import ConfigError, InputError, ShapeError
from loom.layers.attention.masks import causal_mask
from loom.layers.layer import Layer


class Attention(Layer):
    """Dot-product attention layer, a.k.a. Luong-style attention.

    Scores are ``query @ key^T`` (times a learned scalar ``scale`` with ``use_scale``), or with
    ``score_mode='concat'`` ``concat_score_weight * sum(tanh(scale * (query + key)), -1)``; the output is
    ``softmax(scores) @ value``. Input masks (e.g. from ``Embedding(mask_zero=True)``) are honoured: masked value
    steps get no weight and masked query steps output zeros.

    Args:
        use_scale: learn a scalar ``scale`` multiplying the scores (default ``False``).
        score_mode: ``'dot'`` (default) or ``'concat'``.
        dropout: dropout rate on the attention weights during training (default 0.0).
        seed: seed of the dropout (default ``None``).

    Call arguments:
        inputs: ``[query, value]`` or ``[query, value, key]`` (``key`` defaults to ``value``).
        mask: ``[query_mask (B, Tq), value_mask (B, Tv)]``, ``True`` where a step is valid (default ``None``).
        training: apply dropout (default ``None``: the layer's mode).
        return_attention_scores: also return the attention weights (default ``False``).
        use_causal_mask: query step ``i`` attends only to value steps ``j <= i`` (default ``False``).

    Input shape:
        ``query`` ``(batch, Tq, dim)``, ``value`` ``(batch, Tv, vdim)`` and ``key`` ``(batch, Tv, dim)``.

    Output shape:
        ``(batch, Tq, vdim)``; with ``return_attention_scores=True``, also the weights ``(batch, Tq, Tv)``.

    Returns:
        The attention output, or ``(output, weights)`` with ``return_attention_scores=True``; the weights are
        the softmax of the scores (before dropout).

    Raises:
        ConfigError: an unknown ``score_mode``, or a ``dropout`` outside ``[0, 1]``.
        InputError: inputs (or a mask) that are not a list of 2 or 3 tensors.
        ShapeError: query, value and key shapes that do not fit together.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.Attention()
        >>> out, weights = layer([torch.ones(1, 2, 3), torch.ones(1, 4, 3)], return_attention_scores=True)
        >>> tuple(out.shape), weights[0, 0].tolist()
        ((1, 2, 3), [0.25, 0.25, 0.25, 0.25])
        >>> mask = [torch.tensor([[True, True]]), torch.tensor([[True, True, False, False]])]
        >>> layer([torch.ones(1, 2, 3), torch.ones(1, 4, 3)], mask=mask, return_attention_scores=True)[1][0, 0].tolist()
        [0.5, 0.5, 0.0, 0.0]
    """

    supports_masking = True
    _score_modes = ("dot", "concat")

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in self._score_modes:
            raise ConfigError(f"{type(self).__name__} '{self.name}': score_mode must be one of {self._score_modes}, "
                              f"got {score_mode!r}.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ConfigError(f"{type(self).__name__} '{self.name}': dropout must be in [0, 1], got {dropout!r}.")
        self.use_scale, self.score_mode, self.dropout, self.seed = bool(use_scale), score_mode, dropout, seed
        self._seed_generator = random.SeedGenerator(seed) if dropout > 0 else None

    def _check_inputs(self, inputs: Any, mask: Any = None) -> None:
        kind = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or not 2 <= len(inputs) <= 3:
            count = f" of {len(inputs)}" if isinstance(inputs, (list, tuple)) else ""
            raise InputError(f"{kind} '{self.name}' must be called on a list [query, value] or [query, value, key], "
                             f"got a {type(inputs).__name__}{count}.")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise InputError(f"{kind} '{self.name}': mask must be a list [query_mask, value_mask], got {mask!r}.")

    def build(self, input_shape):
        self._check_inputs(input_shape)
        if self.use_scale:
            self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.add_weight("concat_score_weight", (), "ones")

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-2, -1))
            return scores * self.scale if self.use_scale else scores
        summed = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.use_scale:
            summed = self.scale * summed
        return self.concat_score_weight * torch.tanh(summed).sum(-1)

    def call(self, inputs, mask=None, training=None, return_attention_scores: bool = False,
             use_causal_mask: bool = False):
        self._check_inputs(inputs, mask)
        query = inputs[0]
        value = backend.to_tensor(inputs[1], device=query.device).to(query.dtype)
        key = value if len(inputs) < 3 else backend.to_tensor(inputs[2], device=query.device).to(query.dtype)
        if query.dim() < 3 or value.dim() != query.dim() or key.shape[:-1] != value.shape[:-1] \
                or query.shape[-1] != key.shape[-1]:
            raise ShapeError(f"{type(self).__name__} '{self.name}': query (B, Tq, dim), value (B, Tv, vdim) and key "
                             f"(B, Tv, dim) do not fit: query {tuple(query.shape)}, value {tuple(value.shape)}, "
                             f"key {tuple(key.shape)}.")
        q_mask, v_mask = (mask[0], mask[1]) if mask else (None, None)
        scores = self._scores(query, key)
        keep = None if v_mask is None else torch.as_tensor(v_mask, device=query.device).bool().unsqueeze(-2)
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1], scores.device)
            keep = causal if keep is None else keep & causal
        if keep is not None:
            big = 65504.0 if scores.dtype == torch.float16 else 1.0e9
            scores = torch.where(keep, scores, scores - big)
        weights = torch.softmax(scores, dim=-1)
        dropped = weights
        if self.dropout > 0 and self.training:
            dropped = random.dropout(weights, self.dropout, seed=self._seed_generator)
        out = torch.matmul(dropped, value)
        if q_mask is not None:
            out = torch.where(torch.as_tensor(q_mask, device=out.device).bool().unsqueeze(-1), out, 0.0)
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if mask is None or mask[0] is None:
            return None
        return mask[0]

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}
