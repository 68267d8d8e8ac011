"""Attention masks and the masked softmax, shared by the attention layers.

A mask is boolean, ``True`` where a query position may attend to a key position. The layers merge the Keras
masks of their inputs (query ``(B, T)`` -> ``(B, T, 1)``, value/key ``(B, S)`` -> ``(B, 1, S)``), a causal
mask and a sliding window mask ``(1, T, S)`` and the caller's ``attention_mask`` with a logical AND, as Keras.

Example:
    >>> causal_mask(3, 3, "cpu").int().tolist()
    [[[1, 0, 0], [1, 1, 0], [1, 1, 1]]]
"""

from __future__ import annotations

import torch

from loom.errors import InputError

__all__ = ["causal_mask", "sliding_window_mask", "merge_attention_mask", "masked_softmax", "large_negative"]


def large_negative(dtype: torch.dtype) -> float:
    """The value Keras puts at masked scores: ``-3e4`` in float16, ``-1e9`` otherwise."""
    return -3e4 if dtype == torch.float16 else -1e9


def causal_mask(query_len: int, key_len: int, device) -> torch.Tensor:
    """``(1, T, S)``: position ``i`` attends to positions ``j <= i``."""
    return torch.ones(query_len, key_len, dtype=torch.bool, device=device).tril().unsqueeze(0)


def sliding_window_mask(query_len: int, key_len: int, window: int, device) -> torch.Tensor:
    """``(1, T, S)``: position ``i`` attends to positions ``j`` with ``|i - j| < window``."""
    rows = torch.arange(query_len, device=device).view(1, query_len, 1)
    cols = torch.arange(key_len, device=device).view(1, 1, key_len)
    return (rows - cols).abs() < window


def _check_mask(layer: str, what: str, mask: torch.Tensor, tensor: torch.Tensor) -> torch.Tensor:
    mask = torch.as_tensor(mask, device=tensor.device)
    if tuple(mask.shape) != tuple(tensor.shape[:-1]):
        raise InputError(f"Layer '{layer}': {what} must have shape {tuple(tensor.shape[:-1])} (the input's shape "
                         f"without its last axis), got {tuple(mask.shape)}.")
    return mask.bool() if mask.dtype == torch.bool else mask > 0.5 if mask.is_floating_point() else mask != 0


def merge_attention_mask(layer: str, query: torch.Tensor, value: torch.Tensor, *, query_mask=None, value_mask=None,
                         key_mask=None, attention_mask=None, use_causal_mask: bool = False,
                         sliding_window: int | None = None) -> torch.Tensor | None:
    """The AND of every mask given (``None`` when there is none), broadcastable to ``(B, T, S)``.

    Raises:
        InputError: a mask whose shape does not fit its input; the message names the layer and shapes.
    """
    parts = []
    if query_mask is not None:
        parts.append(_check_mask(layer, "query_mask", query_mask, query).unsqueeze(-1))
    if value_mask is not None:
        parts.append(_check_mask(layer, "value_mask", value_mask, value).unsqueeze(-2))
    if key_mask is not None:
        parts.append(_check_mask(layer, "key_mask", key_mask, value).unsqueeze(-2))
    if use_causal_mask:
        parts.append(causal_mask(query.shape[1], value.shape[1], query.device))
    if sliding_window is not None:
        parts.append(sliding_window_mask(query.shape[1], value.shape[1], sliding_window, query.device))
    if attention_mask is not None:
        attention_mask = torch.as_tensor(attention_mask, device=query.device)
        parts.insert(0, attention_mask if attention_mask.dtype == torch.bool else attention_mask != 0)
    if not parts:
        return None
    merged = parts[0]
    for part in parts[1:]:
        try:
            merged = merged & part
        except RuntimeError as e:
            raise InputError(f"Layer '{layer}': attention_mask of shape {tuple(parts[0].shape)} cannot be combined "
                             f"with the masks of query {tuple(query.shape)} and value {tuple(value.shape)}; it "
                             f"must broadcast to (batch, query_len, value_len).") from e
    return merged


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, axes: tuple[int, ...]) -> torch.Tensor:
    """Softmax of ``scores`` over ``axes``; masked scores get weight 0 (a fully masked row is all zeros)."""
    if mask is not None:
        scores = scores.masked_fill(~mask, large_negative(scores.dtype))
    if len(axes) == 1:
        out = torch.softmax(scores, dim=axes[0])
    else:
        out = torch.exp(scores - torch.logsumexp(scores, dim=axes, keepdim=True))
    return out if mask is None else out.masked_fill(~mask, 0.0)
