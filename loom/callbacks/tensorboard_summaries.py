"""What the :class:`~loom.callbacks.TensorBoard` callback writes, as functions of a ``SummaryWriter``.

Each function writes one kind of TensorBoard data with ``torch.utils.tensorboard`` (no TensorFlow):
weight histograms and images, activation histograms (forward hooks on the layers while the model runs on
validation data), the op graph (``torch.jit.trace``), embeddings for the projector, and hyperparameters
for the HParams dashboard (``tensorboard``'s own hparams protos, so its plugin reads them).

Example:
    >>> import tempfile, loom
    >>> from torch.utils.tensorboard import SummaryWriter
    >>> model = loom.Sequential([loom.layers.Dense(2, input_shape=(3,), name="dense")])
    >>> with SummaryWriter(tempfile.mkdtemp()) as writer:
    ...     write_weight_histograms(writer, model, step=0)
    ['dense/kernel/histogram', 'dense/bias/histogram']
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Iterable

import numpy as np
import torch

from loom import structure
from loom.callbacks import tensorboard_graph
from loom.errors import ConfigError

#: Activation histograms use at most this many validation samples.
MAX_ACTIVATION_SAMPLES = 1000


def named_weights(model: Any) -> list[tuple[str, torch.Tensor]]:
    """``[('layer_name/weight_name', tensor in Keras's layout)]`` for every weight, in Keras order."""
    return [(f"{owner.name}/{name}", owner.weight_to_keras(name, tensor.detach()))
            for owner, name, tensor in model._weight_entries()]


def write_weight_histograms(writer: Any, model: Any, step: int, images: bool = False) -> list[str]:
    """Histogram (tag ``'<layer>/<weight>/histogram'``) and, with ``images``, an image of every weight."""
    tags = []
    for name, tensor in named_weights(model):
        if tensor.numel() == 0:
            continue
        tag = f"{name}/histogram"
        writer.add_histogram(tag, tensor.float().cpu(), step)
        tags.append(tag)
        if images:
            image = weight_image(tensor)
            if image is not None:
                writer.add_images(f"{name}/image", image, step, dataformats="NHWC")
    return tags


def weight_image(tensor: torch.Tensor) -> np.ndarray | None:
    """A weight as images ``(N, H, W, 1)`` scaled to [0, 1], as Keras draws them (``None`` when it cannot)."""
    w = tensor.float().cpu().squeeze()
    if w.dim() == 1:
        w = w.reshape(1, -1, 1, 1)
    elif w.dim() == 2:
        if w.shape[0] > w.shape[1]:
            w = w.t()
        w = w.reshape(1, w.shape[0], w.shape[1], 1)
    elif w.dim() == 3:
        w = w.permute(2, 0, 1).unsqueeze(-1)
    else:
        return None
    low, high = w.min(), w.max()
    w = (w - low) / (high - low) if high > low else torch.zeros_like(w)
    return w.numpy()


def write_activation_histograms(writer: Any, model: Any, x: Any, step: int, batch_size: int = 256) -> list[str]:
    """Histogram (tag ``'<layer>/activations'``) of each layer's output on up to 1,000 samples of ``x``."""
    x = structure.map_structure(lambda a: a[:MAX_ACTIVATION_SAMPLES], x)
    outputs: dict[str, list[torch.Tensor]] = {}
    handles = []
    for layer in _layers(model):
        if type(layer).__name__ == "InputLayer":
            continue

        def hook(module, args, output, name=layer.name):
            for t in structure.flatten(output):
                if isinstance(t, torch.Tensor) and t.is_floating_point():
                    outputs.setdefault(name, []).append(t.detach().float().cpu().reshape(-1))
        handles.append(layer.register_forward_hook(hook))
    try:
        model.predict(x, batch_size=batch_size, verbose=0)
    finally:
        for handle in handles:
            handle.remove()
    tags = []
    for name, parts in outputs.items():
        values = torch.cat(parts)
        if values.numel():
            tags.append(f"{name}/activations")
            writer.add_histogram(tags[-1], values, step)
    return tags


def _layers(model: Any) -> list[Any]:
    """The model's layers, nested models opened (their own layers follow them)."""
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        if getattr(layer, "layers", None):
            out += _layers(layer)
    return out


sample_inputs = tensorboard_graph.sample_args
write_graph = tensorboard_graph.write_graph


def write_embeddings(writer: Any, model: Any, step: int, metadata: Any = None,
                     embeddings_data: Any = None) -> list[str]:
    """Every ``Embedding`` layer's table for the projector (tag: the layer name), with metadata labels.

    Args:
        metadata: a file path (one label per row of the table; a header line when it has several columns) for
            every Embedding layer, or ``{layer name: path}`` (default ``None``).
        embeddings_data: input data; when given, each Embedding layer's outputs on it are written too (tag
            ``'<layer>_outputs'``), one point per token (default ``None``).
    """
    layers = [layer for layer in _layers(model) if type(layer).__name__ == "Embedding"]
    check_embeddings_metadata(metadata, [layer.name for layer in layers])
    tags = []
    for layer in layers:
        table = layer.embeddings.detach().float().cpu()
        path = metadata if isinstance(metadata, (str, os.PathLike)) else (metadata or {}).get(layer.name)
        labels, header = read_metadata(path, table.shape[0]) if path else (None, None)
        writer.add_embedding(table, metadata=labels, metadata_header=header, global_step=step, tag=layer.name)
        tags.append(layer.name)
    if embeddings_data is not None and layers:
        tags += _write_embedding_outputs(writer, model, layers, embeddings_data, step)
    return tags


def check_embeddings_metadata(metadata: Any, layer_names: Iterable[str]) -> None:
    """Raise if ``metadata`` names layers that are not Embedding layers of the model (as Keras)."""
    if metadata is None or isinstance(metadata, (str, os.PathLike)):
        return
    if not isinstance(metadata, dict):
        raise ConfigError(f"embeddings_metadata must be a file path or a dict {{layer name: path}}; got "
                          f"{type(metadata).__name__}.")
    unknown = sorted(set(metadata) - set(layer_names))
    if unknown:
        raise ConfigError(f"Unrecognized `Embedding` layer names passed to TensorBoard `embeddings_metadata`: "
                          f"{unknown}. Embedding layers of the model: {sorted(layer_names)}.")


def read_metadata(path: Any, rows: int) -> tuple[list | None, list | None]:
    """``(labels, header)`` from a metadata TSV; ``(None, None)`` with a warning when its rows do not match."""
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) == rows:
        return lines, None
    if len(lines) == rows + 1 and "\t" in lines[0]:
        return [line.split("\t") for line in lines[1:]], lines[0].split("\t")
    warnings.warn(f"TensorBoard: embeddings metadata {path} has {len(lines)} lines for {rows} embeddings; the "
                  f"labels are not used.", stacklevel=3)
    return None, None


def _write_embedding_outputs(writer: Any, model: Any, layers: list, data: Any, step: int) -> list[str]:
    outputs: dict[str, torch.Tensor] = {}
    handles = [layer.register_forward_hook(
        lambda module, args, out, name=layer.name: outputs.__setitem__(name, out.detach().float().cpu()))
        for layer in layers]
    try:
        model.predict(structure.map_structure(lambda a: a[:MAX_ACTIVATION_SAMPLES], data),
                      batch_size=MAX_ACTIVATION_SAMPLES, verbose=0)
    finally:
        for handle in handles:
            handle.remove()
    tags = []
    for name, out in outputs.items():
        tags.append(f"{name}_outputs")
        writer.add_embedding(out.reshape(-1, out.shape[-1]), global_step=step, tag=tags[-1])
    return tags


def check_hparams(hparams: Any) -> dict[str, Any]:
    """``hparams`` as a dict of str -> bool/int/float/str, or a ConfigError naming the bad entry."""
    if not isinstance(hparams, dict):
        raise ConfigError(f"hparams must be a dict {{name: value}}; got {type(hparams).__name__}.")
    out = {}
    for key, value in hparams.items():
        if isinstance(value, np.generic):
            value = value.item()
        if not isinstance(key, str) or not isinstance(value, (bool, int, float, str)):
            raise ConfigError(f"hparams entries must map a name to a bool, int, float or str; got "
                              f"{key!r}: {value!r}.")
        out[key] = value
    return out


def write_hparams(writer: Any, hparams: dict[str, Any], trial_id: str | None = None) -> None:
    """A session-start summary for TensorBoard's HParams plugin (its metrics: the scalars of the runs)."""
    from tensorboard.plugins.hparams import summary_v2
    writer.file_writer.add_summary(summary_v2.hparams_pb(check_hparams(hparams), trial_id=trial_id))
    writer.flush()
