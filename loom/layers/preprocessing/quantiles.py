"""Mergeable approximate quantile summaries: how ``Discretization.adapt`` finds bin boundaries batch by batch.

A summary is a ``(2, n)`` float32 tensor: sorted values and the weight (sample count) each stands for. A batch
is summarized by taking every ``len / (1 / epsilon)``-th sorted value; summaries are merged by sorting their
union and compressed by interpolating the cumulative weights at ``1 / epsilon`` even steps. The boundaries
of ``num_bins`` bins are the compression at ``1 / num_bins`` minus its last value (Keras's algorithm).

Example:
    >>> import torch
    >>> from loom.layers.preprocessing.quantiles import bin_boundaries, merge, summarize
    >>> s = merge(summarize(torch.arange(100.0), 0.01), empty())
    >>> bin_boundaries(s, 4).tolist()
    [24.0, 49.0, 74.0]
"""

from __future__ import annotations

import torch


def empty() -> torch.Tensor:
    """The summary of no data."""
    return torch.zeros((2, 0), dtype=torch.float32)


def summarize(values: torch.Tensor, epsilon: float) -> torch.Tensor:
    """The summary of one batch of values (any shape), with about ``1 / epsilon`` entries."""
    values = torch.sort(values.reshape(-1).to(torch.float32)).values
    step = max(values.numel() / (1.0 / epsilon), 1)
    start = int(step - 1)
    picked = values[start::int(step)]
    return torch.stack([picked, torch.full_like(picked, step)])


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear interpolation of ``(xp, fp)`` at ``x`` (NumPy's ``interp``, clamped at both ends)."""
    idx = torch.searchsorted(xp, x, right=True).clamp(1, xp.numel() - 1)
    x0, x1, f0, f1 = xp[idx - 1], xp[idx], fp[idx - 1], fp[idx]
    span = x1 - x0
    slope = torch.where(span > 0, (f1 - f0) / torch.where(span > 0, span, torch.ones_like(span)),
                        torch.zeros_like(span))
    out = f0 + slope * (x - x0)
    out = torch.where(x <= xp[0], fp[0], out)
    return torch.where(x >= xp[-1], fp[-1], out)


def compress(summary: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``summary`` reduced to about ``1 / epsilon`` entries (unchanged when already that small)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + torch.arange(0.0, 1.0, epsilon, dtype=torch.float64)
    cum_weights = torch.cumsum(summary[1], 0)
    cum_percents = (cum_weights / cum_weights[-1]).to(torch.float64)
    new_bins = _interp(percents, cum_percents, summary[0].to(torch.float64))
    new_cum = _interp(percents, cum_percents, cum_weights.to(torch.float64))
    new_weights = new_cum - torch.cat([new_cum.new_zeros(1), new_cum[:-1]])
    return torch.stack([new_bins, new_weights]).to(torch.float32)


def merge(first: torch.Tensor, second: torch.Tensor, epsilon: float = 0.01) -> torch.Tensor:
    """One compressed summary of the data of two summaries."""
    merged = torch.cat([first, second], dim=1)
    merged = merged[:, torch.argsort(merged[0], stable=True)]
    return compress(merged, epsilon)


def bin_boundaries(summary: torch.Tensor, num_bins: int) -> torch.Tensor:
    """The ``num_bins - 1`` inner boundaries that split the summarized data into equal-count bins."""
    return compress(summary, 1.0 / num_bins)[0, :-1]
