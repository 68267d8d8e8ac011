"""``CallbackList``: calls one hook on every callback, precomputing who listens to the per-batch hooks.

Per-batch hooks run once per step, so the list resolves at construction which callbacks override them and
keeps their bound methods; a batch hook nobody overrides is an empty loop. A callback whose attribute
``skip_batch_hooks`` is true after ``set_params`` gets no per-batch calls (the progress bar when it has
nothing to redraw). In a distributed run, callbacks whose class sets ``rank_zero_only`` (progress bar, file
writers) are left out on every rank but 0. The loop asks
:attr:`CallbackList.wants_train_batch_logs` (and friends) to skip building per-batch logs altogether.

Example:
    >>> import loom
    >>> class Hello(loom.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print("epoch", epoch, "loss", logs["loss"])
    >>> callbacks = CallbackList([Hello()], add_history=True, epochs=1, steps=2, verbose=0)
    >>> callbacks.on_epoch_end(0, {"loss": 0.5})
    epoch 0 loss 0.5
    >>> callbacks.history.history
    {'loss': [0.5]}
"""

from __future__ import annotations

from typing import Any, Iterable

from loom.callbacks.callback import Callback, overrides
from loom.callbacks.history import History
from loom.callbacks.progbar import ProgbarLogger
from loom.distributed.context import is_rank_zero
from loom.errors import ConfigError

_BATCH_HOOKS = {
    "on_train_batch_begin": ("on_train_batch_begin", "on_batch_begin"),
    "on_train_batch_end": ("on_train_batch_end", "on_batch_end"),
    "on_test_batch_begin": ("on_test_batch_begin",),
    "on_test_batch_end": ("on_test_batch_end",),
    "on_predict_batch_begin": ("on_predict_batch_begin",),
    "on_predict_batch_end": ("on_predict_batch_end",),
}


class CallbackList:
    """A list of callbacks behind one set of hooks.

    Args:
        callbacks: callbacks (a list, possibly nested; default ``None``). Must be :class:`Callback` instances.
        add_history: append a :class:`History` unless one is already in the list (default ``False``).
        add_progbar: append a :class:`ProgbarLogger` unless one is already in the list (default ``False``).
        model: the model, given to every callback with ``set_model`` (default ``None``).
        **params: given to every callback with ``set_params`` (Keras's keys: ``verbose``, ``epochs``, ``steps``).
    """

    def __init__(self, callbacks: Iterable[Callback] | None = None, add_history: bool = False,
                 add_progbar: bool = False, model: Any = None, **params: Any):
        self.callbacks: list[Callback] = _flatten(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise ConfigError(f"callbacks must be loom.callbacks.Callback instances; got {type(cb).__name__}. "
                                  f"Subclass loom.callbacks.Callback (or use LambdaCallback).")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if self.history is None and add_history:
            self.history = History()
            self.callbacks.append(self.history)
        self.progbar = next((cb for cb in self.callbacks if isinstance(cb, ProgbarLogger)), None)
        if self.progbar is None and add_progbar:
            self.progbar = ProgbarLogger()
            self.callbacks.append(self.progbar)
        if not is_rank_zero():
            self.callbacks = [cb for cb in self.callbacks if not cb.rank_zero_only]
            self.progbar = None
        self.model = None
        self.params: dict[str, Any] = {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)
        for cb in list(self.callbacks):
            if hasattr(cb, "set_callback_list"):  # e.g. BackupAndRestore, which saves every callback's state
                cb.set_callback_list(self)
        self._resolve_batch_hooks()

    def append(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        if self.model is not None:
            callback.set_model(self.model)
        if self.params:
            callback.set_params(self.params)
        self._resolve_batch_hooks()

    def set_model(self, model: Any) -> None:
        self.model = model
        if self.history is not None:
            model.history = self.history
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)
        self._resolve_batch_hooks()

    def set_validation_data(self, validation_data: Any) -> None:
        """Give every callback ``validation_data`` (a tuple ``(x, y[, sample_weight])`` or ``None``)."""
        for cb in self.callbacks:
            cb.validation_data = validation_data

    def _resolve_batch_hooks(self) -> None:
        self._batch_methods: dict[str, list] = {}
        listening = [cb for cb in self.callbacks if not getattr(cb, "skip_batch_hooks", False)]
        for hook, names in _BATCH_HOOKS.items():
            self._batch_methods[hook] = [getattr(cb, hook) for cb in listening
                                         if any(overrides(cb, n) for n in names)]
        self.wants_train_batch_logs = bool(self._batch_methods["on_train_batch_end"])
        self.wants_test_batch_logs = bool(self._batch_methods["on_test_batch_end"])
        self.wants_predict_batch_logs = bool(self._batch_methods["on_predict_batch_end"])
        self.watches_predict_batches = bool(self._batch_methods["on_predict_batch_begin"]) or \
            self.wants_predict_batch_logs
        self.has_batch_begin = bool(self._batch_methods["on_train_batch_begin"])

    def _call_all(self, hook: str, *args) -> None:
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    # ------------------------------------------------------------------------------------ run-level hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._call_all("on_train_begin", logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self._call_all("on_train_end", logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._call_all("on_epoch_begin", epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._call_all("on_epoch_end", epoch, logs)

    def on_test_begin(self, logs: dict | None = None) -> None:
        self._call_all("on_test_begin", logs)

    def on_test_end(self, logs: dict | None = None) -> None:
        self._call_all("on_test_end", logs)

    def on_predict_begin(self, logs: dict | None = None) -> None:
        self._call_all("on_predict_begin", logs)

    def on_predict_end(self, logs: dict | None = None) -> None:
        self._call_all("on_predict_end", logs)

    # ---------------------------------------------------------------------------------- per-batch hooks
    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        for method in self._batch_methods["on_train_batch_begin"]:
            method(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        for method in self._batch_methods["on_train_batch_end"]:
            method(batch, logs)

    def on_test_batch_begin(self, batch: int, logs: Any = None) -> None:
        for method in self._batch_methods["on_test_batch_begin"]:
            method(batch, logs)

    def on_test_batch_end(self, batch: int, logs: Any = None) -> None:
        for method in self._batch_methods["on_test_batch_end"]:
            method(batch, logs)

    def on_predict_batch_begin(self, batch: int, logs: Any = None) -> None:
        for method in self._batch_methods["on_predict_batch_begin"]:
            method(batch, logs)

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        for method in self._batch_methods["on_predict_batch_end"]:
            method(batch, logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self) -> int:
        return len(self.callbacks)


def _flatten(callbacks: Any) -> list:
    if callbacks is None:
        return []
    if isinstance(callbacks, CallbackList):
        return list(callbacks.callbacks)
    if isinstance(callbacks, Callback):
        return [callbacks]
    out = []
    for cb in callbacks:
        out.extend(_flatten(cb) if isinstance(cb, (list, tuple)) else [cb])
    return out
