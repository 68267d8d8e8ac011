"""Where live output goes: a Jupyter kernel's display area (redrawn in place) or a terminal line (clipped).

:func:`output_kind` tells the progress bar and ``model.summary()`` whether they run in a notebook kernel, an
interactive terminal or neither. In a notebook, :class:`NotebookLine` shows one line rendered by ``rich``
(ANSI colours become HTML) in a display area that each :meth:`NotebookLine.show` replaces, so the bar is live
without the ``\\r`` trick a notebook cannot follow. In a terminal, :func:`clip` cuts a live line to the
window's width, so a redraw never wraps and leaves stale lines behind.

Example:
    >>> clip("\\x1b[1m12/50\\x1b[0m - loss: 0.1234", 10)
    '\\x1b[1m12/50\\x1b[0m - l…\\x1b[0m'
    >>> visible_length("\\x1b[1m12/50\\x1b[0m")
    5
"""

from __future__ import annotations

import io
import re
import sys
from typing import Any

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def in_notebook() -> bool:
    """Whether code runs inside a Jupyter kernel (an IPython ``ZMQInteractiveShell``), not a terminal."""
    if "IPython" not in sys.modules:
        return False
    shell = sys.modules["IPython"].get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def output_kind() -> str:
    """``'notebook'`` in a Jupyter kernel, ``'terminal'`` when stdout is a terminal, else ``'plain'``."""
    if in_notebook():
        return "notebook"
    if bool(getattr(sys.stdout, "isatty", lambda: False)()):
        return "terminal"
    return "plain"


def visible_length(line: str) -> int:
    """The number of characters ``line`` takes on screen (ANSI colour codes take none)."""
    return len(_ANSI.sub("", line))


def clip(line: str, width: int) -> str:
    """``line`` cut to ``width`` visible characters, the last one ``…``, colour codes kept and reset."""
    if visible_length(line) <= width:
        return line
    out, seen, pos = [], 0, 0
    for match in _ANSI.finditer(line):
        text = line[pos:match.start()]
        take = text[:max(0, width - 1 - seen)]
        out.append(take)
        seen += len(take)
        out.append(match.group())
        pos = match.end()
    rest = line[pos:]
    out.append(rest[:max(0, width - 1 - seen)])
    return "".join(out) + "…\x1b[0m"


class _Rendered:
    """A line as Jupyter shows it: ``text/html`` from rich and ``text/plain`` without colour codes."""

    def __init__(self, line: str):
        from rich.console import Console
        from rich.text import Text
        text = Text.from_ansi(line)
        self.plain = text.plain
        longest = max((len(row) for row in self.plain.splitlines()), default=0)
        console = Console(file=io.StringIO(), record=True, width=max(80, longest + 1),
                          force_terminal=False, force_jupyter=False, color_system="truecolor")
        console.print(text, soft_wrap=True)
        self.html = console.export_html(inline_styles=True, code_format=(
            "<pre style=\"white-space:pre;overflow-x:auto;line-height:normal;margin:0;"
            "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>"))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.plain, "text/html": self.html}


class NotebookLine:
    """One display area in the running notebook cell, replaced by each :meth:`show` (a live line)."""

    def __init__(self):
        self._handle = None

    def show(self, line: str) -> None:
        """Show ``line`` (ANSI colours allowed) in place of what this area showed before."""
        from IPython.display import display
        rendered = _Rendered(line)
        if self._handle is None:
            sys.stdout.flush()  # text printed before the bar stays above it
            self._handle = display(rendered, display_id=True)
        else:
            self._handle.update(rendered)


def show_html(lines: list[str]) -> None:
    """Display ``lines`` (a finished table) once in the running notebook cell, rendered by rich as HTML."""
    from IPython.display import display
    display(_Rendered("\n".join(lines)))
