"""Search results: one :class:`TrialResult` per trial, ranked best first, as rows or a printed table.

Example:
    >>> a = TrialResult(0, "COMPLETE", 0.91, {"units": 64}, best_epoch=3)
    >>> b = TrialResult(1, "COMPLETE", 0.95, {"units": 128}, best_epoch=5)
    >>> c = TrialResult(2, "PRUNED", 0.40, {"units": 8}, pruned_at=1)
    >>> [t.number for t in rank([a, b, c], "max")]
    [1, 0, 2]
    >>> print(format_table(rank([a, b, c], "max"), "val_acc"))
    trial  state     val_acc  best_epoch  epochs  seconds  units
        1  COMPLETE  0.9500   5                            128
        0  COMPLETE  0.9100   3                            64
        2  PRUNED    0.4000                                8
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

#: Order of states in rankings: finished trials first.
_STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "RUNNING": 2, "WAITING": 3, "FAIL": 4}


@dataclass(frozen=True)
class TrialResult:
    """One trial of a search.

    Attributes:
        number: the trial's number in its study (0, 1, ...).
        state: ``'COMPLETE'``, ``'PRUNED'``, ``'FAIL'``, ``'RUNNING'`` or ``'WAITING'``.
        value: the objective (best epoch; mean over folds with ``cv``); for a pruned trial, its last report.
        params: the sampled hyperparameters ``{name: value}``.
        best_epoch: 1-based epoch of the best value (train this many epochs), ``None`` if unknown.
        epochs_run: epochs trained. pruned_at: 0-based epoch where it was pruned, or ``None``.
        seconds: wall-clock duration. metrics: every logged metric at the best epoch.
        weights_path: the saved best weights, or ``None``. worker: ``host:pid`` of the process that ran it.
        fold_values: the objective per fold with ``cv``. fail_reason: why a failed trial failed.

    Example:
        >>> TrialResult(3, "COMPLETE", 0.93, {"units": 64}, best_epoch=7).as_row("val_acc")["val_acc"]
        0.93
    """

    number: int
    state: str
    value: float | None
    params: dict
    best_epoch: int | None = None
    epochs_run: int | None = None
    pruned_at: int | None = None
    seconds: float | None = None
    metrics: dict = field(default_factory=dict)
    weights_path: str | None = None
    worker: str | None = None
    fold_values: list = field(default_factory=list)
    fail_reason: str | None = None

    @classmethod
    def from_optuna(cls, trial: Any, directory: str) -> "TrialResult":
        """From an ``optuna.trial.FrozenTrial`` (weights paths are relative to ``directory``)."""
        attrs = trial.user_attrs
        weights = attrs.get("weights")
        seconds = trial.duration.total_seconds() if trial.duration is not None else None
        return cls(trial.number, trial.state.name, trial.value, dict(trial.params), attrs.get("best_epoch"),
                   attrs.get("epochs_run"), attrs.get("pruned_at"), seconds, dict(attrs.get("metrics", {})),
                   os.path.join(directory, weights) if weights else None, attrs.get("worker"),
                   list(attrs.get("fold_values", [])), attrs.get("fail_reason"))

    def as_row(self, objective: str) -> dict:
        """A flat dict: trial, state, objective, best_epoch, epochs, seconds, then the parameters."""
        return {"trial": self.number, "state": self.state, objective: self.value, "best_epoch": self.best_epoch,
                "epochs": self.epochs_run, "seconds": None if self.seconds is None else round(self.seconds, 2),
                **self.params}


def rank(results: list[TrialResult], mode: str) -> list[TrialResult]:
    """Completed trials best first (``mode`` ``'min'`` or ``'max'``), then pruned ones, then the rest."""
    sign = 1.0 if mode == "min" else -1.0

    def key(t: TrialResult):
        bad = t.value is None or not math.isfinite(t.value)
        return _STATE_ORDER.get(t.state, 9), bad, 0.0 if bad else sign * t.value, t.number
    return sorted(results, key=key)


def format_table(results: list[TrialResult], objective: str, top: int | None = None) -> str:
    """A plain-text table of ``results`` (the first ``top`` of them; default all)."""
    rows = [t.as_row(objective) for t in results[:top]]
    columns: list[str] = ["trial", "state", objective, "best_epoch", "epochs", "seconds"]
    for row in rows:
        columns += [k for k in row if k not in columns]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    for r in cells:
        lines.append("  ".join(v.rjust(w) if i == 0 else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths)))
                     .rstrip())
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}" if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5) else f"{value:.4f}"
    return str(value)
