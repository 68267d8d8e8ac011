"""The one training loop: ``compile`` / ``fit`` / ``evaluate`` / ``predict`` with Keras 3's semantics.

:class:`Trainable` is a mixin of :class:`loom.Model`. Reading order of a ``fit``:

1. **Data, once.** ``x`` / ``y`` / ``sample_weight`` are validated (sample counts, dict keys, shapes against
   the model's inputs and outputs, dtypes), converted, and moved to the model's device a single time.
   ``validation_split`` sets apart the *last* fraction, as Keras. ``class_weight`` becomes per-sample weights.
   A model on a GPU runs each loop in loom's device scope (``step_builder.on_model_device``), so the tensors
   its layers make with loom's ops (``ops.arange``, ``random.normal``) are created there too.
2. **Plan, once.** Losses, loss weights and metrics are resolved per output into straight-line step
   functions (:mod:`loom.training.step`): forward through ``model.run_flat``, loss, backward, optimizer step,
   metric updates. Optional: ``torch.autocast`` (mixed precision) and ``jit_compile``, which compiles the
   whole gradient step into one graph (:mod:`loom.training.compiled_step`).
3. **Loop.** Each epoch permutes the data once on the device and takes contiguous slices as batches. Loss
   values go into a device buffer (:mod:`loom.training.logs`); sample-additive metrics (accuracy, mae...)
   are updated in chunks of batches; per-batch callbacks receive a lazy ``logs`` mapping that reads the device
   only when a callback looks (the progress bar: a few times per second). The epoch end reads everything
   once. **NaN policy:** that epoch-end read checks the loss buffer, and a NaN or infinite loss raises
   :class:`~loom.errors.TrainingError` naming the epoch and the first bad batch: no extra synchronisation,
   at the cost of finishing the epoch. Per-batch logs carry NaN as a value, so a callback that stops training
   on it (``TerminateOnNaN``) ends the run gracefully instead, as in Keras.
4. **Callbacks** see ``on_*`` hooks in Keras's order; ``History`` is returned.
5. **Distributed** (under ``torchrun``; :mod:`loom.distributed`): the train step's forward goes through DDP,
   each rank takes its share of the data, epoch-end logs are summed over ranks (one ``all_reduce``), and a
   ``stop_training`` set on any rank is agreed every few steps and at epoch end (:mod:`loom.distributed.stopping`),
   so no rank is left waiting in a collective. Without a process group these hooks do nothing.

The rest of :class:`Trainable` comes from mixins, one concept each: ``compile`` and its configuration
(:mod:`loom.training.compile_api`), how the steps are built and cached (:mod:`loom.training.step_builder`),
the ``*_on_batch`` API (:mod:`loom.training.batch_api`), data preparation (:mod:`loom.training.prepare`) and
Keras's step API (:mod:`loom.training.custom_step`).

Example:
    >>> import numpy as np, loom
    >>> loom.utils.set_random_seed(0)
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(3,))])
    >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    >>> x, y = np.random.rand(64, 3), np.random.rand(64, 1)
    >>> history = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    >>> sorted(history.history)
    ['loss', 'mae', 'val_loss', 'val_mae']
    >>> len(model.evaluate(x, y, verbose=0))
    2
    >>> model.predict(x[:5], verbose=0).shape
    (5, 1)
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from loom import backend, config, inference
from loom.callbacks.callback_list import CallbackList
from loom.distributed import context as dist_context, reduce as dist_reduce, sharding, stopping
from loom.distributed import strided
from loom.errors import ConfigError, InputError
from loom.training import auto_jit, compile_utils, validation
from loom.training.batch_api import BatchAPI
from loom.training.compile_api import CompileAPI
from loom.training.data import ArrayData, EpochIterator
from loom.training.logs import LazyLogs, RunningLoss
from loom.training.prepare import DataPreparation
from loom.training.custom_step import StepAPI, StepLogs
from loom.training.step_builder import StepBuilder, on_model_device
from loom.layers import onednn_weights
from loom.layers.modes import custom_step_modes, keeps_modes
from loom.traceback_utils import filter_traceback


class Trainable(CompileAPI, StepBuilder, BatchAPI, DataPreparation, StepAPI):
    """``compile`` / ``fit`` / ``evaluate`` / ``predict`` for :class:`loom.Model` (see the module docstring)."""

    # ============================================================================================== fit
    @filter_traceback
    @keeps_modes
    @on_model_device(needs_compile=True)
    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None, epochs: int = 1,
            verbose: int | str = "auto", callbacks: Any = None, validation_split: float = 0.0,
            validation_data: Any = None, shuffle: bool = True, class_weight: dict | None = None,
            sample_weight: Any = None, initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int | list = 1):
        """Train for ``epochs`` epochs; returns the :class:`~loom.callbacks.History`.

        Args:
            x: arrays / tensors (one, a list, or a dict keyed by input name), a torch ``Dataset`` or
                ``DataLoader``, a Keras-style ``Sequence``, or a generator of ``(x, y[, sample_weight])``.
            y: targets like ``x`` (keyed by output name for dicts); ``None`` when ``x`` yields them.
            batch_size: samples per step (default ``None``: 32; not for DataLoaders and generators).
            epochs: index of the last epoch (default 1).
            verbose: ``'auto'`` (default, = 1), 0 silent, 1 progress bar, 2 one line per epoch.
            callbacks: a list of :class:`~loom.callbacks.Callback` (default ``None``).
            validation_split: the last fraction of in-memory data kept for validation (default 0).
            validation_data: ``(x, y)``, ``(x, y, sample_weight)`` or a data source (overrides the split).
            shuffle: reshuffle in-memory data every epoch (default ``True``; also shuffles a torch Dataset, and a
                PyDataset's batch order, as Keras).
            class_weight: ``{class index: weight}`` weighting the loss per sample (single output; default None).
            sample_weight: per-sample (or per-timestep) loss weights, like ``y`` (default ``None``).
            initial_epoch: epoch to start from, for resuming (default 0).
            steps_per_epoch: batches per epoch (default ``None``: one pass over the data).
            validation_steps: batches per validation run (default ``None``: all).
            validation_batch_size: default ``None``: ``batch_size``.
            validation_freq: validate every N epochs, or at the epochs in a list (1-based; default 1).

        Returns:
            A :class:`~loom.callbacks.History`: its ``history`` maps each logged name (``loss``, the compiled
            metrics, ``val_*`` with validation) to a list of one value per epoch run.

        Raises:
            ConfigError: ``fit`` before ``compile``, or an argument out of range (``epochs``, ``batch_size``,
                ``validation_split``...).
            InputError: data that cannot be read, or inputs and targets with different numbers of samples.
            ShapeError: data whose shape does not match the model's inputs or outputs.
            TrainingError: the loss became NaN or infinite.

        Example:
            >>> import numpy as np, loom
            >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), epochs=2, verbose=0)
            >>> sorted(history.history), len(history.history["loss"])
            (['loss'], 2)
        """
        batch_size, epochs, steps_per_epoch, validation_steps, validation_batch_size = validation.check_fit_arguments(
            batch_size, epochs, steps_per_epoch, validation_steps, validation_batch_size, validation_freq,
            initial_epoch, validation_split)
        train, val_source, val_tuple = self._fit_sources(x, y, sample_weight, class_weight, validation_split,
                                                          validation_data, batch_size, shuffle)
        batch_size = batch_size or 32
        val_batch_size = validation_batch_size or batch_size
        train = sharding.shard_for_training(train, batch_size)  # unchanged unless distributed
        if val_source is not None:
            val_source = sharding.shard_for_evaluation(val_source, val_batch_size)
        epochs, steps_per_epoch = config.fit_limits(epochs, steps_per_epoch)
        train_epochs = EpochIterator(train, batch_size, shuffle, steps_per_epoch)
        auto_jit.decide_for(self, "train", train_epochs.steps and train_epochs.steps * (epochs - initial_epoch))
        step = self._train_step()
        if self.optimizer is not None and self.optimizer.built:
            self.optimizer.check_state_matches_weights()
        loss_plan, metric_plan = self._plan
        callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=self,
                                 verbose=verbose, epochs=epochs, steps=train_epochs.steps)
        callbacks.set_validation_data(val_tuple)
        device = self._device()

        self.stop_training = False
        self._initial_epoch = None
        callbacks.on_train_begin()
        initial_epoch = self._initial_epoch or initial_epoch  # set by a callback resuming a run (BackupAndRestore)
        epoch_logs: dict = {}
        vote = stopping.StopVote()
        custom = self._custom_train()
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            running = self._running(custom, loss_plan.names, train_epochs.steps)
            where = _where(epoch)  # names the first non-finite batch when the epoch-end read raises
            wants_logs = callbacks.wants_train_batch_logs
            callbacks.on_epoch_begin(epoch)
            self._enter_mode(True, custom)
            for batch_index, (xs, ys, sws) in enumerate(train_epochs):
                waiting = self.stop_training  # distributed: stepping on until the ranks agree to stop
                if not waiting:
                    callbacks.on_train_batch_begin(batch_index)
                total, parts = step(xs, ys, sws)
                running.record(total, xs[0].shape[0], parts if loss_plan.track_each else None)
                if wants_logs and not waiting:
                    callbacks.on_train_batch_end(batch_index, LazyLogs(
                        lambda n=running.count: self._read_logs(running, metric_plan, n)))
                if vote.stop_now(batch_index, self.stop_training):
                    self.stop_training = True
                    break
            if vote.distributed:  # a rank's wish since the last agreement point ends the run on every rank
                self.stop_training = stopping.agree_any(self.stop_training)
            self.eval()
            if running.count == 0:
                break
            epoch_logs = self._read_logs(running, metric_plan, None, None if self.stop_training else where)
            if val_source is not None and _should_validate(epoch, validation_freq):
                # A fresh iterator each time: validation_steps restarts from the first batch, as Keras.
                val_epochs = EpochIterator(val_source, val_batch_size, False, validation_steps)
                val_logs = self._test_loop(val_epochs, callbacks)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            epoch_logs = dict(sorted(epoch_logs.items()))
            callbacks.on_epoch_end(epoch, epoch_logs)
            self.stop_training = stopping.agree_any(self.stop_training)  # any rank's wish, on every rank
            if self.stop_training or train_epochs.exhausted:
                break
        if hasattr(self.optimizer, "finalize_variable_values"):
            self.optimizer.finalize_variable_values()  # use_ema: the weights become their averages, as Keras
        callbacks.on_train_end(epoch_logs)
        return self.history

    # ========================================================================================= evaluate
    @filter_traceback
    @keeps_modes
    @on_model_device(needs_compile=True)
    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int | str = "auto",
                 sample_weight: Any = None, steps: int | None = None, callbacks: Any = None,
                 return_dict: bool = False):
        """Loss and metrics on the data, in test mode.

        Distributed: each rank evaluates its block of in-memory rows (a ``DistributedSampler`` share of a
        Dataset / DataLoader) and the sums are all-reduced, so every rank returns the global values.

        Args:
            x: inputs, in any form :meth:`fit` takes (arrays, a list or dict of them, a torch ``Dataset`` or
                ``DataLoader``, a ``PyDataset`` or a generator; default ``None``).
            y: targets like ``x``; ``None`` (default) when ``x`` yields them.
            batch_size: samples per step (default ``None``: 32; not for DataLoaders and generators).
            verbose: ``'auto'`` (default, = 1), 0 silent, 1 progress bar, 2 one line at the end.
            sample_weight: per-sample loss weights, like ``y`` (default ``None``).
            steps: batches to evaluate (default ``None``: the whole data).
            callbacks: a list of :class:`~loom.callbacks.Callback` (default ``None``).
            return_dict: return ``{name: value}`` instead of a scalar or list (default ``False``).

        Returns:
            The loss alone (no metrics, one output), else a list in Keras's order (``loss`` first; see
            :attr:`metrics_names`), or a dict with ``return_dict=True``.

        Raises:
            ConfigError: ``evaluate`` before ``compile``, or a bad ``batch_size`` / ``steps``.
            InputError: data that cannot be read, or missing targets.
            ShapeError: data whose shape does not match the model's inputs or outputs.

        Example:
            >>> import numpy as np, loom
            >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(1, kernel_initializer="zeros")])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> model.evaluate(np.ones((4, 3)), np.ones((4, 1)), verbose=0, return_dict=True)
            {'loss': 1.0, 'mae': 1.0}
        """
        batch_size, steps = validation.check_loop_arguments("evaluate", batch_size, steps)
        source = self._source(x, y, sample_weight, None, batch_size, shuffle=False, needs_targets=True)
        source = sharding.shard_for_evaluation(source, batch_size or 32)
        epochs = EpochIterator(source, batch_size or 32, False, steps)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                 steps=epochs.steps)
        logs = self._test_loop(epochs, callbacks)
        if return_dict:
            return logs
        names = compile_utils.ordered_names(logs, *self._plan)
        values = [logs[k] for k in names]
        return values[0] if len(values) == 1 else values

    def _test_loop(self, epochs: EpochIterator, callbacks: CallbackList) -> dict[str, float]:
        loss_plan, metric_plan = self._plan
        auto_jit.decide_for(self, "test", epochs.steps)
        step = self._test_step()
        custom = self._custom_test()
        self._enter_mode(False, custom)
        self.reset_metrics()
        running = self._running(custom, loss_plan.names, epochs.steps)
        wants_logs = callbacks.wants_test_batch_logs
        callbacks.on_test_begin()
        for batch_index, (xs, ys, sws) in enumerate(epochs):
            callbacks.on_test_batch_begin(batch_index)
            total, parts = step(xs, ys, sws)
            running.record(total, xs[0].shape[0], parts if loss_plan.track_each else None)
            if wants_logs:
                callbacks.on_test_batch_end(batch_index, LazyLogs(
                    lambda n=running.count: self._read_logs(running, metric_plan, n)))
        logs = dict(sorted(self._read_logs(running, metric_plan).items())) if running.count else {}
        callbacks.on_test_end(logs)
        return logs

    def _enter_mode(self, training: bool, custom: bool) -> None:
        """``train()`` / ``eval()`` for loom's own step; for a user's step, the modes Keras's loops give it."""
        if custom:
            custom_step_modes(self, training)
        elif training:
            self.train()
        else:
            self.eval()

    def _read_logs(self, running: RunningLoss, metric_plan, upto: int | None = None,
                   where=None) -> dict[str, float]:
        """The running means (one device read) and metric results, as floats.

        With ``where`` (training, at the end of an epoch) a non-finite loss raises ``TrainingError``; per-batch
        logs and evaluation report NaN as a value instead, so callbacks such as ``TerminateOnNaN`` can react.
        """
        if isinstance(running, StepLogs):  # a Keras-style step: the logs it returned
            return running.means()
        if upto is None and dist_context.is_distributed():  # epoch end: global values, one all_reduce
            return dist_reduce.global_logs(running, metric_plan, where)
        logs = running.means(upto, where, check=where is not None)
        for name, value in metric_plan.results().items():
            logs[name] = float(value)
        for metric in self._extra_metrics():  # Keras's default steps log every metric in self.metrics
            result = metric.result()
            items = result.items() if isinstance(result, dict) else [(metric.name, result)]
            logs.update((name, float(value)) for name, value in items)
        return logs

    def _extra_metrics(self) -> list:
        """The metrics assigned to the model or its layers (a custom ``test_step``'s PSNR tracker), beyond the
        loss and the compiled metrics, which the built-in step accounts for itself."""
        return [m for m in self.metrics if m is not self._loss_tracker and m is not self._compile_metrics]

    # ========================================================================================== predict
    @filter_traceback
    @keeps_modes
    @on_model_device
    def predict(self, x: Any, batch_size: int | None = None, verbose: int | str = "auto", steps: int | None = None,
                callbacks: Any = None):
        """Outputs for ``x`` as NumPy: an array, a list (several outputs) or a dict (dict outputs).

        Distributed: each rank predicts its contiguous block of in-memory rows, or every ``W``-th batch of
        any other source, and the parts are all-gathered, so every rank returns every sample once, in order.
        With ``steps`` the source is not split: each rank predicts everything it is given.

        Args:
            x: inputs, in any form :meth:`fit` takes (targets in a dataset or generator are ignored).
            batch_size: samples per step (default ``None``: 32; not for DataLoaders and generators). When no
                callback watches batches (``verbose=0``) and a graph model's layers never mix samples, consecutive
                batches of in-memory data run together while one layer's output stays within 1 MiB
                (:func:`loom.inference.merged_batch_size`; the same outputs up to float rounding).
            verbose: ``'auto'`` (default, = 1), 0 silent, 1 progress bar, 2 one line at the end.
            steps: batches to predict (default ``None``: the whole data).
            callbacks: a list of :class:`~loom.callbacks.Callback` (default ``None``).

        Returns:
            A NumPy array of shape ``(samples, ...)`` for a single-output model, a list of arrays for several
            outputs, or a dict of arrays keyed like the model's dict outputs.

        Raises:
            ConfigError: a bad ``batch_size`` or ``steps``.
            InputError: inputs that cannot be read.
            ShapeError: inputs whose shape does not match the model's inputs.

        Example:
            >>> import numpy as np, loom
            >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
            >>> model.predict(np.ones((5, 3)), verbose=0).shape
            (5, 2)
        """
        batch_size, steps = validation.check_loop_arguments("predict", batch_size, steps)
        source = self._source(x, None, None, None, batch_size, shuffle=False, needs_targets=False)
        block, gather = sharding.shard_for_prediction(source) if steps is None else (source, None)
        epochs = EpochIterator(block, batch_size or 32, False, steps)
        callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self, verbose=verbose, epochs=1,
                                 steps=epochs.steps)
        auto_jit.decide_for(self, "predict", epochs.steps)
        forward = self._predict_forward()
        if steps is None and gather is None and isinstance(block, ArrayData) and not callbacks.watches_predict_batches:
            epochs = EpochIterator(block, inference.merged_batch_size(forward, batch_size or 32), False)
        pack = getattr(forward, "pack", self._pack_outputs)
        wants_logs = callbacks.wants_predict_batch_logs
        self._enter_mode(False, self._custom_predict())
        collected: list[list[torch.Tensor]] | None = None
        sizes: list[int] = []
        callbacks.on_predict_begin()
        frozen = onednn_weights.frozen() if not callbacks.watches_predict_batches else contextlib.nullcontext()
        with torch.no_grad(), frozen:  # nothing between batches changes a weight: convolutions pack theirs once
            for batch_index, (xs, _, _) in enumerate(epochs):
                callbacks.on_predict_batch_begin(batch_index)
                outs = forward(xs)
                if collected is None:
                    collected = [[] for _ in outs]
                for bucket, out in zip(collected, outs):
                    bucket.append(out)
                sizes.append(int(outs[0].shape[0]))
                if wants_logs:
                    callbacks.on_predict_batch_end(batch_index, {"outputs": pack(outs)})
        callbacks.on_predict_end()
        outputs = None if collected is None else [torch.cat(parts) for parts in collected]
        if gather == "round_robin":  # every rank gets every batch back, in the source's order
            outputs = strided.gather_round_robin(outputs, sizes)
        if outputs is None:
            raise InputError("predict() got no data: the input yielded no batches.")
        if gather == "blocks":  # every rank gets all rows back, in order
            outputs = [dist_reduce.gather_rows(out, source.num_samples) for out in outputs]
        return pack([backend.to_numpy(out) for out in outputs])


# ============================================================================================ helpers
def _where(epoch: int):
    return lambda batch: f"epoch {epoch + 1}, batch {batch}"


def _should_validate(epoch: int, freq: int | list) -> bool:
    if isinstance(freq, int):
        if freq < 1:
            raise ConfigError(f"validation_freq must be a positive integer or a list of epochs; got {freq}.")
        return (epoch + 1) % freq == 0
    if isinstance(freq, (list, tuple, set)):
        return (epoch + 1) in freq
    raise ConfigError(f"validation_freq must be an int or a list of epochs; got {type(freq).__name__}.")
