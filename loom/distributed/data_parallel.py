"""The train step's forward through ``DistributedDataParallel``, and synchronized batch statistics.

:func:`ddp_forward` wraps the model's flat forward in a small module and hands it to DDP, which broadcasts
rank 0's weights and buffers when it is built (so every rank starts identical), averages gradients across
ranks during ``backward`` (overlapped with it, in buckets), and re-broadcasts buffers at each forward. Only
the train step uses it; evaluation and prediction run the plain model. Each rank's loss is the mean over its
own share of the global batch and shares are equal, so the averaged gradient is the global-batch gradient.

:func:`sync_batchnorm` switches every :class:`~loom.layers.BatchNormalization` of a model to synchronized
statistics (Keras's ``synchronized=True``): in training, batch mean and variance come from the sum and sum of
squares all-reduced over the ranks (differentiably), so N processes compute what one would on the global batch.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.layers.Dense(4, input_shape=(3,)), loom.layers.BatchNormalization()])
    >>> sync_batchnorm(model)
    1
    >>> model.layers[1].synchronized
    True
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.distributed import context
from loom.training.step import FlatForward


def ddp_forward(model: torch.nn.Module, forward: Callable[[list], list]) -> Callable[[list], list]:
    """``forward`` through DDP when the run is distributed, else ``forward`` itself."""
    if not context.is_distributed():
        return forward
    from torch.nn.parallel import DistributedDataParallel
    device = next(model.parameters()).device
    device_ids = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else None
    return DistributedDataParallel(FlatForward(model, forward), device_ids=device_ids)


def sync_batchnorm(model: Any, enabled: bool = True) -> int:
    """Set ``synchronized`` on every BatchNormalization layer of ``model``; returns how many were changed.

    Args:
        model: a loom model (or any module containing loom BatchNormalization layers).
        enabled: synchronize (default ``True``) or go back to per-process statistics.
    """
    from loom.layers.normalization import BatchNormalization
    layers = [m for m in model.modules() if isinstance(m, BatchNormalization)]
    for layer in layers:
        layer.synchronized = bool(enabled)
    return len(layers)


def synchronized_moments(x: torch.Tensor, dims: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and biased variance over ``dims`` of ``x`` on all ranks together (local moments without a group)."""
    if not context.is_distributed():
        var, mean = torch.var_mean(x, dims, correction=0)
        return mean, var
    wide = x.double()
    count = torch.full((1,), float(_count(x, dims)), dtype=torch.float64, device=x.device)
    total = _AllReduceSum.apply(torch.cat([wide.sum(dims), wide.square().sum(dims), count]))
    channels = (total.numel() - 1) // 2
    mean = total[:channels] / total[-1]
    var = (total[channels:2 * channels] / total[-1] - mean.square()).clamp_min(0.0)
    return mean.to(x.dtype), var.to(x.dtype)


class _AllReduceSum(torch.autograd.Function):
    """Sum over ranks; the gradient of each rank's input is the sum of every rank's output gradient."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone()
        torch.distributed.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone()
        torch.distributed.all_reduce(grad)
        return grad


def _count(x: torch.Tensor, dims: list[int]) -> int:
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n
