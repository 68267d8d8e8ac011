"""``SwapEMAWeights``: evaluate and predict with the optimizer's moving average of the weights.

With an optimizer created with ``use_ema=True``, the model trains on its raw weights while the optimizer keeps
their exponential moving average. This callback swaps the two in for evaluation (``on_test_begin`` /
``on_test_end``, so validation during ``fit`` sees the averages) and prediction, and with ``swap_on_epoch=True``
also from the end of each epoch to the start of the next, so that callbacks such as ``ModelCheckpoint`` save
the averages. The swap exchanges tensors in place on the device (no copy through the host).

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
    >>> model.compile(optimizer=loom.optimizers.SGD(0.1, use_ema=True), loss="mse")
    >>> x, y = np.ones((8, 2), "float32"), np.zeros((8, 1), "float32")
    >>> history = model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0,
    ...                     callbacks=[loom.callbacks.SwapEMAWeights()])
    >>> sorted(history.history)
    ['loss', 'val_loss']
"""

from __future__ import annotations

from typing import Any

import torch

from loom.callbacks.callback import Callback
from loom.errors import ConfigError


class SwapEMAWeights(Callback):
    """Swap the model's weights with the optimizer's EMA during evaluation and prediction, as Keras.

    Args:
        swap_on_epoch: Also keep the averages in the model between the end of one epoch and the start of the
            next (for checkpointing callbacks placed after this one). Default False.

    Raises:
        ConfigError: (at the first swap) the model's optimizer was not created with ``use_ema=True``.
    """

    def __init__(self, swap_on_epoch: bool = False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _optimizer(self) -> Any:
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)
        if not getattr(optimizer, "use_ema", False):
            raise ConfigError("SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. Received: "
                              f"use_ema={getattr(optimizer, 'use_ema', None)} (optimizer {optimizer!r}).")
        return optimizer

    def _pairs(self) -> tuple[list, list]:
        optimizer = self._optimizer()
        params = [p for p in optimizer._flat_params() if "average" in optimizer.state.get(p, {})]
        return params, [optimizer.state[p]["average"] for p in params]

    def _swap(self) -> None:
        params, averages = self._pairs()
        if params:
            with torch.no_grad():
                saved = torch._foreach_add(params, 0.0)  # a copy on the device
                torch._foreach_copy_(params, averages)
                torch._foreach_copy_(averages, saved)

    def _set_in_model(self, in_model: bool) -> None:
        if self._ema_weights_in_model != in_model:
            self._swap()
            self._ema_weights_in_model = in_model

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch:
            self._set_in_model(False)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._set_in_model(True)
            if epoch == self.params.get("epochs", 0) - 1:
                # fit ends by copying the averages into the weights: make the averages the weights now held
                params, averages = self._pairs()
                with torch.no_grad():
                    torch._foreach_copy_(averages, params)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._set_in_model(True)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._set_in_model(False)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._set_in_model(True)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._set_in_model(False)
