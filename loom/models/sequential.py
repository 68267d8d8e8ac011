"""``Sequential``: a plain stack of layers, each feeding the next.

Example:
    >>> import loom
    >>> model = loom.Sequential([
    ...     loom.layers.Dense(32, activation="relu", input_shape=(64,)),
    ...     loom.layers.Dense(10, activation="softmax"),
    ... ])
    >>> model.output_shape
    (None, 10)
    >>> model.add(loom.layers.Dense(2))
    >>> [layer.name for layer in model.layers]
    ['dense', 'dense_1', 'dense_2']
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
from torch import nn

from loom import backend
from loom.errors import ConfigError, InputError
from loom.graph import GraphRunner, map_graph
from loom.layers.input_layer import InputLayer
from loom.layers.layer import Layer
from loom.layers.torch_module import TorchModuleWrapper
from loom.models.functional import Model
from loom.symbolic import SymbolicTensor


class Sequential(Model):
    """A linear stack of layers; its graph is built as soon as the input shape is known.

    The input shape comes from an ``loom.Input(...)`` first element, ``input_shape=`` on the first layer,
    :meth:`build`, or the first data it is called on.

    Args:
        layers: the initial layers (default ``None``). Plain ``torch.nn.Module``s are wrapped.
        name: the model's name (default ``'sequential'``...).
        trainable: default ``True``.
    """

    def __init__(self, layers: Iterable | None = None, name: str | None = None, **kwargs):
        super().__init__(name=name or backend.unique_name("sequential"), **kwargs)
        self._stack: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._stack_outputs: list[SymbolicTensor] = []
        for layer in layers or []:
            self.add(layer)

    @property
    def layers(self) -> list[Layer]:
        """The stacked layers (without the ``InputLayer``), as Keras 3."""
        return list(self._stack)

    def _sublayers(self) -> list[Layer]:
        return list(self._stack)

    def add(self, layer: Any) -> None:
        """Append a layer (a loom layer, a ``torch.nn.Module`` or an ``Input``)."""
        if isinstance(layer, SymbolicTensor) and layer.node is not None and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ConfigError(f"Sequential '{self.name}': an Input can only be the first element.")
            self._set_input(layer)
            return
        if isinstance(layer, nn.Module) and not isinstance(layer, Layer):
            layer = TorchModuleWrapper(layer)
        if not isinstance(layer, Layer):
            raise ConfigError(f"Sequential '{self.name}' only takes layers or torch.nn.Modules; got "
                              f"{type(layer).__name__}.")
        if any(l.name == layer.name for l in self._stack):
            raise ConfigError(f"Sequential '{self.name}' already has a layer named '{layer.name}'; names must be unique.")
        self._stack.append(layer)
        self.add_module(layer.name, layer)
        if self._input_layer is None and len(self._stack) == 1 and layer._batch_input_shape is not None:
            self._set_input(InputLayer(batch_shape=layer._batch_input_shape, dtype=_input_dtype(layer)))
        elif self._input_layer is not None:
            self._extend_graph()

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self._stack:
            raise ConfigError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        del self._modules[layer.name]
        if self._stack_outputs and len(self._stack_outputs) > len(self._stack):
            out = self._stack_outputs.pop()
            layer._inbound_nodes.remove(out.node)
            self._refresh_runner()
        return layer

    def build(self, input_shape: Any = None) -> None:
        """Build the graph for inputs of ``input_shape`` (with the batch dimension, e.g. ``(None, 64)``)."""
        if self._input_layer is None:
            if input_shape is None:
                raise ConfigError(f"Sequential '{self.name}'.build() needs input_shape, e.g. (None, 64).")
            self._set_input(InputLayer(batch_shape=tuple(input_shape)))

    def _set_input(self, input_layer: InputLayer) -> None:
        self._input_layer = input_layer
        self._extend_graph()

    def _extend_graph(self) -> None:
        x = self._stack_outputs[-1] if self._stack_outputs else self._input_layer.output_tensor
        for layer in self._stack[len(self._stack_outputs):]:
            x = layer(x)
            if not isinstance(x, SymbolicTensor):
                raise ConfigError(f"Sequential '{self.name}': layer '{layer.name}' returns several tensors; use "
                                  f"the functional API for multi-output layers.")
            self._stack_outputs.append(x)
        self._refresh_runner()

    def _refresh_runner(self) -> None:
        inp = self._input_layer.output_tensor
        out = self._stack_outputs[-1] if self._stack_outputs else inp
        self._input_kind, self._inputs, self._input_keys = "single", [inp], None
        self._output_kind, self._outputs, self._output_keys = "single", [out], None
        self._nodes, self._graph_layers = map_graph(self._inputs, self._outputs)
        self._runner = GraphRunner(self._inputs, self._outputs, self._nodes)
        self.built = bool(self._stack_outputs)

    def call(self, inputs, mask=None):
        if self._runner is None:
            self._build_from_data(inputs)
        return super().call(inputs)

    def __call__(self, *args, **kwargs):
        if self._input_layer is None and args:
            x = args[0]
            if isinstance(x, SymbolicTensor):
                self._set_input(InputLayer(batch_shape=x.shape, dtype=x.dtype))
            else:
                self._build_from_data(x)
        return super().__call__(*args, **kwargs)

    def _build_from_data(self, x: Any) -> None:
        if isinstance(x, (list, tuple, dict)):
            raise InputError(f"Sequential '{self.name}' takes one input array, got a {type(x).__name__}.")
        x = x if isinstance(x, torch.Tensor) else backend.to_tensor(x)
        dtype = x.dtype if not x.dtype.is_floating_point else None
        self._set_input(InputLayer(batch_shape=(None,) + tuple(x.shape[1:]), dtype=dtype))

    def get_config(self) -> dict:
        from loom.models.config import sequential_config
        return sequential_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "Sequential":
        from loom.models.config import sequential_from_config
        return sequential_from_config(cls, config, custom_objects=custom_objects, safe_mode=safe_mode)


def _input_dtype(layer: Layer) -> Any:
    """Integer inputs for layers that take ids (Embedding), float otherwise."""
    return "int32" if getattr(layer, "expects_integer_inputs", False) else None
