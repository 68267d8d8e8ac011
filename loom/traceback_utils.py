"""Tracebacks without loom's internal frames, as Keras filters its own (switch: :mod:`loom.config`).

An error raised while ``fit`` / ``evaluate`` / ``predict`` / ``compile`` / ``save`` or a layer call runs is
re-raised by the public entry point with the frames of files inside the ``loom`` package taken out of its
traceback: what is left is the user's code, third-party code it reached (torch's own frames included) and
the one line of the entry point that re-raised it. When every frame was loom's, the innermost one (where the
error was raised) stays. ``loom.config.disable_traceback_filtering()`` shows full tracebacks again.

Example:
    >>> import loom
    >>> def broken():
    ...     raise ValueError("bad")
    >>> try:
    ...     filter_traceback(broken)()
    ... except ValueError as e:
    ...     frames = [frame.f_code.co_name for frame, _ in traceback.walk_tb(e.__traceback__)]
    >>> frames[-1]
    'broken'
"""

from __future__ import annotations

import functools
import os
import traceback
import types
from typing import Any, Callable, TypeVar

from loom import config

F = TypeVar("F", bound=Callable[..., Any])

_LOOM_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def is_internal(filename: str) -> bool:
    """Whether ``filename`` is a module of the ``loom`` package (its frames are filtered)."""
    return os.path.abspath(filename).startswith(_LOOM_DIR)


def filtered(tb: types.TracebackType | None) -> types.TracebackType | None:
    """A copy of the traceback ``tb`` without loom's frames (the innermost frame when none is left)."""
    frames = list(traceback.walk_tb(tb))
    out = None
    for frame, line in reversed(frames):
        if not is_internal(frame.f_code.co_filename):
            out = types.TracebackType(out, frame, frame.f_lasti, line)
    if out is None and frames:
        frame, line = frames[-1]
        out = types.TracebackType(None, frame, frame.f_lasti, line)
    return out


def filter_traceback(fn: F) -> F:
    """Decorate a public entry point so errors leave it with loom's frames filtered out."""

    @functools.wraps(fn)
    def entry_point(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised unchanged, only its traceback is shorter
            if not config.is_traceback_filtering_enabled():
                raise
            tb = filtered(e.__traceback__)
            try:
                raise e.with_traceback(tb)  # this line is the one frame of loom's left in the traceback
            finally:
                del tb, e  # no frame keeps the traceback (and its locals) alive

    return entry_point  # type: ignore[return-value]
