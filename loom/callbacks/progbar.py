"""``ProgbarLogger``: Keras's progress output for ``fit`` / ``evaluate`` / ``predict``.

* ``verbose=1`` (and ``'auto'``) on a terminal: a live bar redrawn with ``\\r``, with ETA, time per step and the
  running metrics. Redraws are throttled (at most one every :data:`REFRESH_SECONDS`), and only a redraw reads
  the lazy batch logs, so the bar forces at most a few device synchronisations per second.
* ``verbose=1`` in a Jupyter notebook: the same live bar, drawn by ``rich`` as HTML in one display area that
  each redraw replaces (:mod:`loom.callbacks.live_display`). On a terminal the live line is cut to the window's
  width, so it never wraps into stale lines; the final line is printed whole.
* Metrics keep the order they first appeared in (batch logs sorted by name, as Keras's), so the live line and
  the final line list them alike; ``val_*`` metrics are appended at the end of an epoch.
* ``verbose=1`` when stdout is not a terminal (a log file, a pipe, CI): no redraws; one line per epoch with
  the final metrics, the form Keras prints at the end of an epoch, without colour codes.
* ``verbose=2``: one line per epoch: ``32/32 - 1s - 12ms/step - loss: 0.6931``.

Example:
    >>> import io, contextlib
    >>> bar = Progbar(target=4, verbose=2)
    >>> out = io.StringIO()
    >>> with contextlib.redirect_stdout(out):
    ...     bar.update(4, [("loss", 0.5)], finalize=True)
    >>> out.getvalue().split(" - ")[0], out.getvalue().strip().split(" - ")[-1]
    ('4/4', 'loss: 0.5000')
"""

from __future__ import annotations

import logging
import math
import shutil
import sys
import time
from typing import Any, Iterable

from loom import config
from loom.callbacks import live_display
from loom.callbacks.callback import Callback

#: Seconds between two redraws of a live bar (each redraw reads the metrics from the device).
REFRESH_SECONDS = 0.2
_BAR_WIDTH = 20


def _format_value(value: Any) -> str:
    if isinstance(value, (int, float)):
        return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"
    return str(value)


def _format_time_per_step(seconds: float, unit: str = "step") -> str:
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _format_eta(seconds: float) -> str:
    if seconds > 3600:
        return "%d:%02d:%02d" % (seconds // 3600, (seconds % 3600) // 60, seconds % 60)
    if seconds > 60:
        return "%d:%02d" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


class Progbar:
    """A progress bar over ``target`` steps (``None`` when unknown), as ``keras.utils.Progbar``.

    Values passed to :meth:`update` are shown as given (they are already running averages).

    Args:
        target: the number of steps, or ``None`` (default) when unknown.
        verbose: 1 (default) for a bar, 2 for one line at the end, 0 for nothing.
        interactive: redraw live; default: whether stdout is a terminal or a Jupyter kernel's.
        unit_name: the unit shown in the time per unit (default ``'step'``).
    """

    def __init__(self, target: int | None = None, verbose: int = 1, interactive: bool | None = None,
                 unit_name: str = "step"):
        self.target = target
        self.verbose = verbose
        self.unit_name = unit_name
        kind = live_display.output_kind()
        if interactive is None:
            interactive = kind != "plain"
        self.interactive = interactive and config.is_interactive_logging_enabled()
        self._notebook = live_display.NotebookLine() if (
            self.interactive and kind == "notebook" and verbose == 1) else None
        self._start = time.monotonic()
        self._time_after_first = None
        self._prev_width = 0
        self._values: dict[str, Any] = {}

    def time_per_step(self, current: int, now: float) -> float:
        if not current:
            return 0.0
        if self._time_after_first is not None and current > 1:
            return (now - self._time_after_first) / (current - 1)
        return (now - self._start) / current

    def mark_step(self, current: int) -> None:
        """Note the end of step ``current`` without drawing (for the time-per-step estimate)."""
        if current == 1 and self._time_after_first is None:
            self._time_after_first = time.monotonic()

    def update(self, current: int, values: Iterable[tuple[str, Any]] | None = None,
               finalize: bool = False) -> None:
        """Show ``current`` steps done with ``values`` (``[(name, value)]``); ``finalize`` ends the bar."""
        for name, value in values or ():
            self._values[name] = value  # a known name keeps its place; a new one goes last
        now = time.monotonic()
        self.mark_step(current)
        per_step = self.time_per_step(current, now)
        if self.verbose == 1:
            if self.interactive or finalize:
                self._write(self._bar_line(current, per_step, now, finalize), finalize)
        elif self.verbose == 2 and finalize:
            count = self._count(current)
            line = f"{count} - {now - self._start:.0f}s - {_format_time_per_step(per_step, self.unit_name)}"
            self._write(line + self._metrics(), True)

    def _count(self, current: int) -> str:
        if self.target:
            digits = int(math.log10(self.target)) + 1
            return f"%{digits}d/%d" % (current, self.target)
        return "%7d/Unknown" % current

    def _metrics(self) -> str:
        return "".join(f" - {k}: {_format_value(v)}" for k, v in self._values.items())

    def _bar_line(self, current: int, per_step: float, now: float, finalize: bool) -> str:
        color = self.interactive
        bold, green, grey, reset = ("\x1b[1m", "\x1b[32m", "\x1b[37m", "\x1b[0m") if color else ("",) * 4
        line = f"{bold}{self._count(current)}{reset} "
        if self.target:
            done = int(_BAR_WIDTH * min(current, self.target) / self.target)
            if done:
                line += f"{green}{'━' * done}{reset}"
            line += f"{grey}{'━' * (_BAR_WIDTH - done)}{reset}"
        if self.target and not finalize:
            timing = _format_eta(per_step * (self.target - current))
        else:
            timing = f"{now - self._start:.0f}s"
        line += f" {bold}{timing}{reset} {_format_time_per_step(per_step, self.unit_name)}" + self._metrics()
        return line

    def _write(self, line: str, finalize: bool) -> None:
        if not config.is_interactive_logging_enabled():  # loom.config.disable_interactive_logging()
            logging.getLogger("loom").info(line)
            return
        if self._notebook is not None:
            self._notebook.show(line)
            return
        if self.interactive:
            if not finalize:  # a live line longer than the window would wrap and leave stale lines
                line = live_display.clip(line, shutil.get_terminal_size().columns - 1)
            visible = live_display.visible_length(line)
            pad = " " * max(0, self._prev_width - visible)
            self._prev_width = visible
            sys.stdout.write("\r" + line + pad + ("\n" if finalize else ""))
        else:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()


class ProgbarLogger(Callback):
    """Prints progress and metrics to stdout; ``fit``/``evaluate``/``predict`` add one when ``verbose != 0``.

    Reads ``self.params`` (``verbose``: ``'auto'`` means 1; ``epochs``; ``steps`` per epoch).
    Validation inside ``fit`` prints nothing of its own: its ``val_*`` metrics appear on the epoch line.
    """

    rank_zero_only = True  # distributed runs: only rank 0 writes / prints

    def __init__(self):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.target = None
        self.progbar: Progbar | None = None
        self._in_fit = False
        self._seen = 0
        self._next_draw = 0.0
        self.skip_batch_hooks = False

    def set_params(self, params: dict[str, Any]) -> None:
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else int(verbose)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")
        interactive = live_display.output_kind() != "plain"
        # Without a live bar there is nothing to do per batch, unless the epoch length must be counted.
        self.skip_batch_hooks = self.target is not None and not (self.verbose == 1 and interactive)

    def _new_bar(self) -> None:
        self.progbar = Progbar(self.target, verbose=self.verbose)
        self._seen = 0
        self._next_draw = time.monotonic() + REFRESH_SECONDS

    def _batch_done(self, batch: int, logs: Any) -> None:
        self._seen = batch + 1
        bar = self.progbar
        if bar is None:
            return
        if self._seen == 1:
            bar.mark_step(1)
        if self.verbose == 1 and bar.interactive:
            now = time.monotonic()
            if now >= self._next_draw:
                self._next_draw = now + REFRESH_SECONDS
                bar.update(self._seen, sorted(logs.items()) if logs else None)

    def _finish(self, logs: dict | None) -> None:
        if self.progbar is None or not self.verbose:
            return
        target = self.target if self.target is not None else self._seen
        self.progbar.target = target
        self.progbar.update(target, _epoch_order(logs or {}), finalize=True)
        self.progbar = None

    # ------------------------------------------------------------------------------------------- hooks
    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._new_bar()
        if self.verbose and self.epochs > 1:
            sys.stdout.write(f"Epoch {epoch + 1}/{self.epochs}\n")
            sys.stdout.flush()

    def on_train_batch_end(self, batch, logs=None):
        self._batch_done(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finish(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._batch_done(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finish(logs)

    def on_predict_begin(self, logs=None):
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_done(batch, None)

    def on_predict_end(self, logs=None):
        self._finish(None)


def _epoch_order(logs: dict) -> list[tuple[str, Any]]:
    """Epoch logs sorted by name, ``val_*`` last: the order of the live line, then validation."""
    return sorted(logs.items(), key=lambda item: (item[0].startswith("val_"), item[0]))
