"""``plot_model`` / ``model_to_dot``: draw a model's layer graph with Graphviz, as ``keras.utils.plot_model``.

:func:`model_to_dot` writes the DOT text itself (no pydot): one box per layer (a layer called several times,
a shared layer, is one box with several edges), an edge per tensor passed between layers, and, with
``expand_nested``, nested models drawn as clusters around their own layers. :func:`plot_model` renders it
with the Graphviz ``dot`` program to PNG, SVG, PDF... chosen by the file extension (``.dot`` writes the text).

Example:
    >>> import os, tempfile, loom
    >>> inputs = loom.Input((8,), name="features")
    >>> outputs = loom.layers.Dense(1, activation="sigmoid", name="score")(inputs)
    >>> model = loom.Model(inputs, outputs, name="scorer")
    >>> print(model_to_dot(model, show_layer_names=True).splitlines()[0])
    digraph "scorer" {
    >>> path = os.path.join(tempfile.mkdtemp(), "model.png")
    >>> _ = loom.utils.plot_model(model, to_file=path, show_shapes=True)
    >>> open(path, "rb").read(4)
    b'\\x89PNG'
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
from typing import Any

from loom.errors import ConfigError, LoomError
from loom.io_utils import atomic_write

_FORMATS = ("png", "svg", "pdf", "jpg", "jpeg", "gif", "ps", "eps", "bmp", "tif", "tiff", "dot")
_HEADER = "#37474f"
_SUBTLE = "#eceff1"


class GraphvizNotFoundError(LoomError, ImportError):
    """The Graphviz ``dot`` program is not installed (Keras raises ImportError here too)."""


class DotGraph(str):
    """DOT source text, with pydot's ``to_string()`` and ``create(prog, format)`` for Keras-style code."""

    def to_string(self) -> str:
        return str(self)

    def create(self, prog: str = "dot", format: str = "png") -> bytes:  # noqa: A002 - pydot's argument name
        """The rendered bytes (``format``: png, svg, pdf...)."""
        return render(self, format, prog)


# -------------------------------------------------------------------------------------------- DOT text
def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False, show_layer_names: bool = True,
                 rankdir: str = "TB", expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False) -> DotGraph:
    """The DOT text of ``model``'s layer graph.

    Args:
        model: a functional or ``Sequential`` model (a subclassed model is drawn as one box).
        show_shapes: show each layer's input and output shapes (default ``False``).
        show_dtype: show each layer's dtype (default ``False``).
        show_layer_names: show layer names besides class names (default ``True``).
        rankdir: ``'TB'`` (default, top to bottom), ``'LR'``, ``'BT'`` or ``'RL'``.
        expand_nested: draw nested models as clusters of their layers (default ``False``).
        dpi: resolution of rendered images (default 200).
        subgraph: accepted for Keras compatibility; ignored (default ``False``).
        show_layer_activations: show the activation of layers that have one (default ``False``).
        show_trainable: show whether each layer is trainable (default ``False``).

    Raises:
        ConfigError: a bad ``rankdir``, or a model that has no graph yet (not built).
    """
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ConfigError(f"rankdir must be one of 'TB', 'LR', 'BT', 'RL'; got {rankdir!r}.")
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                   show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    lines = [f"digraph {_quote(model.name)} {{",
             f'  graph [rankdir="{rankdir}", dpi={int(dpi)}, nodesep=0.35, ranksep=0.45, concentrate=false];',
             '  node [shape=plain, fontname="Helvetica", fontsize=11];',
             '  edge [color="#546e7a", arrowsize=0.7];']
    if getattr(model, "_runner", None) is None:
        lines.append(f'  "{_node_id("", model)}" [label={_label(model, [], options)}];')
    else:
        edges: dict[tuple, str] = {}
        _draw_model(model, "", expand_nested, options, lines, edges, indent="  ")
        lines += list(edges.values())
    lines.append("}")
    return DotGraph("\n".join(lines) + "\n")


def _draw_model(model: Any, prefix: str, expand: bool, options: dict, lines: list[str], edges: dict,
                indent: str) -> None:
    """Boxes for ``model``'s layers (clusters for nested models) and the edges between them.

    ``edges`` collects one edge per (tensor, consumer): a shared layer's calls each get their own edges.
    """
    nodes = [n for n in model._nodes]
    for layer in model.layers if _input_layers_listed(model) else _layers_with_inputs(model):
        calls = [n for n in nodes if n.layer is layer]
        if expand and _is_graph_model(layer):
            inner = prefix + f"m{id(layer)}_"
            lines.append(f"{indent}subgraph {_quote('cluster_' + inner)} {{")
            lines.append(f'{indent}  style="rounded,dashed"; color="#90a4ae"; margin=10;')
            # The title is a node above the inner inputs (not a cluster label), so edges route around it.
            title = f"{inner}title"
            lines.append(f'{indent}  "{title}" [label=<<b>{html.escape(layer.name)}</b> ({_class_name(layer)})>, '
                         f'shape=plaintext, fontcolor="#455a64"];')
            for tensor in layer._inputs:
                lines.append(f'{indent}  "{title}" -> "{_consumer(tensor.node.layer, 0, inner, expand)}" '
                             f'[style=invis];')
            _draw_model(layer, inner, expand, options, lines, edges, indent + "  ")
            lines.append(f"{indent}}}")
        else:
            lines.append(f'{indent}"{_node_id(prefix, layer)}" [label={_label(layer, calls, options)}];')
    entries = list(dict.fromkeys(_consumer(t.node.layer, 0, prefix, expand) for t in model._inputs
                                 if t.node is not None))
    if len(entries) > 1:  # keep the inputs left to right in the model's order
        lines.append(f'{indent}{{rank=same; ' + " -> ".join(f'"{e}"' for e in entries) + " [style=invis];}")
    for node in nodes:
        if node.is_input:
            continue
        for position, tensor in enumerate(node.input_tensors):
            if tensor.node is None:
                continue
            source = _producer(tensor, prefix, expand)
            target = _consumer(node.layer, position, prefix, expand)
            edges.setdefault((id(tensor), target), f'{indent}"{source}" -> "{target}";')


def _input_layers_listed(model: Any) -> bool:
    return any(type(layer).__name__ == "InputLayer" for layer in model.layers)


def _layers_with_inputs(model: Any) -> list[Any]:
    """``Sequential.layers`` leaves out its InputLayer (as Keras); the drawing shows it first."""
    inputs = [t.node.layer for t in model._inputs if t.node is not None]
    return inputs + [layer for layer in model.layers if layer not in inputs]


def _is_graph_model(layer: Any) -> bool:
    return getattr(layer, "_runner", None) is not None and hasattr(layer, "_nodes")


def _producer(tensor: Any, prefix: str, expand: bool) -> str:
    """The box that produced ``tensor``: inside an expanded nested model, its inner output layer's."""
    layer = tensor.node.layer
    if expand and _is_graph_model(layer):
        inner_tensor = layer._outputs[tensor.index] if tensor.index < len(layer._outputs) else layer._outputs[0]
        return _producer(inner_tensor, prefix + f"m{id(layer)}_", expand)
    return _node_id(prefix, layer)


def _consumer(layer: Any, position: int, prefix: str, expand: bool) -> str:
    """The box that receives input ``position`` of ``layer``: an expanded nested model's inner Input."""
    if expand and _is_graph_model(layer):
        inner_inputs = layer._inputs
        inner = inner_inputs[min(position, len(inner_inputs) - 1)].node.layer
        return _consumer(inner, 0, prefix + f"m{id(layer)}_", expand)
    return _node_id(prefix, layer)


def _class_name(layer: Any) -> str:
    """The class name, ``'Functional'`` for a plain functional ``Model`` (as Keras names it)."""
    name = type(layer).__name__
    return "Functional" if name == "Model" and _is_graph_model(layer) else name


def _node_id(prefix: str, layer: Any) -> str:
    return f"{prefix}{id(layer)}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------------------------- labels
def _label(layer: Any, calls: list, options: dict) -> str:
    """An HTML-like Graphviz table: name and class, then the details asked for."""
    cls = _class_name(layer)
    title = (f"<b>{html.escape(layer.name)}</b> ({cls})" if options["show_layer_names"] else f"<b>{cls}</b>")
    if len(calls) > 1:
        title += f' <font point-size="9">shared: {len(calls)} calls</font>'

    rows = [f'<tr><td colspan="2" bgcolor="{_HEADER}" cellpadding="6"><font color="white">{title}</font></td></tr>']
    if options["show_layer_activations"]:
        activation = _activation_name(layer)
        if activation:
            rows.append(f'<tr><td colspan="2">activation: {html.escape(activation)}</td></tr>')
    if options["show_shapes"]:
        inputs, outputs = _shapes(layer, calls)
        rows.append(f'<tr><td bgcolor="{_SUBTLE}">Input shape</td><td bgcolor="{_SUBTLE}">Output shape</td></tr>')
        rows.append(f"<tr><td>{_lines(inputs)}</td><td>{_lines(outputs)}</td></tr>")
    if options["show_dtype"]:
        rows.append(f'<tr><td colspan="2">dtype: {html.escape(str(getattr(layer, "dtype", "?")))}</td></tr>')
    if options["show_trainable"]:
        trainable = bool(getattr(layer, "trainable", True))
        color = "#2e7d32" if trainable else "#9e9e9e"
        rows.append(f'<tr><td colspan="2"><font color="{color}">'
                    f'{"trainable" if trainable else "frozen (not trainable)"}</font></td></tr>')
    return ('<<table border="0" cellborder="1" cellspacing="0" cellpadding="4" bgcolor="white">'
            + "".join(rows) + "</table>>")


def _activation_name(layer: Any) -> str | None:
    activation = getattr(layer, "activation", None)
    if activation is None:
        return None
    from loom import activations
    try:
        name = activations.serialize(activation)
    except Exception:  # noqa: BLE001 - a custom callable: fall back to its name
        name = getattr(activation, "__name__", None)
    return name if isinstance(name, str) else getattr(activation, "__name__", type(activation).__name__)


def _shapes(layer: Any, calls: list) -> tuple[str, str]:
    """Input and output shapes (``'multiple'`` when calls of a shared layer differ; ``'?'`` when unknown)."""
    if not calls:
        try:
            return _format(layer.input_shape), _format(layer.output_shape)
        except Exception:  # noqa: BLE001 - an unbuilt or subclassed layer
            return "?", "?"

    def describe(tensors) -> str:
        shapes = [t.shape for t in tensors]
        return _format(shapes[0] if len(shapes) == 1 else shapes)

    ins = {describe(n.input_tensors or n.output_tensors) for n in calls}
    outs = {describe(n.output_tensors) for n in calls}
    return (ins.pop() if len(ins) == 1 else "multiple"), (outs.pop() if len(outs) == 1 else "multiple")


def _lines(text: str) -> str:
    """Escaped text with one shape per line for lists of shapes."""
    return "<br/>".join(html.escape(part) for part in text.split("\n"))


def _format(shape: Any) -> str:
    if isinstance(shape, list):
        return "\n".join(_format(s) for s in shape)
    if isinstance(shape, tuple):
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    return str(shape)


# ------------------------------------------------------------------------------------------- rendering
def render(dot_text: str, format: str = "png", prog: str = "dot") -> bytes:  # noqa: A002
    """Run Graphviz on ``dot_text``; return the image bytes.

    Raises:
        GraphvizNotFoundError: the Graphviz program is not installed.
        ConfigError: Graphviz rejected the graph (its message is included).
    """
    executable = shutil.which(prog)
    if executable is None:
        raise GraphvizNotFoundError(f"plot_model needs the Graphviz '{prog}' program, which was not found on PATH. "
                                    f"Install it: `apt-get install graphviz` (Debian/Ubuntu), `brew install "
                                    f"graphviz` (macOS) or `conda install graphviz`.")
    proc = subprocess.run([executable, f"-T{format}"], input=dot_text.encode("utf-8"), capture_output=True,
                          timeout=120)
    if proc.returncode != 0:
        raise ConfigError(f"Graphviz failed to render the model graph: {proc.stderr.decode(errors='replace')[:500]}")
    return proc.stdout


def plot_model(model: Any, to_file: str | os.PathLike = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = True, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200, show_layer_activations: bool = False,
               show_trainable: bool = False, **kwargs: Any):
    """Draw ``model`` to ``to_file`` (PNG, SVG, PDF... by extension; ``.dot`` writes the DOT text).

    Arguments as :func:`model_to_dot`; ``to_file`` defaults to ``'model.png'``. The file is written
    atomically. Returns an ``IPython.display.Image`` for PNG/JPEG files when IPython is installed (so a
    notebook shows it, as Keras), else ``None``.

    Raises:
        GraphvizNotFoundError: Graphviz is not installed (the message says how to install it).
        ConfigError: an unknown extension or argument.
    """
    unknown = sorted(set(kwargs) - {"subgraph", "layer_range", "show_layer_activation"})
    if unknown:
        raise ConfigError(f"plot_model got unknown arguments {unknown}.")
    if kwargs.get("layer_range") is not None:
        raise ConfigError("plot_model(layer_range=...) is not supported by loom; plot the whole model.")
    path = os.fspath(to_file)
    extension = os.path.splitext(path)[1].lower().lstrip(".") or "png"
    if extension not in _FORMATS:
        raise ConfigError(f"plot_model cannot write '.{extension}' files; use one of {list(_FORMATS)}.")
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                       rankdir=rankdir, expand_nested=expand_nested, dpi=dpi,
                       show_layer_activations=show_layer_activations or kwargs.get("show_layer_activation", False),
                       show_trainable=show_trainable)
    data = dot.encode("utf-8") if extension == "dot" else render(dot, "jpeg" if extension == "jpg" else extension)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    atomic_write(path, data)
    if extension in ("png", "jpg", "jpeg"):
        try:
            from IPython.display import Image
        except ImportError:
            return None
        return Image(filename=path)
    return None
