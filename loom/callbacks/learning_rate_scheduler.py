"""``LearningRateScheduler``: set the learning rate at the start of each epoch from ``schedule(epoch, lr)``.

Example:
    >>> import numpy as np, loom
    >>> from loom.optimizers import SGD
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer=SGD(learning_rate=0.1), loss="mse")
    >>> halve = loom.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch == 0 else lr / 2)
    >>> history = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0, callbacks=[halve])
    >>> history.history["learning_rate"]
    [0.1, 0.05, 0.025]
"""

from __future__ import annotations

import numbers
from typing import Any, Callable

from loom.callbacks.callback import Callback
from loom.errors import ConfigError


class LearningRateScheduler(Callback):
    """At each epoch start, ``optimizer.learning_rate = schedule(epoch, current_lr)``.

    Each epoch's ``logs`` get ``'learning_rate'``, as in Keras 3.

    Args:
        schedule: ``schedule(epoch, lr) -> new lr`` (epoch counts from 0); a one-argument ``schedule(epoch)``
            works too (Keras 2's form).
        verbose: 1 prints each new rate (default 0).
    """

    def __init__(self, schedule: Callable[..., float], verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise ConfigError(f"LearningRateScheduler needs a callable schedule(epoch, lr); got {schedule!r}.")
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        if optimizer is None or not hasattr(optimizer, "learning_rate"):
            raise ConfigError('LearningRateScheduler: the optimizer must have a "learning_rate" attribute.')
        try:
            lr = self.schedule(epoch, float(optimizer.learning_rate))
        except TypeError:  # the one-argument form
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) and not _is_scalar(lr):
            raise ConfigError(f"The output of the `schedule` function should be a float. Got: {lr!r}")
        optimizer.learning_rate = float(lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


def _is_scalar(value: Any) -> bool:
    """A 0-d NumPy array or tensor holding one real number."""
    return getattr(value, "ndim", None) == 0 and hasattr(value, "__float__")
