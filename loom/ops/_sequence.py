"""Attention and CTC ops of ``keras.ops.nn`` (re-exported by :mod:`loom.ops.nn`).

Example:
    >>> import torch
    >>> from loom.ops import nn
    >>> q = torch.ones(2, 5, 4, 8)  # (batch, length, heads, head_dim)
    >>> nn.dot_product_attention(q, q, q).shape
    torch.Size([2, 5, 4, 8])
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from loom.errors import ConfigError, InputError, ShapeError
from loom.ops._common import check_choice, float_result, ftensor, tensor


def _attention_inputs(query: Any, key: Any, value: Any) -> tuple[torch.Tensor, ...]:
    q, k, v = (ftensor(t, "dot_product_attention") for t in (query, key, value))
    for name, t in (("query", q), ("key", k), ("value", v)):
        if t.ndim != 4:
            raise ShapeError(f"dot_product_attention: `{name}` must have rank 4 (batch, length, heads, dim), got "
                             f"shape {tuple(t.shape)}.")
    if not q.ndim == k.ndim == v.ndim or k.shape[:-1] != v.shape[:-1] or q.shape[-1] != k.shape[-1]:
        raise ShapeError(f"dot_product_attention: incompatible shapes query={tuple(q.shape)}, key="
                         f"{tuple(k.shape)}, value={tuple(v.shape)}.")
    dtype = float_result(q, k, v)
    return q.to(dtype), k.to(dtype), v.to(dtype)


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: float | None = None, is_causal: bool = False, flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> torch.Tensor:
    """Scaled dot-product attention on Keras's ``(batch, length, heads, head_dim)`` layout.

    ``mask`` (bool, True = attend) and ``bias`` (added to the logits) broadcast to ``(batch, heads, q_len,
    kv_len)``; ``scale`` defaults to ``1 / sqrt(head_dim)``.
    """
    if bias is not None and mask is not None:
        raise ConfigError("dot_product_attention: pass only one of `bias` and `mask`, got both.")
    q, k, v = _attention_inputs(query, key, value)
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    if attn_logits_soft_cap is not None:
        logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if bias is not None:
        logits = logits + tensor(bias, op="dot_product_attention").to(logits.dtype)
    allowed = None if mask is None else tensor(mask, op="dot_product_attention").bool()
    if is_causal:
        causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril()
        allowed = causal if allowed is None else allowed & causal
    if allowed is not None:
        logits = logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)
    return torch.matmul(torch.softmax(logits, dim=-1), v).transpose(1, 2)


def ctc_loss(target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0) -> torch.Tensor:
    """Per-sample CTC loss of integer ``target`` ``(batch, max_label_len)`` under logits ``output``
    ``(batch, time, classes)``; ``mask_index`` is the blank class."""
    output = ftensor(output, "ctc_loss")
    target = tensor(target, op="ctc_loss").long()
    if output.ndim != 3 or target.ndim != 2 or target.shape[0] != output.shape[0]:
        raise ShapeError(f"ctc_loss: expected target (batch, label_len) and output (batch, time, classes) with the "
                         f"same batch, got target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}.")
    target_length = tensor(target_length, op="ctc_loss").long().to(target.device)
    used = torch.arange(target.shape[1], device=target.device)[None, :] < target_length.reshape(-1, 1)
    if bool((((target < 0) | (target >= output.shape[-1])) & used).any()):
        raise InputError(f"ctc_loss: `target` labels must be in [0, {output.shape[-1]}) (the classes of `output`), "
                         f"got values {sorted(set(target[used].tolist()))}.")
    log_probs = torch.log_softmax(output, dim=-1).transpose(0, 1)
    return F.ctc_loss(log_probs, target, tensor(output_length, op="ctc_loss").long(), target_length,
                      blank=mask_index, reduction="none", zero_infinity=False)


def ctc_decode(inputs: Any, sequence_lengths: Any, strategy: str = "greedy", beam_width: int = 100,
               top_paths: int = 1, merge_repeated: bool = True, mask_index: int = 0) -> tuple[torch.Tensor, ...]:
    """Decode CTC outputs ``(batch, time, classes)``: ``(decoded (top_paths, batch, time) padded with -1,
    scores (batch, top_paths))``. Only ``strategy='greedy'`` is implemented."""
    check_choice(strategy, ("greedy", "beam_search"), "ctc_decode", "strategy")
    if strategy != "greedy":
        raise ConfigError("ctc_decode: strategy='beam_search' is not implemented in loom yet; use 'greedy'.")
    x = ftensor(inputs, "ctc_decode")
    if x.ndim != 3:
        raise ShapeError(f"ctc_decode: `inputs` must be (batch, time, classes), got shape {tuple(x.shape)}.")
    batch, steps, classes = x.shape
    blank = classes - 1 if mask_index is None else mask_index
    lengths = tensor(sequence_lengths, op="ctc_decode").long().to(x.device)
    scores, indices = x.max(dim=-1)
    beyond = torch.arange(steps, device=x.device)[None, :] >= lengths[:, None]
    indices = torch.where(beyond, blank, indices)
    scores = torch.where(beyond, 0.0, scores)
    if merge_repeated:
        repeat = F.pad(indices[:, 1:] == indices[:, :-1], (1, 0))
        indices = torch.where(repeat, blank, indices)
    invalid = indices == blank
    indices = torch.where(invalid, -1, indices)
    order = torch.where(invalid, steps, torch.arange(steps, device=x.device).expand(batch, steps))
    indices = torch.take_along_dim(indices, torch.argsort(order, dim=-1, stable=True), dim=-1)
    return indices.to(torch.int32).unsqueeze(0), -scores.sum(dim=1, keepdim=True)
