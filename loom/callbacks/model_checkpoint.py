"""``ModelCheckpoint``: save the model (or its weights) every epoch or every N batches, or only the best.

Files are written atomically (:func:`loom.io_utils.atomic_write`): a process killed while saving leaves the
previous file, never a partial one, and the temporary file it leaves is removed when the next ``fit`` starts.

Example:
    >>> import os, tempfile, numpy as np, loom
    >>> folder = tempfile.mkdtemp()
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> checkpoint = loom.callbacks.ModelCheckpoint(os.path.join(folder, "model.{epoch:02d}-{loss:.2f}.loom"))
    >>> _ = model.fit(np.ones((8, 2)), np.zeros((8, 1)), epochs=2, verbose=0, callbacks=[checkpoint])
    >>> len(os.listdir(folder))
    2
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from loom.callbacks.monitor import MonitorCallback
from loom.errors import ConfigError
from loom.io_utils import remove_stale_temporaries


class ModelCheckpoint(MonitorCallback):
    """Save the model or its weights during training.

    Args:
        filepath: where to save; may hold ``str.format`` fields filled from ``epoch`` (1-based), ``batch``
            (1-based, with ``save_freq=N``) and the logs, e.g. ``'weights.{epoch:02d}-{val_loss:.2f}.loom'``.
            Full models are ``.loom`` files (any extension works); weights go to safetensors, or to Keras's
            ``.weights.h5`` layout for names ending in ``.h5``.
        monitor: the log key that decides the best model (default ``'val_loss'``).
        verbose: 1 prints a line per save (default 0).
        save_best_only: save only when ``monitor`` improves; with a fixed ``filepath`` the file then always
            holds the best model (default ``False``).
        save_weights_only: save only the weights (``model.save_weights``; default ``False``: ``model.save``).
        mode: ``'auto'`` (default), ``'min'`` or ``'max'``.
        save_freq: ``'epoch'`` (default) or a number of batches between saves.
        initial_value_threshold: the value ``monitor`` must beat for the first save with
            ``save_best_only`` (default ``None``).
    """

    rank_zero_only = True  # distributed runs: only rank 0 writes / prints

    def __init__(self, filepath: str | os.PathLike, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False, mode: str = "auto",
                 save_freq: str | int = "epoch", initial_value_threshold: float | None = None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath = os.fspath(filepath)
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ConfigError(f"Unrecognized save_freq: {save_freq!r}. Expected 'epoch' or a positive number of "
                              f"batches.")
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen: int | None = None
        self._current_epoch = 0
        if save_freq != "epoch":  # a per-batch hook only when needed: the loop skips hooks nobody defines
            self.on_train_batch_end = self._batch_end

    def on_train_begin(self, logs: dict | None = None) -> None:
        remove_stale_temporaries(self.filepath)  # left by a process killed while saving

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch

    def _batch_end(self, batch: int, logs: Mapping | None = None) -> None:
        if self._should_save_on_batch(batch):
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            added = batch + 1  # a new epoch started
        else:
            added = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += added
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save(self, epoch: int, logs: Mapping, filepath: str) -> bool:
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = self.get_monitor_value(logs)
        if current is None:
            return True  # as Keras: without the value, save anyway (the warning named the available keys)
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self.improves(current):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                      f"saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save(self, epoch: int, batch: int | None, logs: Mapping | None) -> None:
        logs = logs if logs is not None else {}
        filepath = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise ConfigError(f"ModelCheckpoint: filepath {filepath!r} is an existing directory; give a file path.")
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _file_path(self, epoch: int, batch: int | None, logs: Mapping) -> str:
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise ConfigError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e!r}. '
                              f"Available fields: {sorted(fields)}.") from e

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "batches_seen_since_last_saving": self._batches_seen_since_last_saving,
                "last_batch_seen": self._last_batch_seen}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._batches_seen_since_last_saving = int(state.get("batches_seen_since_last_saving", 0))
        self._last_batch_seen = state.get("last_batch_seen")
