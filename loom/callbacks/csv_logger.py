"""``CSVLogger``: one CSV row per epoch (``epoch`` then every log key), Keras's format.

Unlike Keras, the file is rewritten atomically at each epoch end (rows are kept in memory; a CSV log is
small), so a crash never leaves a half-written row, and a run resumed by
:class:`~loom.callbacks.BackupAndRestore` continues the file exactly where the restored epoch ended.

Example:
    >>> import os, tempfile, numpy as np, loom
    >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> _ = model.fit(np.ones((8, 2)), np.ones((8, 1)), epochs=2, verbose=0,
    ...               callbacks=[loom.callbacks.CSVLogger(path)])
    >>> open(path).read().splitlines()[0]
    'epoch,loss,val_loss'
"""

from __future__ import annotations

import collections.abc
import csv
import io
import os
from typing import Any

import numpy as np

from loom.callbacks.callback import Callback
from loom.io_utils import atomic_write, remove_stale_temporaries


class CSVLogger(Callback):
    """Stream epoch results to a CSV file.

    Args:
        filename: the CSV file (its directory is created if needed).
        separator: the column separator (default ``','``).
        append: keep what the file already holds and add rows after it (default ``False``: start afresh).
    """

    rank_zero_only = True  # distributed runs: only rank 0 writes / prints

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.keys: list[str] | None = None
        self._prefix = ""
        self._header = ""
        self._rows: list[str] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        remove_stale_temporaries(self.filename)  # left by a process killed while writing
        self._prefix = ""
        if self.append and os.path.exists(self.filename):
            with open(self.filename, newline="") as f:
                self._prefix = f.read()
        self.keys = None
        self._header = ""
        self._rows = []

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
            if not self._prefix.split("\n", 1)[0]:
                self._header = self._format({"epoch": "epoch", **{k: k for k in self.keys}}, header=True)
        row = {"epoch": epoch, **{k: _cell(logs.get(k, "NA")) for k in self.keys}}
        self._rows.append(self._format(row))
        self._write()

    def _format(self, row: dict[str, Any], header: bool = False) -> str:
        class Dialect(csv.excel):
            delimiter = self.sep

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["epoch"] + (self.keys or []), dialect=Dialect)
        if header:
            writer.writeheader()
        else:
            writer.writerow(row)
        return buffer.getvalue()

    def _write(self) -> None:
        directory = os.path.dirname(os.path.abspath(self.filename))
        os.makedirs(directory, exist_ok=True)
        text = self._prefix + self._header + "".join(self._rows)
        atomic_write(self.filename, text.encode("utf-8"))

    def state_dict(self) -> dict[str, Any]:
        return {"keys": self.keys, "prefix": self._prefix, "header": self._header, "rows": list(self._rows)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.keys = state.get("keys")
        self._prefix = state.get("prefix", "")
        self._header = state.get("header", "")
        self._rows = list(state.get("rows", []))
        if self._rows or self._header:
            self._write()


def _cell(value: Any) -> Any:
    """Keras's cell format: strings as they are, sequences as ``"[a, b]"``, numbers as they are."""
    if isinstance(value, str):
        return value
    if isinstance(value, collections.abc.Iterable) and not (isinstance(value, np.ndarray) and value.ndim == 0):
        return f'"[{", ".join(map(str, value))}]"'
    return value
