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
            raise ShapeError(f"ops.nn.dot_product_attention: `{name}` must have rank 4 (batch, length, heads, "
                             f"dim), got "
                             f"shape {tuple(t.shape)}.")
    if (k.shape[:-1] != v.shape[:-1] or q.shape[-1] != k.shape[-1] or q.shape[0] != k.shape[0]
            or q.shape[2] % k.shape[2]):
        raise ShapeError(f"ops.nn.dot_product_attention: incompatible shapes query={tuple(q.shape)}, key="
                         f"{tuple(k.shape)}, value={tuple(v.shape)}.")
    dtype = float_result(q, k, v)
    return q.to(dtype), k.to(q.device, dtype), v.to(q.device, dtype)


def dot_product_attention(query: Any, key: Any, value: Any, bias: Any = None, mask: Any = None,
                          scale: float | None = None, is_causal: bool = False, flash_attention: bool | None = None,
                          attn_logits_soft_cap: float | None = None) -> torch.Tensor:
    """Scaled dot-product attention on Keras's ``(batch, length, heads, head_dim)`` layout.

    Args:
        query: ``(batch, q_len, heads, dim)``.
        key: ``(batch, kv_len, kv_heads, dim)``; ``heads`` a multiple of ``kv_heads`` (grouped-query attention).
        value: ``(batch, kv_len, kv_heads, value_dim)``.
        bias: added to the logits, broadcast to ``(batch, heads, q_len, kv_len)``; default None.
        mask: bool, True where attention is allowed, same broadcast; default None. Not with ``bias``.
        scale: logits multiplier; default None (``1 / sqrt(dim)``).
        is_causal: also mask future keys; default False.
        flash_attention: accepted for Keras compatibility; default None.
        attn_logits_soft_cap: cap logits smoothly with ``cap * tanh(logits / cap)``; default None.
    """
    if bias is not None and mask is not None:
        raise ConfigError("ops.nn.dot_product_attention: pass only one of `bias` and `mask`, got both.")
    q, k, v = _attention_inputs(query, key, value)
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
    if k.shape[1] != q.shape[1]:  # grouped-query attention: each key/value head serves a group of query heads
        k, v = (t.repeat_interleave(q.shape[1] // t.shape[1], dim=1) for t in (k, v))
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    lowest = torch.finfo(q.dtype).min
    causal = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool, device=q.device).tril() if is_causal else None
    additive = None
    if mask is not None:
        allowed = tensor(mask, op="dot_product_attention").bool().to(q.device)
        allowed = allowed if causal is None else allowed & causal
        additive = torch.where(allowed, 0.0, lowest).to(q.dtype)
    elif bias is not None:
        additive = tensor(bias, op="dot_product_attention").to(q.device, q.dtype)
        additive = additive if causal is None else additive.masked_fill(~causal, lowest)
    if attn_logits_soft_cap is None:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=additive, scale=scale,
                                              is_causal=is_causal and additive is None).transpose(1, 2)
    logits = torch.matmul(q, k.transpose(-1, -2)) * scale
    logits = attn_logits_soft_cap * torch.tanh(logits / attn_logits_soft_cap)
    if additive is not None:
        logits = logits + additive
    elif causal is not None:
        logits = logits.masked_fill(~causal, lowest)
    return torch.matmul(torch.softmax(logits, dim=-1), v).transpose(1, 2)


def ctc_loss(target: Any, output: Any, target_length: Any, output_length: Any, mask_index: int = 0) -> torch.Tensor:
    """Per-sample CTC loss (Graves et al., 2006).

    Args:
        target: integer labels ``(batch, max_label_len)``.
        output: logits ``(batch, time, classes)``.
        target_length: labels used per sample ``(batch,)``.
        output_length: time steps used per sample ``(batch,)``.
        mask_index: the blank class; default 0.
    """
    output = ftensor(output, "ctc_loss")
    target = tensor(target, op="ctc_loss").long().to(output.device)
    if output.ndim != 3 or target.ndim != 2 or target.shape[0] != output.shape[0]:
        raise ShapeError(f"ops.nn.ctc_loss: expected target (batch, label_len) and output (batch, time, classes) "
                         f"with the "
                         f"same batch, got target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}.")
    target_length = tensor(target_length, op="ctc_loss").long().to(target.device)
    used = torch.arange(target.shape[1], device=target.device)[None, :] < target_length.reshape(-1, 1)
    if bool((((target < 0) | (target >= output.shape[-1])) & used).any()):
        raise InputError(f"ops.nn.ctc_loss: `target` labels must be in [0, {output.shape[-1]}) (the classes of "
                         f"`output`), "
                         f"got values {sorted(set(target[used].tolist()))}.")
    log_probs = torch.log_softmax(output, dim=-1).transpose(0, 1)
    return F.ctc_loss(log_probs, target, tensor(output_length, op="ctc_loss").long(), target_length,
                      blank=mask_index, reduction="none", zero_infinity=False)


def _logadd(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    top = max(a, b)
    return top + math.log1p(math.exp(-abs(a - b)))


def _beam_search_one(log_probs: list[list[float]], blank: int, beam_width: int) -> list[tuple[tuple, float]]:
    """CTC prefix beam search over one sequence: ``[(labels, log probability)]``, best first."""
    neg = -math.inf
    beams: dict[tuple, tuple[float, float]] = {(): (0.0, neg)}  # prefix -> (ends in blank, ends in a label)
    for step in log_probs:
        grown: dict[tuple, list[float]] = {}
        for prefix, (p_blank, p_label) in beams.items():
            total = _logadd(p_blank, p_label)
            slot = grown.setdefault(prefix, [neg, neg])
            slot[0] = _logadd(slot[0], total + step[blank])
            for c, lp in enumerate(step):
                if c == blank:
                    continue
                longer = grown.setdefault(prefix + (c,), [neg, neg])
                if prefix and prefix[-1] == c:  # a repeat extends only across a blank; else it merges
                    longer[1] = _logadd(longer[1], p_blank + lp)
                    slot[1] = _logadd(slot[1], p_label + lp)
                else:
                    longer[1] = _logadd(longer[1], total + lp)
        ranked = sorted(grown.items(), key=lambda kv: _logadd(*kv[1]), reverse=True)[:beam_width]
        beams = {k: (v[0], v[1]) for k, v in ranked}
    return sorted(((k, _logadd(*v)) for k, v in beams.items()), key=lambda kv: kv[1], reverse=True)


def _beam_search(x: torch.Tensor, lengths: torch.Tensor, blank: int, beam_width: int,
                 top_paths: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch, steps, _ = x.shape
    log_probs = torch.log_softmax(x, dim=-1).detach().cpu().double()
    paths = torch.full((top_paths, batch, steps), -1, dtype=torch.int32)
    scores = torch.full((batch, top_paths), -math.inf, dtype=x.dtype)
    for b in range(batch):
        found = _beam_search_one(log_probs[b, :int(lengths[b])].tolist(), blank, beam_width)
        for k, (labels, score) in enumerate(found[:top_paths]):
            paths[k, b, :len(labels)] = torch.tensor(labels, dtype=torch.int32)
            scores[b, k] = score
    return paths.to(x.device), scores.to(x.device)


def ctc_decode(inputs: Any, sequence_lengths: Any, strategy: str = "greedy", beam_width: int = 100,
               top_paths: int = 1, merge_repeated: bool = True, mask_index: int = 0) -> tuple[torch.Tensor, ...]:
    """Decode CTC outputs into ``(decoded (top_paths, batch, time) padded with -1, scores (batch, top_paths))``.

    Args:
        inputs: logits ``(batch, time, classes)``.
        sequence_lengths: time steps used per sample ``(batch,)``.
        strategy: ``'greedy'`` (best class per step; score is minus the summed logits) or ``'beam_search'``
            (prefix beam search; scores are log probabilities); default ``'greedy'``.
        beam_width: beams kept per step (beam search); default 100.
        top_paths: paths returned (beam search); default 1.
        merge_repeated: collapse repeated labels (greedy); default True.
        mask_index: the blank class; default 0 (None: the last class).
    """
    check_choice(strategy, ("greedy", "beam_search"), "ctc_decode", "strategy")
    x = ftensor(inputs, "ctc_decode")
    if x.ndim != 3:
        raise ShapeError(f"ops.nn.ctc_decode: `inputs` must be (batch, time, classes), got shape {tuple(x.shape)}.")
    batch, steps, classes = x.shape
    blank = classes - 1 if mask_index is None else mask_index
    lengths = tensor(sequence_lengths, op="ctc_decode").long().to(x.device)
    if strategy == "beam_search":
        if beam_width < 1 or not 1 <= top_paths <= beam_width:
            raise ConfigError(f"ops.nn.ctc_decode: need beam_width >= 1 and 1 <= top_paths <= beam_width, got "
                              f"beam_width={beam_width}, top_paths={top_paths}.")
        return _beam_search(x, lengths, blank, beam_width, top_paths)
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
