"""``TensorBoard``: event files TensorBoard shows, written with ``torch.utils.tensorboard`` (no TensorFlow).

Like Keras, the callback writes two runs, ``<log_dir>/train`` and ``<log_dir>/validation``, with scalars
tagged ``epoch_loss``, ``epoch_acc``... per epoch (and ``epoch_learning_rate`` for the training run), or
``batch_loss``... every ``update_freq`` batches; ``evaluation_<name>_vs_iterations`` when validation ends.
Every ``histogram_freq`` epochs it writes weight histograms and, when there is validation data, each layer's
activation histogram on it (forward hooks; the book's use). It writes the model's op graph once, the
projector's embeddings of ``Embedding`` layers every ``embeddings_freq`` epochs, and hyperparameters for the
HParams dashboard (``hparams=`` here, or :func:`log_hparams`). Look at them with ``loom board <log_dir>``.

The graph (:mod:`~loom.callbacks.tensorboard_graph`) is one box named after the model, holding one box per
layer, recurrent layers included. With ``hparams=``, a third run ``<log_dir>/hparams`` holds the session
(hyperparameters) and the epoch logs under their Keras names (``loss``, ``val_accuracy``...), so the HParams
dashboard shows those as metric columns whether TensorBoard opens ``log_dir`` itself or a folder of many
runs (TensorBoard finds a session's metrics only in its own run and the runs below it, so the session cannot
sit in ``log_dir``'s root, which TensorBoard lists as a run named ``.``).

Example:
    >>> import os, tempfile, numpy as np, loom
    >>> log_dir = tempfile.mkdtemp()
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> board = loom.callbacks.TensorBoard(log_dir, histogram_freq=1, hparams={"units": 1})
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, validation_split=0.25, verbose=0,
    ...               callbacks=[board])
    >>> sorted(d for d in os.listdir(log_dir) if os.path.isdir(os.path.join(log_dir, d)))
    ['hparams', 'train', 'validation']
"""

from __future__ import annotations

import os
import time
from typing import Any

from loom.callbacks.callback import Callback
from loom.callbacks import tensorboard_summaries as summaries
from loom.errors import ConfigError

#: The run (a folder of ``log_dir``) that holds the HParams session and its metrics.
HPARAMS_RUN = "hparams"


class TensorBoard(Callback):
    """Write TensorBoard logs during ``fit`` (see the module docstring).

    Args:
        log_dir: the directory of the logs (default ``'logs'``).
        histogram_freq: every this many epochs, write weight (and activation) histograms; 0 never (default).
        write_graph: write the model's graph, traced on one sample (default ``True``).
        write_images: also write the weights as images (with ``histogram_freq``; default ``False``).
        update_freq: ``'epoch'`` (default), ``'batch'`` or N: write ``batch_*`` scalars every N batches.
        embeddings_freq: every this many epochs, write ``Embedding`` layers for the projector (default 0).
        embeddings_metadata: labels for the projector: a TSV file path, or ``{layer name: path}`` (default None).
        embeddings_data: inputs whose ``Embedding`` outputs are written too (default ``None``).
        profile_batch: a batch number or ``(start, stop)`` to trace with ``torch.profiler`` into the train run
            (default 0: no profiling).
        hparams: ``{name: value}`` to show this run in the HParams dashboard, written with the epoch logs as
            its metrics in the ``hparams`` run (default ``None``).
        write_steps_per_second: add ``epoch_steps_per_second`` / ``batch_steps_per_second`` (default False).
    """

    rank_zero_only = True  # distributed runs: only rank 0 writes / prints

    def __init__(self, log_dir: str | os.PathLike = "logs", histogram_freq: int = 0, write_graph: bool = True,
                 write_images: bool = False, update_freq: str | int = "epoch", embeddings_freq: int = 0,
                 embeddings_metadata: Any = None, embeddings_data: Any = None, profile_batch: Any = 0,
                 hparams: dict | None = None, write_steps_per_second: bool = False):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _non_negative("histogram_freq", histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.update_freq = 1 if update_freq == "batch" else update_freq
        if self.update_freq != "epoch" and (isinstance(self.update_freq, bool)
                                            or not isinstance(self.update_freq, int) or self.update_freq < 1):
            raise ConfigError(f"update_freq must be 'epoch', 'batch' or a positive integer; got {update_freq!r}.")
        self.embeddings_freq = _non_negative("embeddings_freq", embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self.embeddings_data = embeddings_data
        self.hparams = summaries.check_hparams(hparams) if hparams is not None else None
        self.write_steps_per_second = write_steps_per_second
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self._profiler = None
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._graph_written = False
        self._in_fit = False
        self._epoch_start = (0.0, 0)
        self._batch_start = 0.0
        if self.update_freq != "epoch" or self._start_batch:  # per-batch hooks only when they have work
            self.on_train_batch_begin = self._batch_begin
            self.on_train_batch_end = self._batch_end

    # --------------------------------------------------------------------------------------- writers
    def _writer(self, run: str) -> Any:
        if run not in self._writers:
            from torch.utils.tensorboard import SummaryWriter
            path = os.path.join(self.log_dir, run)
            self._writers[run] = SummaryWriter(path)
        return self._writers[run]

    def _close_writers(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # ----------------------------------------------------------------------------------------- hooks
    def on_train_begin(self, logs: dict | None = None) -> None:
        self._in_fit = True
        self._global_train_batch = 0
        summaries.check_embeddings_metadata(self.embeddings_metadata, [
            layer.name for layer in summaries._layers(self.model) if type(layer).__name__ == "Embedding"])
        if self.hparams is not None:
            summaries.write_hparams(self._writer(HPARAMS_RUN), self.hparams)
        if self.write_graph and not self._graph_written:
            summaries.write_graph(self._writer("train"), self.model, self._validation_x())
            self._graph_written = True

    def on_train_end(self, logs: dict | None = None) -> None:
        self._stop_profiler()
        self._in_fit = False
        self._close_writers()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.write_steps_per_second:
            self._epoch_start = (time.perf_counter(), self._iterations())

    def _batch_begin(self, batch: int, logs: Any = None) -> None:
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start = time.perf_counter()
        if self._start_batch and self._global_train_batch == self._start_batch:
            self._start_profiler()

    def _batch_end(self, batch: int, logs: Any = None) -> None:
        step = self._global_train_batch
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            writer = self._writer("train")
            for name, value in dict(logs or {}).items():
                writer.add_scalar(f"batch_{name}", float(value), step)
            if self.write_steps_per_second:
                writer.add_scalar("batch_steps_per_second", 1.0 / max(time.perf_counter() - self._batch_start,
                                                                      1e-9), step)
        if self._profiler is not None:
            self._profiler.step()
            if step >= self._stop_batch:
                self._stop_profiler()

    def on_test_end(self, logs: dict | None = None) -> None:
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "iterations") and logs:
            writer = self._writer("validation")
            for name, value in logs.items():
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), int(optimizer.iterations))
            if not self._in_fit:
                writer.flush()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            summaries.write_weight_histograms(writer, self.model, epoch, images=self.write_images)
            x = self._validation_x()
            if x is not None:
                summaries.write_activation_histograms(writer, self.model, x, epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            summaries.write_embeddings(self._writer("train"), self.model, epoch, self.embeddings_metadata,
                                       self.embeddings_data)
        for writer in self._writers.values():
            writer.flush()

    def _log_epoch_metrics(self, epoch: int, logs: dict) -> None:
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            seconds = max(time.perf_counter() - self._epoch_start[0], 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_start[1]) / seconds
        for run, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(run)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.hparams is not None:
            writer = self._writer(HPARAMS_RUN)
            for name, value in logs.items():
                writer.add_scalar(name, float(value), epoch)

    # -------------------------------------------------------------------------------------- helpers
    def _validation_x(self) -> Any:
        data = self.validation_data
        return data[0] if isinstance(data, (tuple, list)) and data else None

    def _iterations(self) -> int:
        return int(getattr(getattr(self.model, "optimizer", None), "iterations", 0) or 0)

    def _start_profiler(self) -> None:
        import torch.profiler
        handler = torch.profiler.tensorboard_trace_handler(os.path.join(self.log_dir, "train"))
        self._profiler = torch.profiler.profile(on_trace_ready=handler)
        self._profiler.__enter__()

    def _stop_profiler(self) -> None:
        if self._profiler is not None:
            profiler, self._profiler = self._profiler, None
            profiler.__exit__(None, None, None)

    def state_dict(self) -> dict[str, Any]:
        return {"global_train_batch": self._global_train_batch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._global_train_batch = int(state.get("global_train_batch", 0))


def log_hparams(log_dir: str | os.PathLike, hparams: dict[str, Any], metrics: dict[str, float] | None = None,
                trial_id: str | None = None) -> None:
    """Record one run's hyperparameters (and final metrics) for TensorBoard's HParams dashboard.

    They go to the run ``<log_dir>/hparams``, as the :class:`TensorBoard` callback's ``hparams=`` does, so the
    dashboard lists ``metrics`` as columns when TensorBoard opens ``log_dir`` or a folder above it.

    Args:
        log_dir: the run's directory (e.g. the ``log_dir`` of its :class:`TensorBoard` callback).
        hparams: ``{name: bool, int, float or str}``.
        metrics: ``{tag: value}`` written as scalars beside the hyperparameters (default ``None``).
        trial_id: a name for the run in the dashboard (default: derived from the values).

    Raises:
        ConfigError: a value of ``hparams`` is not a bool, int, float or str.

    Example:
        >>> import os, tempfile
        >>> log_dir = tempfile.mkdtemp()
        >>> log_hparams(log_dir, {"units": 64, "optimizer": "rmsprop"}, {"val_accuracy": 0.91})
        >>> os.listdir(log_dir)
        ['hparams']
    """
    from torch.utils.tensorboard import SummaryWriter
    with SummaryWriter(os.path.join(os.fspath(log_dir), HPARAMS_RUN)) as writer:
        summaries.write_hparams(writer, hparams, trial_id)
        for tag, value in (metrics or {}).items():
            writer.add_scalar(tag, float(value), 0)


def _non_negative(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"TensorBoard: {name} must be a non-negative integer; got {value!r}.")
    return value


def _profile_range(profile_batch: Any) -> tuple[int, int]:
    """``(start, stop)`` global batch numbers to profile, ``(0, 0)`` for none (Keras's forms)."""
    message = (f"profile_batch must be a non-negative integer or a pair of positive integers (start, stop); got "
               f"{profile_batch!r}.")
    if isinstance(profile_batch, str):
        try:
            profile_batch = [int(p) for p in profile_batch.split(",")]
        except ValueError as e:
            raise ConfigError(message) from e
        profile_batch = profile_batch[0] if len(profile_batch) == 1 else tuple(profile_batch)
    if isinstance(profile_batch, int) and not isinstance(profile_batch, bool):
        start = stop = profile_batch
    elif isinstance(profile_batch, (tuple, list)) and len(profile_batch) == 2:
        start, stop = profile_batch
    else:
        raise ConfigError(message)
    if start < 0 or stop < start:
        raise ConfigError(message)
    return start, stop
