"""``LambdaCallback``: a callback made of plain functions, one per hook.

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> seen = []
    >>> cb = loom.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=3, verbose=0, callbacks=[cb])
    >>> seen
    [0, 1, 2]
"""

from __future__ import annotations

from typing import Any, Callable

from loom.callbacks.callback import HOOKS, Callback
from loom.errors import ConfigError

Hook = Callable[..., Any] | None


class LambdaCallback(Callback):
    """Run the given functions at the matching hooks.

    Args:
        on_epoch_begin: ``f(epoch, logs)`` (default ``None``).
        on_epoch_end: ``f(epoch, logs)`` (default ``None``).
        on_train_begin: ``f(logs)`` (default ``None``).
        on_train_end: ``f(logs)`` (default ``None``).
        on_train_batch_begin: ``f(batch, logs)`` (default ``None``).
        on_train_batch_end: ``f(batch, logs)`` (default ``None``).
        **kwargs: any other hook of :data:`loom.callbacks.callback.HOOKS` (``on_batch_end``, ``on_test_end``,
            ``on_predict_batch_end``...), as in Keras where extra keyword arguments become attributes.
    """

    def __init__(self, on_epoch_begin: Hook = None, on_epoch_end: Hook = None, on_train_begin: Hook = None,
                 on_train_end: Hook = None, on_train_batch_begin: Hook = None, on_train_batch_end: Hook = None,
                 **kwargs: Hook):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if fn is None:
                continue
            if name not in HOOKS:
                raise ConfigError(f"LambdaCallback got an unknown hook {name!r}. Valid hooks: {list(HOOKS)}.")
            if not callable(fn):
                raise ConfigError(f"LambdaCallback: {name} must be callable; got {fn!r}.")
            setattr(self, name, fn)
