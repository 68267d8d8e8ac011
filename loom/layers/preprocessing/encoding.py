"""Integer ids to one-hot / multi-hot / count vectors: the encoder shared by the lookup and hashing layers.

Keras's rules: a scalar is one sample; ``one_hot`` encodes every element (a trailing dimension of 1 is
squeezed first); ``multi_hot`` and ``count`` reduce the sample axis (axis 1 of a 2D+ input, axis 0 of a 1D
one). Ids outside ``[0, depth)`` contribute nothing (callers that must reject them check first).

Example:
    >>> import torch
    >>> from loom.layers.preprocessing.encoding import encode_ids
    >>> encode_ids(torch.tensor([[0, 2, 2]]), "count", depth=3).tolist()
    [[1.0, 0.0, 2.0]]
"""

from __future__ import annotations

import torch

OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")


def _one_hot(ids: torch.Tensor, depth: int, dtype: torch.dtype) -> torch.Tensor:
    valid = (ids >= 0) & (ids < depth)
    safe = torch.where(valid, ids, torch.zeros_like(ids)).long()
    out = torch.nn.functional.one_hot(safe, depth).to(dtype)
    return out * valid.unsqueeze(-1).to(dtype)


def encode_ids(ids: torch.Tensor, output_mode: str, depth: int, dtype: torch.dtype = torch.float32,
               count_weights: torch.Tensor | None = None) -> torch.Tensor:
    """Encode integer ``ids`` as ``output_mode`` (``'one_hot'``, ``'multi_hot'`` or ``'count'``) of width ``depth``."""
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if output_mode == "one_hot":
        if ids.ndim > 1 and ids.shape[-1] == 1:
            ids = ids.squeeze(-1)
        return _one_hot(ids, depth, dtype)
    axis = 1 if ids.ndim > 1 else 0
    if count_weights is not None:
        dtype = count_weights.dtype
    hot = _one_hot(ids, depth, dtype)
    if output_mode == "multi_hot":
        return hot.amax(dim=axis)
    if count_weights is not None:
        hot = hot * count_weights.unsqueeze(-1)
    return hot.sum(dim=axis)
