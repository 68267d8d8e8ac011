"""What every optimizer can add to its update, as Keras 3's base optimizer: gradient accumulation and an
exponential moving average (EMA) of the weights.

- ``gradient_accumulation_steps=n``: the first ``n - 1`` calls only add the (unscaled) gradients to a
  per-weight accumulator; the ``n``-th applies ``(g + accumulated) / n`` (clipped, with weight decay) and
  resets the accumulators. ``optimizer.iterations`` counts applied updates (calls ``// n``), so bias
  corrections advance once per update; as in Keras, a learning-rate schedule is still evaluated at the call
  count.
- ``use_ema=True``: after every call, ``average = m * average + (1 - m) * w`` for every weight, with
  ``m = ema_momentum`` (0 before the first update, so the average starts at the weights). With
  ``ema_overwrite_frequency=k`` the weights are replaced by their averages whenever ``(iterations + 1) % k
  == 0``; at the end of ``fit`` they are always (:meth:`Optimizer.finalize_variable_values`).

Both states live in the optimizer's per-parameter state (``'gradient_accumulator'``, ``'average'``), so they
are saved and restored with it.

Example:
    >>> import torch
    >>> from loom.optimizers import SGD
    >>> w = torch.nn.Parameter(torch.zeros(1))
    >>> opt = SGD(learning_rate=1.0, gradient_accumulation_steps=2, use_ema=True, ema_momentum=0.5)
    >>> for g in (1.0, 3.0):
    ...     _ = opt.apply_gradients([(torch.tensor([g]), w)])
    >>> w.item(), int(opt.iterations)  # one update with the mean gradient 2
    (-2.0, 1)
    >>> opt.state[w]["average"].item()  # iterations was still 0 on both calls: the average is the weight
    -2.0
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError

AVERAGE = "average"
ACCUMULATOR = "gradient_accumulator"


def check_arguments(name: str, use_ema: bool, ema_momentum: float, ema_overwrite_frequency: Any,
                    gradient_accumulation_steps: Any) -> None:
    """Raise a :class:`ConfigError` for values Keras rejects (and for accumulation steps that are not ints)."""
    steps = gradient_accumulation_steps
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 2):
        raise ConfigError(f"{name}: `gradient_accumulation_steps` must be an integer >= 2 (or None for no "
                          f"accumulation). Received: gradient_accumulation_steps={steps!r}")
    if not use_ema:
        return
    if isinstance(ema_momentum, bool) or not isinstance(ema_momentum, (int, float)) or not 0 <= ema_momentum <= 1:
        raise ConfigError(f"{name}: `ema_momentum` must be in the range [0, 1]. Received: ema_momentum="
                          f"{ema_momentum!r}")
    frequency = ema_overwrite_frequency
    if frequency is not None and (isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 1):
        raise ConfigError(f"{name}: `ema_overwrite_frequency` must be an integer >= 1 or None. Received: "
                          f"ema_overwrite_frequency={frequency!r}")


def accumulate_or_average(grads: list, accumulators: list, steps: int, update_now: bool) -> list | None:
    """Add ``grads`` to ``accumulators`` and return None, or (``update_now``) return the mean gradients of the
    window and zero the accumulators."""
    if not update_now:
        torch._foreach_add_(accumulators, grads)
        return None
    return mean_and_reset(grads, accumulators, steps)


def mean_and_reset(grads: list, accumulators: list, steps: int) -> list:
    """``(grads + accumulators) / steps``, zeroing ``accumulators`` (in place)."""
    means = torch._foreach_add(grads, accumulators)
    torch._foreach_div_(means, float(steps))
    torch._foreach_mul_(accumulators, 0.0)
    return means


def update_averages(averages: list, params: list, momentum: Any, one_minus_momentum: Any) -> None:
    """``averages = momentum * averages + (1 - momentum) * params`` in place (floats or 0-d tensors)."""
    torch._foreach_mul_(averages, momentum)
    torch._foreach_add_(averages, torch._foreach_mul(params, one_minus_momentum))


def overwrite_with_averages(params: list, averages: list, flag: Any = True) -> None:
    """``params = averages`` (where the 0-d tensor ``flag`` is nonzero, inside a compiled step)."""
    if isinstance(flag, torch.Tensor):
        for param, average in zip(params, averages):
            param.copy_(torch.where(flag > 0, average, param))
    elif flag:
        torch._foreach_copy_(params, averages)
