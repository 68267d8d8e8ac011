"""``keras.ops.rearrange``: einops-style reshaping and transposing by a pattern (re-exported by
:mod:`loom.ops.core`).

Example:
    >>> import torch
    >>> from loom.ops.core import rearrange
    >>> rearrange(torch.zeros(2, 3, 4), "b h w -> b (h w)").shape
    torch.Size([2, 12])
"""

from __future__ import annotations

import math
import re
from typing import Any

import torch

from loom.errors import ConfigError, ShapeError
from loom.ops._common import tensor as to_tensor

_TOKEN = re.compile(r"\(|\)|[A-Za-z_][A-Za-z0-9_]*")


def _groups(side: str, pattern: str) -> list[list[str]]:
    groups: list[list[str]] = []
    current: list[str] | None = None
    rest = re.sub(r"\s|\(|\)|[A-Za-z_][A-Za-z0-9_]*", "", side)
    if rest:
        raise ConfigError(f"ops.rearrange: unsupported characters {rest!r} in pattern {pattern!r} (names, spaces "
                          f"and parentheses only).")
    for token in _TOKEN.findall(side):
        if token == "(":
            if current is not None:
                raise ConfigError(f"ops.rearrange: nested parentheses in pattern {pattern!r}.")
            current = []
        elif token == ")":
            if current is None:
                raise ConfigError(f"ops.rearrange: unbalanced parentheses in pattern {pattern!r}.")
            groups.append(current)
            current = None
        elif current is not None:
            current.append(token)
        else:
            groups.append([token])
    if current is not None:
        raise ConfigError(f"ops.rearrange: unbalanced parentheses in pattern {pattern!r}.")
    return groups


def _axis_sizes(x: torch.Tensor, inputs: list[list[str]], lengths: dict[str, int], pattern: str) -> dict[str, int]:
    if len(inputs) != x.ndim:
        raise ShapeError(f"ops.rearrange: the pattern {pattern!r} names {len(inputs)} input axes but the tensor has "
                         f"shape {tuple(x.shape)}.")
    sizes = dict(lengths)
    for group, dim in zip(inputs, x.shape):
        unknown = [a for a in group if a not in sizes]
        known = math.prod([sizes[a] for a in group if a in sizes])
        if len(unknown) > 1:
            raise ConfigError(f"ops.rearrange: cannot infer the sizes of {unknown} in {pattern!r}; pass them as "
                              f"keyword arguments.")
        if unknown:
            if dim % known:
                raise ShapeError(f"ops.rearrange: axis of size {dim} cannot split into group {group} in {pattern!r}.")
            sizes[unknown[0]] = dim // known
        elif known != dim:
            raise ShapeError(f"ops.rearrange: group {group} has size {known} but the axis has size {dim}.")
    return sizes


def rearrange(tensor: Any, pattern: str, **axes_lengths: int) -> torch.Tensor:
    """Reorder, split and merge axes by an einops pattern such as ``'b (h w) c -> b h w c'``."""
    x = to_tensor(tensor, op="rearrange")
    if pattern.count("->") != 1:
        raise ConfigError(f"ops.rearrange: the pattern must have one '->', got {pattern!r}.")
    left, right = (_groups(side, pattern) for side in pattern.split("->"))
    names_in = [a for g in left for a in g]
    names_out = [a for g in right for a in g]
    if sorted(names_in) != sorted(names_out) or len(set(names_in)) != len(names_in):
        raise ConfigError(f"ops.rearrange: both sides of {pattern!r} must name the same axes, each once.")
    sizes = _axis_sizes(x, left, axes_lengths, pattern)
    x = x.reshape([sizes[a] for a in names_in]).permute([names_in.index(a) for a in names_out])
    return x.reshape([math.prod([sizes[a] for a in g]) for g in right])
