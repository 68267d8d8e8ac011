"""``History``: records each epoch's logs; ``fit`` adds one and returns it.

Example:
    >>> h = History()
    >>> h.on_train_begin()
    >>> h.on_epoch_end(0, {"loss": 0.9, "val_loss": 1.1})
    >>> h.on_epoch_end(1, {"loss": 0.7, "val_loss": 1.0})
    >>> h.history["loss"], h.epoch
    ([0.9, 0.7], [0, 1])
"""

from __future__ import annotations

from typing import Any

from loom.callbacks.callback import Callback


class History(Callback):
    """Collects ``{metric name: [value per epoch]}`` in :attr:`history` and epoch indices in :attr:`epoch`.

    Like Keras, ``history`` keeps growing across ``fit`` calls with the same instance (``epoch`` restarts),
    and the model's ``history`` attribute points at the latest one.
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[Any]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epoch = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history, "epoch": self.epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = {k: list(v) for k, v in state.get("history", {}).items()}
        self.epoch = list(state.get("epoch", []))
