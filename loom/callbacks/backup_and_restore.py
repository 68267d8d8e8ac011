"""``BackupAndRestore``: crash-safe training. Rerun the same script after a crash and ``fit`` continues.

At the end of every epoch the callback writes the whole training state to one file,
``<backup_dir>/training_state.zip``, atomically (see :mod:`loom.callbacks.training_state`): weights,
optimizer state (slots, iterations, learning rate), every random generator (Python, NumPy, torch CPU/CUDA,
layers' own), the next epoch, and the ``state_dict()`` of every other callback of the ``fit`` (best values,
patience counters, learning-rate plateau state, the ``History`` so far, CSV rows...). When ``fit`` starts and
the file exists, all of that is put back and the loop starts at the saved epoch (``model._initial_epoch``, as
Keras 3). With ``save_freq='epoch'`` a run killed at any moment (even ``kill -9`` in the middle of a save)
and rerun with the same seed ends with exactly the weights of an uninterrupted run. With ``save_freq=N``
batches, the state is also saved every N batches and a resumed run restarts the interrupted epoch from its
first batch with the saved weights (Keras's behaviour: less work lost, not bit-identical). In a distributed
run rank 0 writes the file and every rank reads it when the run is started again.

Bit-identical means: the same machine, and the same results for the same inputs in every process. Some of MKL's
code paths (its SSE4.2 one, taken on some CPUs; ``MKL_ENABLE_INSTRUCTIONS=SSE4_2`` forces it) round a matrix
product differently depending on where in memory its input lies, and NumPy puts arrays at addresses that change
from process to process. There, start the script with ``MKL_CBWR=AUTO`` in its environment (MKL's conditional
numerical reproducibility: the same bits whatever the alignment; it must be set before the first computation)
and the resumed run again matches the uninterrupted one. MKL and OpenMP promise the same bits only for the same
team of threads: where two plain runs of a script still differ, run it single-threaded (``OMP_NUM_THREADS=1``).

The callback moves itself to the end of the callback list, so it restores states after the other callbacks
have reset themselves in ``on_train_begin``, and saves after they have updated in ``on_epoch_end``.

Example:
    >>> import os, tempfile, numpy as np, loom
    >>> backup = os.path.join(tempfile.mkdtemp(), "backup")
    >>> class Crash(loom.callbacks.Callback):
    ...     def on_epoch_begin(self, epoch, logs=None):
    ...         if epoch == 2:
    ...             raise RuntimeError("crash")
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x, y = np.ones((8, 2)), np.ones((8, 1))
    >>> try:
    ...     model.fit(x, y, epochs=5, verbose=0, callbacks=[loom.callbacks.BackupAndRestore(backup), Crash()])
    ... except RuntimeError:
    ...     pass
    >>> history = model.fit(x, y, epochs=5, verbose=0, callbacks=[loom.callbacks.BackupAndRestore(backup)])
    >>> history.epoch  # the History of the first run is restored too, as if nothing had happened
    [0, 1, 2, 3, 4]
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from loom.callbacks.callback import Callback
from loom.callbacks import training_state
from loom.distributed.context import is_rank_zero
from loom.errors import ConfigError, ModelFileError
from loom.io_utils import remove_stale_temporaries

STATE_FILE = "training_state.zip"


class BackupAndRestore(Callback):
    """Back up the training state at each epoch end; restore it when ``fit`` starts again.

    Args:
        backup_dir: a directory for this run only (created when needed; not shared with other callbacks).
        save_freq: ``'epoch'`` (default) or a number of batches between extra saves.
        double_checkpoint: keep the previous state file too, and fall back to it if the latest cannot be
            read (default ``False``).
        delete_checkpoint: delete ``backup_dir`` when training ends normally (default ``True``).
    """

    def __init__(self, backup_dir: str | os.PathLike, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True):
        super().__init__()
        if not backup_dir:
            raise ConfigError("Empty `backup_dir` argument passed to BackupAndRestore.")
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ConfigError(f"Invalid value for argument `save_freq`. Received: save_freq={save_freq!r}. "
                              f"Expected either 'epoch' or a positive integer.")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._state_path = os.path.join(self.backup_dir, STATE_FILE)
        self._previous_path = self._state_path + ".prev"
        self._others: list[Callback] = []
        self._current_epoch = 0
        self._batches_since_save = 0
        if save_freq != "epoch":  # a per-batch hook only when needed: the loop skips hooks nobody defines
            self.on_train_batch_end = self._count_batch

    def set_callback_list(self, callbacks: Any) -> None:
        """Called by :class:`~loom.callbacks.CallbackList`: note the other callbacks and move to the end."""
        callbacks.callbacks.remove(self)
        callbacks.callbacks.append(self)
        self._others = [cb for cb in callbacks.callbacks if cb is not self]

    # ------------------------------------------------------------------------------------------- hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._current_epoch = 0
        self._batches_since_save = 0
        if is_rank_zero():  # temporary files a killed process left behind
            remove_stale_temporaries(self._state_path)
            remove_stale_temporaries(self._previous_path)
        loaded = self._load()
        if loaded is None:
            return
        document, tensors, path = loaded
        training_state.restore(self.model, self._others, document, tensors, path)
        epoch = int(document["epoch"])
        if document.get("stop_training"):
            epoch = max(epoch, int(self.params.get("epochs") or epoch))
        self._current_epoch = epoch
        self.model._initial_epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch
        self._batches_since_save = 0

    def _count_batch(self, batch: int, logs: Any = None) -> None:
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._current_epoch)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._current_epoch = epoch + 1
        self._save(epoch + 1)

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.delete_checkpoint and is_rank_zero() and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    # ----------------------------------------------------------------------------------------- files
    def _save(self, next_epoch: int) -> None:
        if not is_rank_zero():  # distributed: rank 0 writes, every rank reads when the run restarts
            return
        os.makedirs(self.backup_dir, exist_ok=True)
        document, tensors = training_state.capture(self.model, self._others, next_epoch)
        if self.double_checkpoint and os.path.exists(self._state_path):
            os.replace(self._state_path, self._previous_path)
        training_state.write_state(self._state_path, document, tensors)

    def _load(self) -> tuple[dict, dict, str] | None:
        candidates = [self._state_path] + ([self._previous_path] if self.double_checkpoint else [])
        error: ModelFileError | None = None
        for path in candidates:
            if not os.path.exists(path):
                continue
            try:
                return (*training_state.read_state(path), path)
            except ModelFileError as e:
                error = error or e
        if error is not None:
            raise error
        return None
