"""``model.summary()``: Keras 3's summary table, drawn with box characters and no extra dependency.

The table has one row per layer: name and class, output shape, parameter count and, for models that are not
a plain chain (several inputs, a layer with several inbound tensors, a shared layer), a *Connected to*
column of ``layer_name[node_index][tensor_index]``. Column widths, word wrapping and ``…`` truncation follow
the ``rich`` table Keras prints, so the text matches Keras's line for line.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.Input((4,)), loom.layers.Dense(8, name="hidden")], name="sequential")
    >>> model.summary(line_length=50)
    Model: "sequential"
    ┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━┳━━━━━━━━━┓
    ┃ Layer (type)        ┃ Output Shape   ┃ Param # ┃
    ┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━╇━━━━━━━━━┩
    │ hidden (Dense)      │ (None, 8)      │      40 │
    └─────────────────────┴────────────────┴─────────┘
     Total params: 40 (160.00 B)
     Trainable params: 40 (160.00 B)
     Non-trainable params: 0 (0.00 B)
"""

from __future__ import annotations

import re
import shutil
from typing import Any, Callable, Sequence

import torch

from loom import structure
from loom.callbacks import live_display
from loom.errors import ConfigError

_WORD = re.compile(r"\s*\S+\s*")


# --------------------------------------------------------------------------------------------- numbers
def readable_memory_size(num_bytes: float) -> str:
    """``356.0`` -> ``'356.00 B'``, ``2048`` -> ``'2.00 KB'`` (powers of 1024, as Keras)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if num_bytes / 1024 < 1:
            return f"{num_bytes:.2f} {unit}"
        num_bytes /= 1024
    return f"{num_bytes:.2f} PB"


def _count_and_size(weights: Sequence[Any]) -> tuple[int, float]:
    """Number of scalars and bytes of distinct weights (tensors or arrays)."""
    unique = {id(w): w for w in weights}.values()
    count = size = 0
    for w in unique:
        if isinstance(w, torch.Tensor):
            count += w.numel()
            size += w.numel() * w.element_size()
        elif hasattr(w, "size") and hasattr(w, "itemsize"):
            count += int(w.size)
            size += int(w.size) * int(w.itemsize)
    return count, float(size)


# ------------------------------------------------------------------------------------------ table text
def _divide(text: str, width: int) -> list[str]:
    """Split one line of text into pieces at word boundaries (rich's ``divide_line`` without folding)."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group(0)
        word_length = len(word.rstrip())
        if width - offset >= word_length:
            offset += len(word)
        elif word_length > width:
            if start:
                breaks.append(start)
            offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    bounds = [0, *breaks, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def _fit(text: str, width: int, justify: str) -> list[str]:
    """``text`` wrapped into lines of exactly ``width`` characters, too-long words ending in ``…``."""
    lines = []
    for raw in text.split("\n"):
        for piece in _divide(raw, width):
            piece = piece.rstrip()
            if len(piece) > width:
                piece = piece[:max(width - 1, 0)] + "…"
            pad = width - len(piece)
            if justify == "right":
                piece = " " * pad + piece
            elif justify == "center":
                piece = " " * (pad // 2) + piece + " " * (pad - pad // 2)
            else:
                piece = piece + " " * pad
            lines.append(piece)
    return lines


def _ratio_reduce(total: int, values: list[int]) -> list[int]:
    """Take ``total`` off ``values`` as evenly as possible (rich's ``ratio_reduce`` with equal ratios)."""
    remaining, ratio_left, out = total, sum(1 for v in values if v), []
    for value in values:
        if value and ratio_left > 0:
            cut = min(value, round(remaining / ratio_left))
            out.append(value - cut)
            remaining -= cut
            ratio_left -= 1
        else:
            out.append(value)
    return out


def _column_widths(line_length: int, positions: Sequence[float]) -> list[int]:
    """Widths (with one space of padding either side) of columns ending at ``positions``."""
    absolute = positions[-1] > 1
    widths, current = [], 0
    for pos in positions:
        width = (int(pos) if absolute else int(pos * line_length)) - current
        if width < 4:
            raise ConfigError(f"Insufficient width to print the summary: line_length={line_length}, "
                              f"positions={list(positions)} give a column of width {width} (at least 4 needed).")
        widths.append(width)
        current += width
    padded = [w + 2 for w in widths]
    room = line_length - (len(widths) + 1)  # what the borders leave
    padded = [min(w, room) for w in padded]
    if sum(padded) > room:
        padded = _ratio_reduce(sum(padded) - room, padded)
    return padded


def render_table(header: list[str], rows: list[list[str]], widths: list[int], justify: list[str]) -> list[str]:
    """The lines of a table with a heavy header box and a rule between rows (rich's ``HEAVY_HEAD``)."""
    def row_lines(cells: list[str], bar: str, bottom: bool = False) -> list[str]:
        wrapped = [_fit(cell, w - 2, j) for cell, w, j in zip(cells, widths, justify)]
        height = max(len(c) for c in wrapped)
        padded = []
        for cell, w in zip(wrapped, widths):
            blank = [" " * (w - 2)] * (height - len(cell))
            padded.append(blank + cell if bottom else cell + blank)  # header cells sit at the bottom
        return [bar + bar.join(" " + c[i] + " " for c in padded) + bar for i in range(height)]

    def rule(left: str, fill: str, mid: str, right: str) -> str:
        return left + mid.join(fill * w for w in widths) + right

    lines = [rule("┏", "━", "┳", "┓"), *row_lines(header, "┃", bottom=True), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        if i:
            lines.append(rule("├", "─", "┼", "┤"))
        lines.extend(row_lines(row, "│"))
    lines.append(rule("└", "─", "┴", "┘"))
    return lines


# ------------------------------------------------------------------------------------------- the model
def _is_sequential_like(model) -> bool:
    """Keras's rule: a chain (one node per depth, one inbound tensor each, no layer used twice)."""
    nodes_by_depth = getattr(model, "_nodes_by_depth", None)
    if not _is_functional(model) or not nodes_by_depth:
        return True
    nodes = []
    for group in nodes_by_depth.values():
        if len(group) > 1 or (len(group) == 1 and len(group[0].input_tensors) > 1):
            return False
        nodes += group
    node_ids = {id(n) for n in nodes}
    for layer in model.layers:
        if sum(1 for n in layer._inbound_nodes if id(n) in node_ids) > 1:
            return False
    return True


def _is_functional(model) -> bool:
    from loom.models.sequential import Sequential
    return not isinstance(model, Sequential) and getattr(model, "_runner", None) is not None


def _class_name(layer) -> str:
    """The class shown for a layer: a plain functional ``Model`` shows as ``Functional``, as in Keras."""
    from loom.models.functional import Model
    if type(layer) is Model and _is_functional(layer):
        return "Functional"
    return type(layer).__name__


def _format_shape(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _format_structure(formatted: Any) -> str:
    flat = structure.flatten(formatted)
    if len(flat) == 1:
        return flat[0]
    return str(formatted).replace("'", "")


def format_layer_shape(layer) -> str:
    """The output shape of ``layer``'s last call, or of its build shape, or ``'?'``."""
    from loom.symbolic import SymbolicTensor, infer_outputs
    if layer._inbound_nodes:
        outputs = layer._inbound_nodes[-1].outputs
        return _format_structure(structure.map_structure(
            lambda t: _format_shape(t.shape) if isinstance(t, SymbolicTensor) else str(t), outputs))
    inputs = getattr(layer, "_build_inputs", None)
    if inputs is None or not layer.built:
        return "?"
    try:
        _, specs, _ = infer_outputs(layer, (inputs,), {})
    except Exception:  # noqa: BLE001 - a shape that cannot be inferred shows as '?', as in Keras
        return "?"
    return _format_structure([_format_shape(shape) for shape, _ in specs])


class _SummaryTable:
    """Collects the rows of one model's summary."""

    def __init__(self, model, sequential_like: bool, show_trainable: bool, expand_nested: bool):
        self.sequential_like = sequential_like
        self.show_trainable = show_trainable
        self.expand_nested = expand_nested
        self.relevant = set()
        if not sequential_like:
            self.relevant = {id(n) for group in model._nodes_by_depth.values() for n in group}

    def connections(self, layer) -> str:
        parts = []
        for node in layer._inbound_nodes:
            if self.relevant and id(node) not in self.relevant:
                continue
            for t in node.input_tensors:
                origin, node_index, tensor_index = t._keras_history
                parts.append(f"{origin.name}[{node_index}][{tensor_index}]")
        return ", ".join(parts) or "-"

    def fields(self, layer, prefix: str) -> list[str]:
        params = f"{layer.count_params():,}" if getattr(layer, "built", True) else "0 (unbuilt)"
        fields = [f"{prefix}{layer.name} ({_class_name(layer)})", format_layer_shape(layer), params]
        if not self.sequential_like:
            fields.append(self.connections(layer))
        if self.show_trainable:
            fields.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        return fields

    def rows(self, layer, level: int = 0) -> list[list[str]]:
        prefix = "   " * level + "└ " if level else ""
        rows = [self.fields(layer, prefix)]
        sublayers = getattr(layer, "layers", None) if self.expand_nested else None
        for sub in sublayers or []:
            rows.extend(self.rows(sub, level + 1))
        return rows


def _optimizer_count_and_size(optimizer) -> tuple[int, float]:
    """Scalars and bytes of an optimizer's state, counted as Keras counts its ``optimizer.variables``.

    That is every tensor of :meth:`~loom.optimizers.Optimizer.get_state_tensors` (``iterations`` and the
    per-parameter slots) plus, for a float learning rate, the one float32 variable Keras keeps it in.
    ``iterations`` is an int32 variable in both (4 bytes).
    """
    tensors = dict(optimizer.get_state_tensors()) if hasattr(optimizer, "get_state_tensors") else {}
    tensors.pop("iterations", None)
    count, size = _count_and_size(list(tensors.values()))
    scalars = 1 + (not callable(getattr(optimizer, "_learning_rate", None)))
    return count + scalars, size + 4.0 * scalars


def _totals(model) -> list[str]:
    trainable, trainable_size = _count_and_size(model.trainable_weights)
    frozen, frozen_size = _count_and_size(model.non_trainable_weights)
    opt_count, opt_size, opt_built = 0, 0.0, False
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and optimizer is not None and getattr(optimizer, "built", False):
        opt_count, opt_size = _optimizer_count_and_size(optimizer)
        opt_built = True
    lines = [f" Total params: {trainable + frozen + opt_count:,} "
             f"({readable_memory_size(trainable_size + frozen_size + opt_size)})",
             f" Trainable params: {trainable:,} ({readable_memory_size(trainable_size)})",
             f" Non-trainable params: {frozen:,} ({readable_memory_size(frozen_size)})"]
    if opt_built:
        lines.append(f" Optimizer params: {opt_count:,} ({readable_memory_size(opt_size)})")
    return lines


def summary_lines(model, line_length: int | None = None, positions: Sequence[float] | None = None,
                  expand_nested: bool = False, show_trainable: bool = False) -> list[str]:
    """The lines :func:`print_summary` prints (same arguments, without ``print_fn``)."""
    sequential_like = _is_sequential_like(model)
    if sequential_like:
        default_length, default_positions = 88, [0.45, 0.80, 1.0]
        header, justify = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
        justify = ["left", "left", "right", "left"]
    positions = list(positions or default_positions)
    if show_trainable:
        default_length += 12
        positions = [p * 0.90 for p in positions] + [1.0]
        header.append("Trainable")
        justify.append("center")
    default_length = min(default_length, shutil.get_terminal_size().columns - 4)
    line_length = line_length or default_length
    widths = _column_widths(line_length, positions)

    table = _SummaryTable(model, sequential_like, show_trainable, expand_nested)
    rows = [row for layer in model.layers for row in table.rows(layer)]
    return [f'Model: "{model.name}"', *render_table(header, rows, widths, justify), *_totals(model)]


def print_summary(model, line_length: int | None = None, positions: Sequence[float] | None = None,
                  print_fn: Callable[[str], Any] | None = None, expand_nested: bool = False,
                  show_trainable: bool = False) -> None:
    """Print Keras's summary table of ``model``.

    Args:
        model: a loom ``Model`` (functional, ``Sequential`` or subclassed).
        line_length: total width of the table (default ``None``: 88, or 108 with a *Connected to* column,
            at most the terminal width minus 4, as Keras).
        positions: right edges of the columns as fractions of ``line_length`` (or absolute columns when the
            last is above 1); default ``None``: Keras's ``[0.45, 0.80, 1.0]`` or ``[0.3, 0.56, 0.74, 1.0]``.
        print_fn: called once with the whole summary, lines joined by newlines and ending with one, as Keras 3
            (default ``None``: ``print`` of each line on a terminal; in a Jupyter notebook the table is
            displayed once as HTML rendered by ``rich``, with the plain text beside it).
        expand_nested: also list the layers of nested models, indented with ``└`` (default ``False``).
        show_trainable: add a *Trainable* column (``Y``/``N``, ``-`` for layers without weights;
            default ``False``).

    Raises:
        ConfigError: ``line_length`` and ``positions`` leave a column narrower than 4 characters.
    """
    lines = summary_lines(model, line_length=line_length, positions=positions, expand_nested=expand_nested,
                          show_trainable=show_trainable)
    if print_fn is None and live_display.in_notebook():
        live_display.show_html(lines)
        return
    if print_fn is not None:
        print_fn("\n".join(lines) + "\n")
        return
    for line in lines:
        print(line)
