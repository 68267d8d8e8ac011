"""``ReduceLROnPlateau``: multiply the learning rate by ``factor`` when a metric stops improving.

Example:
    >>> import numpy as np, loom
    >>> from loom.optimizers import SGD
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    >>> reduce = loom.callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=10.0)
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0, callbacks=[reduce])
    >>> history.history["learning_rate"]  # the rate each epoch used
    [0.1, 0.1, 0.05]
"""

from __future__ import annotations

from typing import Any

from loom.callbacks.monitor import MonitorCallback
from loom.errors import ConfigError


class ReduceLROnPlateau(MonitorCallback):
    """Reduce the learning rate after ``patience`` epochs without improvement of ``monitor``.

    Each epoch's ``logs`` get ``'learning_rate'`` (the rate used during that epoch), as in Keras 3.

    Args:
        monitor: the log key to watch (default ``'val_loss'``).
        factor: new rate = rate * factor; must be < 1 (default 0.1).
        patience: epochs without improvement before the rate is reduced (default 10).
        verbose: 1 prints each reduction (default 0).
        mode: ``'auto'`` (default), ``'min'`` or ``'max'``.
        min_delta: a change smaller than this is no improvement (default 1e-4).
        cooldown: epochs to wait after a reduction before counting again (default 0).
        min_lr: the rate never goes below this (default 0).
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0,
                 **kwargs: Any):
        if kwargs:
            raise ConfigError(f"ReduceLROnPlateau got unknown arguments {sorted(kwargs)}. Valid: monitor, factor, "
                              f"patience, verbose, mode, min_delta, cooldown, min_lr.")
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ConfigError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self.factor = factor
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.min_lr = min_lr
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = self.get_monitor_value(logs)
        if current is None:
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.improves(current):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce(optimizer, epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0

    def _reduce(self, optimizer: Any, epoch: int) -> bool:
        old_lr = float(optimizer.learning_rate)
        if old_lr <= self.min_lr:
            return False
        new_lr = max(old_lr * self.factor, self.min_lr)
        optimizer.learning_rate = new_lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
        return True

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.wait = int(state.get("wait", 0))
        self.cooldown_counter = int(state.get("cooldown_counter", 0))
