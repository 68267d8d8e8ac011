"""``TerminateOnNaN``: stop training at the first batch whose loss is NaN or infinite.

The check reads the loss of every batch (one device synchronisation per step): use it while debugging.
Without it, loom's loop still notices a non-finite loss at the end of the epoch and raises
:class:`~loom.errors.TrainingError` naming the first bad batch; with it, no batch runs after the bad one.

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> x = np.ones((8, 2)); x[5] = np.nan
    >>> cb = loom.callbacks.TerminateOnNaN(raise_error=True)
    >>> try:
    ...     model.fit(x, np.ones((8, 1)), batch_size=2, shuffle=False, verbose=0, callbacks=[cb])
    ... except RuntimeError as e:
    ...     print(e)
    NaN or Inf loss encountered at batch 2. Loss value: nan. Terminating training immediately.
"""

from __future__ import annotations

import math

from loom.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Stop (``model.stop_training = True``) or raise when a batch's loss is NaN or infinite.

    Args:
        raise_error: raise ``RuntimeError`` at once instead of stopping gracefully (default ``False``).
    """

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   f"Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
