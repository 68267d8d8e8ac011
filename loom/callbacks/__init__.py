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
from loom.callbacks.monitor import MonitorCallback
from loom.callbacks.early_stopping import EarlyStopping
from loom.callbacks.model_checkpoint import ModelCheckpoint
from loom.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from loom.callbacks.learning_rate_scheduler import LearningRateScheduler
from loom.callbacks.csv_logger import CSVLogger
from loom.callbacks.terminate_on_nan import TerminateOnNaN
from loom.callbacks.lambda_callback import LambdaCallback
from loom.callbacks.backup_and_restore import BackupAndRestore
from loom.callbacks.tensorboard import TensorBoard
from loom.callbacks.remote_monitor import RemoteMonitor
from loom.callbacks.swap_ema_weights import SwapEMAWeights

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History",
           "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint", "MonitorCallback", "Progbar",
           "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor", "SwapEMAWeights", "TensorBoard", "TerminateOnNaN"]
