"""Callbacks: objects the training loop calls at fixed points (Keras's ``keras.callbacks``).

Example:
    >>> import loom
    >>> class PrintEpoch(loom.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(epoch, sorted(logs))
    >>> isinstance(PrintEpoch(), loom.callbacks.Callback)
    True
"""

from loom.callbacks.callback import Callback
from loom.callbacks.callback_list import CallbackList
from loom.callbacks.history import History
from loom.callbacks.progbar import Progbar, ProgbarLogger

__all__ = ["Callback", "CallbackList", "History", "Progbar", "ProgbarLogger"]
