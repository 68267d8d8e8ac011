"""Pruning: stop hopeless trials early. A callback reports the objective every epoch; a pruner decides.

* ``'median'``: stop a trial whose best value so far is worse than the median of the other trials at the
  same epoch (Golovin et al., 2017, Google Vizier's "median stopping rule"); from the 4th trial and the
  2nd epoch on.
* ``'hyperband'``: Hyperband (Li et al., 2018): brackets of successive halving, keeping the best third of
  the trials at epochs 1, 3, 9...
* ``'none'`` (or ``None``): every trial trains all its epochs.

Any ``optuna.pruners.BasePruner`` works too.

Example:
    >>> type(make_pruner("median", epochs=10)).__name__, type(make_pruner(None, epochs=10)).__name__
    ('MedianPruner', 'NopPruner')
"""

from __future__ import annotations

import math
from typing import Any

import optuna

from loom.callbacks import Callback
from loom.errors import ConfigError

PRUNERS = ("median", "hyperband", "none")


def make_pruner(pruner: Any, epochs: int) -> optuna.pruners.BasePruner:
    """The Optuna pruner for ``pruner`` (a name in :data:`PRUNERS`, ``None``, or an Optuna pruner).

    Args:
        pruner: the pruner's name, ``None`` (no pruning) or an ``optuna.pruners.BasePruner``.
        epochs: epochs per trial, Hyperband's maximum resource.
    """
    if isinstance(pruner, optuna.pruners.BasePruner):
        return pruner
    if pruner is None or pruner == "none":
        return optuna.pruners.NopPruner()
    if pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    if pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(1, epochs), reduction_factor=3)
    raise ConfigError(f"Unknown pruner {pruner!r}. Valid: {list(PRUNERS)}, None, or an Optuna pruner.")


class PruningCallback(Callback):
    """Report ``objective`` to an Optuna trial after each epoch and stop training when the pruner says so.

    Training stops gracefully (``model.stop_training``), so every other callback still sees the end of
    training; the caller then marks the trial pruned if :attr:`pruned_at` is set. The last epoch is reported
    but never pruned: the training is done, and its score is a real one.

    Args:
        trial: the ``optuna.trial.Trial`` to report to.
        objective: the log key reported, e.g. ``'val_loss'``.
        first_step: the step of the first epoch (default 0); steps count epochs.

    Attributes:
        pruned_at: the epoch (0-based) at which the trial was pruned, or ``None``.
        seen_keys: the log keys of the last epoch (to name what exists when ``objective`` is missing).

    Example:
        >>> import optuna
        >>> study = optuna.create_study(pruner=optuna.pruners.NopPruner())
        >>> callback = PruningCallback(study.ask(), "val_loss")
        >>> callback.on_epoch_end(0, {"val_loss": 0.5})
        >>> callback.pruned_at is None
        True
    """

    def __init__(self, trial: Any, objective: str, first_step: int = 0):
        super().__init__()
        self.trial = trial
        self.objective = objective
        self.first_step = first_step
        self.pruned_at: int | None = None
        self.seen_keys: list[str] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.pruned_at = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        self.seen_keys = sorted(logs)
        if self.objective not in logs:
            return  # e.g. an epoch without validation (validation_freq > 1)
        value = float(logs[self.objective])
        self.trial.report(value if math.isfinite(value) else float("nan"), self.first_step + epoch)
        last_epoch = epoch + 1 >= self.params.get("epochs", epoch + 2)
        if not last_epoch and self.trial.should_prune():
            self.pruned_at = epoch
            if self.model is not None:
                self.model.stop_training = True
