"""Metric values that stay on the device: the running loss of an epoch and lazily read per-batch logs.

:class:`RunningLoss` writes each step's loss (and per-output losses) into a preallocated device buffer: one
copy kernel per step, no host synchronisation. Means (weighted by batch size, as Keras's loss tracker) are
computed only when something reads them: the progress bar a few times per second, and the epoch end. The
same read checks that the losses are finite, and names the first bad batch when they are not.

:class:`LazyLogs` is the ``logs`` mapping per-batch callbacks receive: it computes its values the first time a
callback reads one. Read it inside the hook; values are those of the step it was made for.

Example:
    >>> import torch
    >>> running = RunningLoss(names=["loss"])
    >>> running.record(torch.tensor(1.0), 2)
    >>> running.record(torch.tensor(4.0), 1)
    >>> running.means()
    {'loss': 2.0}
    >>> logs = LazyLogs(lambda: {"loss": 2.0})
    >>> dict(logs)
    {'loss': 2.0}
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any, Callable

import torch

from loom.errors import TrainingError


class RunningLoss:
    """Per-step loss values on the device, with host-side batch sizes.

    Args:
        names: the log names: ``['loss']`` plus per-output loss names when several outputs have losses.
        device: where the buffer lives (default CPU).
        capacity: initial number of steps (default 64; doubled when full).
    """

    def __init__(self, names: list[str], device: torch.device | str = "cpu", capacity: int = 64):
        self.names = list(names)
        self.width = len(self.names)
        self.buffer = torch.empty((max(1, capacity), self.width), dtype=torch.float32, device=device)
        self.sizes: list[int] = []
        self.count = 0

    def record(self, total: torch.Tensor, batch_size: int, parts: list[torch.Tensor] | None = None) -> None:
        """Store one step's total loss (and per-output losses) for a batch of ``batch_size`` samples."""
        if self.count == self.buffer.shape[0]:
            self.buffer = torch.cat([self.buffer, torch.empty_like(self.buffer)])
        row = self.buffer[self.count]
        if parts:
            row.copy_(torch.stack([total, *parts]).detach())
        else:
            row.copy_(total.detach())
        self.sizes.append(batch_size)
        self.count += 1

    def means(self, upto: int | None = None, where: Callable[[int], str] | None = None,
              check: bool = True) -> dict[str, float]:
        """Batch-size-weighted means over the first ``upto`` steps (default all), as Python floats.

        Raises:
            TrainingError: with ``check`` (default), the total loss is NaN or infinite; ``where(step)`` describes
                the first bad step.
        """
        n = self.count if upto is None else upto
        if n == 0:
            return {}
        values = self.buffer[:n]
        weights = torch.tensor(self.sizes[:n], dtype=values.dtype).to(values.device, non_blocking=True)
        sums = (values * weights[:, None]).sum(0) / float(sum(self.sizes[:n]))
        result = sums.tolist()
        if check and (result[0] != result[0] or result[0] in (float("inf"), float("-inf"))):
            bad = int((~torch.isfinite(values[:, 0])).nonzero()[0, 0])
            place = where(bad) if where else f"batch {bad}"
            raise TrainingError(f"The loss became {float(values[bad, 0])} at {place}. Lower the learning rate, "
                                f"check the data for NaN/inf values, or clip gradients (clipnorm=1.0).")
        return dict(zip(self.names, result))


class LazyLogs(MutableMapping):
    """A dict-like whose values come from ``compute()`` on first access (then cached)."""

    __slots__ = ("_compute", "_values")

    def __init__(self, compute: Callable[[], dict[str, Any]]):
        self._compute = compute
        self._values: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._values is None:
            self._values = self._compute()
        return self._values

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._get()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def copy(self) -> dict[str, Any]:
        return dict(self._get())

    def __repr__(self) -> str:
        return repr(self._get())
