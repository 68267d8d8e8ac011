"""Keras's single-batch API: ``train_on_batch`` / ``test_on_batch`` / ``predict_on_batch``.

:class:`BatchAPI` is a mixin of :class:`~loom.training.trainer.Trainable`. Each call runs one batch through
the same step functions as ``fit`` / ``evaluate`` / ``predict`` (:mod:`loom.training.step_builder`) and
returns its loss and metrics (or outputs) as those do.
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.training import compile_utils
from loom.training.data import ArrayData
from loom.training.logs import RunningLoss
from loom.training.step_builder import on_model_device
from loom.layers.modes import keeps_modes
from loom.traceback_utils import filter_traceback


class BatchAPI:
    """``train_on_batch`` / ``test_on_batch`` / ``predict_on_batch`` for :class:`loom.Model`."""

    @filter_traceback
    @keeps_modes
    @on_model_device(needs_compile=True)
    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: dict | None = None,
                       return_dict: bool = False):
        """One gradient update on one batch; returns its loss (and metrics), as ``evaluate``."""
        data = self._source(x, y, sample_weight, class_weight, None, shuffle=False, needs_targets=True)
        step = self._train_step()
        self.reset_metrics()
        custom = self._custom_train()
        self._enter_mode(True, custom)
        running = self._one_batch(data, step, custom)
        self.eval()  # the modes before the call come back on return (keeps_modes), even after an error
        return self._batch_result(running, return_dict)

    @filter_traceback
    @keeps_modes
    @on_model_device(needs_compile=True)
    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False):
        """Loss (and metrics) of one batch in test mode."""
        data = self._source(x, y, sample_weight, None, None, shuffle=False, needs_targets=True)
        self.reset_metrics()
        custom = self._custom_test()
        self._enter_mode(False, custom)
        return self._batch_result(self._one_batch(data, self._test_step(), custom), return_dict)

    @filter_traceback
    @keeps_modes
    @on_model_device
    def predict_on_batch(self, x: Any):
        """Outputs for one batch as NumPy."""
        data = self._source(x, None, None, None, None, shuffle=False, needs_targets=False)
        self._enter_mode(False, self._custom_predict())
        with torch.no_grad():
            forward = self._predict_forward()
            outs = forward(data.xs)
        return getattr(forward, "pack", self._pack_outputs)([backend.to_numpy(o) for o in outs])

    def _one_batch(self, data: ArrayData, step, custom: bool) -> RunningLoss:
        running = self._running(custom, self._plan[0].names, 1)
        total, parts = step(data.xs, data.ys, data.sws)
        running.record(total, data.num_samples, parts if self._plan[0].track_each else None)
        return running

    def _batch_result(self, running: RunningLoss, return_dict: bool):
        logs = dict(sorted(self._read_logs(running, self._plan[1]).items()))
        if return_dict:
            return logs
        values = [logs[k] for k in compile_utils.ordered_names(logs, *self._plan)]
        return values[0] if len(values) == 1 else values
