"""Stable names for every weight of a model, shared by the safetensors and Keras ``.weights.h5`` formats.

Names follow Keras 3's weight files, not layer names (which are automatic and differ between two builds
of the same architecture): the layers of a functional or sequential model are named after their class,
counted in model order (``dense``, ``dense_1``, ``conv2d``...; a nested functional model is
``functional``); sublayers of other layers by their attribute name. So the first Dense's kernel is
``dense/kernel`` in a safetensors file and ``layers/dense/vars/0`` in a Keras ``.weights.h5`` file.
A weight shared by several layers is listed once, under its first owner.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.layers.Dense(3, input_shape=(2,)), loom.layers.Dense(1)])
    >>> [s.key for s in weight_slots(model)]
    ['dense/kernel', 'dense/bias', 'dense_1/kernel', 'dense_1/bias']
    >>> weight_slots(model)[2].h5_path
    'layers/dense_1/vars/0'
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass
from typing import Iterator

import torch

from loom.layers.layer import Layer


@dataclass(frozen=True)
class LayerGroup:
    """One layer at its place in the model: ``parts`` are ``(container, name)`` steps from the root."""

    layer: Layer
    parts: tuple[tuple[str | None, str], ...]

    @property
    def key_prefix(self) -> str:
        return "/".join(name for _, name in self.parts)

    @property
    def h5_group(self) -> str:
        return "/".join(f"{c}/{n}" if c else n for c, n in self.parts)


@dataclass(frozen=True)
class WeightSlot:
    """One weight: its safetensors ``key``, Keras ``h5_path``, owner layer, attribute name and tensor."""

    key: str
    h5_path: str
    group: LayerGroup
    name: str
    tensor: torch.Tensor

    @property
    def owner(self) -> Layer:
        return self.group.layer

    def to_keras(self) -> torch.Tensor:
        """The value in Keras's layout, detached, on the CPU and contiguous."""
        return self.owner.weight_to_keras(self.name, self.tensor.detach()).cpu().contiguous()

    def from_keras(self, value: torch.Tensor) -> torch.Tensor:
        """A Keras-layout value in the stored layout (shape not checked here)."""
        return self.owner.weight_from_keras(self.name, value)

    def keras_shape(self) -> tuple[int, ...]:
        return tuple(self.owner.weight_to_keras(self.name, self.tensor.detach()).shape)


def _keras_name(layer: Layer) -> str:
    """Keras's ``to_snake_case`` of the class name (``Conv2D`` -> ``conv2d``); ``functional`` for ``Model``."""
    from loom.models.functional import Model
    if type(layer) is Model:
        return "functional"
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(layer).__name__)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _children(layer: Layer) -> Iterator[tuple[str | None, str, Layer]]:
    from loom.models.functional import Model
    if isinstance(layer, Model) and layer.is_graph_network:
        counts: collections.Counter = collections.Counter()
        for child in layer.layers:
            base = _keras_name(child)
            n = counts[base]
            counts[base] += 1
            yield "layers", base if n == 0 else f"{base}_{n}", child
    else:
        for attr, child in layer.named_children():
            if isinstance(child, Layer):
                yield None, attr, child
            elif isinstance(child, (torch.nn.ModuleList, torch.nn.ModuleDict)):
                yield from _container_children(attr, child)


def _container_children(attr: str, container: torch.nn.Module) -> Iterator[tuple[str | None, str, Layer]]:
    """Layers kept in a list attribute, named as Keras's saving names them: ``cells/lstm_cell``,
    ``cells/lstm_cell_1``... (the snake-cased class name, counted within the list)."""
    counts: collections.Counter = collections.Counter()
    for child in container.children():
        if isinstance(child, Layer):
            base = _keras_name(child)
            n = counts[base]
            counts[base] += 1
            yield attr, base if n == 0 else f"{base}_{n}", child


def _keras_vars(layer: Layer) -> str:
    """Where Keras keeps a layer's own variables: recurrent layers keep theirs in their ``cell``."""
    from loom.layers.rnn_base import RecurrentLayer
    return "cell/vars" if isinstance(layer, RecurrentLayer) else "vars"


def layer_groups(root: Layer) -> list[LayerGroup]:
    """Every layer reachable from ``root`` (``root`` first, depth first), each once."""
    seen: set[int] = set()
    out: list[LayerGroup] = []

    def visit(layer: Layer, parts: tuple) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        out.append(LayerGroup(layer, parts))
        for container, name, child in list(_children(layer)):
            visit(child, parts + ((container, name),))

    visit(root, ())
    return out


def weight_slots(root: Layer, with_shared: bool = False) -> list[WeightSlot]:
    """Every weight of ``root`` with its stable key (see the module docstring).

    A weight that a later layer lists again (``SpectralNormalization`` lists its wrapped layer's kernel as
    its own) keeps its place in that layer's Keras ``vars`` numbering, as Keras writes it under every layer
    that lists it. With ``with_shared`` (default ``False``) those repeats are slots too, with the first
    owner's key and their own ``h5_path``: what a Keras ``.weights.h5`` file holds.
    """
    first_key: dict[int, str] = {}
    slots = []
    for group in layer_groups(root):
        layer = group.layer
        own = layer._own_weights(layer._saved_weight_names())  # Keras's save_own_variables order
        vars_group = f"{group.h5_group}/{_keras_vars(layer)}" if group.parts else _keras_vars(layer)
        prefix = group.key_prefix
        for index, (name, tensor) in enumerate(own + layer._foreign_parameters()):
            h5 = f"{vars_group}/{index}"
            if id(tensor) in first_key:
                if with_shared:
                    slots.append(WeightSlot(first_key[id(tensor)], h5, group, name, tensor))
                continue
            first_key[id(tensor)] = f"{prefix}/{name}" if prefix else name
            slots.append(WeightSlot(first_key[id(tensor)], h5, group, name, tensor))
    return slots
