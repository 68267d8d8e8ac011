"""``EarlyStopping``: stop training when a monitored quantity has stopped improving (Keras 3's rules).

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> stop = loom.callbacks.EarlyStopping(monitor="loss", patience=2, min_delta=10.0)
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=20, verbose=0, callbacks=[stop])
    >>> len(history.history["loss"]), stop.stopped_epoch
    (3, 2)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.callbacks.monitor import MonitorCallback


class EarlyStopping(MonitorCallback):
    """Stop training when ``monitor`` has not improved for ``patience`` epochs.

    Args:
        monitor: the log key to watch (default ``'val_loss'``).
        min_delta: a change smaller than this is no improvement (default 0).
        patience: epochs without improvement after which training stops (default 0).
        verbose: 1 prints when it stops and when it restores weights (default 0).
        mode: ``'auto'`` (default), ``'min'`` or ``'max'`` (see :func:`loom.callbacks.monitor.infer_mode`).
        baseline: a value to beat: training stops if the model does not improve on it within ``patience``
            epochs (default ``None``).
        restore_best_weights: at the end of training, set the weights of the best epoch (default ``False``).
            As in Keras, this happens whenever training ends, stopped early or not.
        start_from_epoch: epochs to wait before watching (warm-up; default 0).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        # One instance can be reused across fit() calls.
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self.improves(current):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            # Patience restarts only when the value beats both the baseline and the best so far.
            if self.baseline is None or self.improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        weights = None if self.best_weights is None else [torch.from_numpy(np.ascontiguousarray(w))
                                                           for w in self.best_weights]
        return {**super().state_dict(), "wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best_epoch": self.best_epoch, "best_weights": weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.wait = int(state.get("wait", 0))
        self.stopped_epoch = int(state.get("stopped_epoch", 0))
        self.best_epoch = int(state.get("best_epoch", 0))
        weights = state.get("best_weights")
        self.best_weights = None if weights is None else [w.numpy() if isinstance(w, torch.Tensor) else
                                                          np.asarray(w) for w in weights]
