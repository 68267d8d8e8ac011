"""The ``Callback`` base class: hooks the training loop calls at fixed points, with Keras's names.

A callback sees the loop only through these hooks and through ``self.model`` / ``self.params``. Every hook
does nothing by default; override the ones you need. The loop calls a batch-level hook only on callbacks
that override it, so an unused hook costs nothing per step.

Per-batch ``logs`` are a lazy mapping: values stay on the device until a callback reads one, so a
callback that only counts batches never forces a device synchronisation. Read batch logs inside the hook
(``float(logs["loss"])``, ``dict(logs)``); epoch-level ``logs`` are plain dicts of Python floats.

Example:
    >>> import numpy as np, loom
    >>> class CountBatches(loom.callbacks.Callback):
    ...     def on_train_begin(self, logs=None):
    ...         self.seen = 0
    ...     def on_train_batch_end(self, batch, logs=None):
    ...         self.seen += 1
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(3,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> counter = CountBatches()
    >>> _ = model.fit(np.zeros((64, 3)), np.zeros((64, 1)), batch_size=16, epochs=2, verbose=0,
    ...               callbacks=[counter])
    >>> counter.seen
    8
"""

from __future__ import annotations

from typing import Any

#: Every hook name, in the order a ``fit`` with validation meets them.
HOOKS = (
    "on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_batch_begin", "on_train_batch_end",
    "on_batch_end", "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
    "on_epoch_end", "on_train_end", "on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end",
    "on_predict_end",
)


class Callback:
    """Base class of every callback (Keras 3's hooks, plus ``validation_data`` and a state dict).

    Attributes:
        model: the model being trained, set by the loop with :meth:`set_model`.
        params: ``{'verbose': ..., 'epochs': ..., 'steps': ...}`` (steps per epoch, ``None`` when unknown).
        validation_data: during ``fit``, the validation data as a tuple ``(x, y)`` or ``(x, y, sample_weight)``
            (whatever ``validation_data=`` was, or the arrays ``validation_split`` set apart), else ``None``.
            Keras 3 dropped this attribute; loom keeps it for callbacks written for Keras 2.
        rank_zero_only: class attribute; ``True`` for callbacks with side effects (files, printing): in a
            distributed run only rank 0 runs them (default ``False``: every rank runs the callback).
    """

    rank_zero_only = False

    def __init__(self):
        self.params: dict[str, Any] = {}
        self.model = None
        self.validation_data = None

    def set_params(self, params: dict[str, Any]) -> None:
        self.params = params

    def set_model(self, model: Any) -> None:
        self.model = model

    # Callbacks that carry state (counters, best values) override these so a run can resume with them.
    def state_dict(self) -> dict[str, Any]:
        """The callback's resumable state (``{}`` by default). Values must be JSON-able or tensors."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""

    # ----------------------------------------------------------------------------------------- training
    def on_train_begin(self, logs: dict | None = None) -> None:
        """Called once at the start of ``fit``."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """Called once at the end of ``fit`` with the last epoch's logs."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the start of each epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Called at the end of each epoch with that epoch's metrics (and ``val_*`` ones) as floats."""

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each training batch; the default calls :meth:`on_batch_begin`."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each training batch with the running epoch metrics (lazy mapping); the default calls
        :meth:`on_batch_end`."""
        self.on_batch_end(batch, logs=logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Alias hook: called through :meth:`on_train_batch_begin`."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Alias hook: called through :meth:`on_train_batch_end`."""

    # ---------------------------------------------------------------------------------------- evaluation
    def on_test_begin(self, logs: dict | None = None) -> None:
        """Called at the start of ``evaluate`` (and of each validation run inside ``fit``)."""

    def on_test_end(self, logs: dict | None = None) -> None:
        """Called at the end of ``evaluate`` / validation with its metrics as floats."""

    def on_test_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each evaluation batch."""

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each evaluation batch with the running metrics (lazy mapping)."""

    # ---------------------------------------------------------------------------------------- prediction
    def on_predict_begin(self, logs: dict | None = None) -> None:
        """Called at the start of ``predict``."""

    def on_predict_end(self, logs: dict | None = None) -> None:
        """Called at the end of ``predict``."""

    def on_predict_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Called after each prediction batch with ``{'outputs': batch outputs}``."""


def overrides(callback: Callback, hook: str) -> bool:
    """Whether ``callback``'s class (or instance) replaces the base class's do-nothing ``hook``."""
    if hook in vars(callback):
        return True
    return getattr(type(callback), hook) is not getattr(Callback, hook)
