"""``Sequential``: a plain stack of layers, each feeding the next.

Example:
    >>> import loom
    >>> loom.backend.clear_session()  # fresh automatic names
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
from loom.graph import GraphRunner, build_graph
from loom.layers.input_layer import InputLayer
from loom.layers.layer import Layer
from loom.layers.torch_module import TorchModuleWrapper
from loom.models.functional import Model
from loom.symbolic import SymbolicTensor
from loom.variables import name_scope


class Sequential(Model):
    """A linear stack of layers; its graph is built as soon as the input shape is known.

    The input shape comes from an ``loom.Input(...)`` first element, ``input_shape=`` on the first layer,
    :meth:`build`, or the first data it is called on.

    Args:
        layers: the initial layers (default ``None``). Plain ``torch.nn.Module``s are wrapped.
        name: the model's name (default ``'sequential'``...).
        **kwargs: ``trainable`` (default ``True``), ``dtype``.
    """

    def __init__(self, layers: Iterable | None = None, name: str | None = None, **kwargs):
        if name is None:
            name = backend.unique_name("sequential" if type(self) is Sequential
                                       else backend.snake_case(type(self).__name__))
        super().__init__(name=name, **kwargs)
        self._stack: list[Layer] = []
        self._input_layer: InputLayer | None = None
        self._stack_outputs: list[SymbolicTensor] = []
        for layer in layers or []:
            self.add(layer, rebuild=False)
        self._maybe_rebuild()

    @property
    def layers(self) -> list[Layer]:
        """The stacked layers (without the ``InputLayer``), as Keras 3."""
        return list(self._stack)

    def _sublayers(self) -> list[Layer]:
        return list(self._stack)

    def add(self, layer: Any, rebuild: bool = True) -> None:
        """Append a layer (a loom layer, a ``torch.nn.Module`` or an ``Input``).

        Args:
            layer: the layer to append.
            rebuild: extend the graph now when the input shape is known (default ``True``).

        Raises:
            ConfigError: not a layer, a second Input, or a name already in the model.
        """
        if isinstance(layer, SymbolicTensor) and layer.node is not None and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ConfigError(f"Sequential '{self.name}': an Input can only be the first element; this model "
                                  f"already has {'an input' if self._input_layer else 'layers'}.")
            self._input_layer = layer
            return
        if isinstance(layer, nn.Module) and not isinstance(layer, Layer):
            layer = TorchModuleWrapper(layer)
        if not isinstance(layer, Layer):
            raise ConfigError(f"Sequential '{self.name}' only takes layers or torch.nn.Modules; got "
                              f"{type(layer).__name__}.")
        if any(l.name == layer.name for l in self._stack):
            raise ConfigError(f"Sequential '{self.name}' already has a layer named '{layer.name}'; names must be "
                              f"unique. Pass name= to the layer.")
        if self._input_layer is None and not self._stack and layer._batch_input_shape is not None:
            self._input_layer = InputLayer(batch_shape=layer._batch_input_shape, dtype=_input_dtype(layer))
        self._stack.append(layer)
        self._register_layer(layer)
        if rebuild:
            self._maybe_rebuild()
        else:
            self._invalidate()

    def pop(self, rebuild: bool = True) -> Layer:
        """Remove and return the last layer.

        Raises:
            ConfigError: the model has no layers.
        """
        if not self._stack:
            raise ConfigError(f"Sequential '{self.name}' has no layers to pop.")
        layer = self._stack.pop()
        self._unregister_layer(layer)
        if len(self._stack_outputs) > len(self._stack):
            out = self._stack_outputs.pop()
            layer._inbound_nodes.remove(out.node)
        if rebuild:
            self._maybe_rebuild()
        else:
            self._invalidate()
        return layer

    def _invalidate(self) -> None:
        """Forget the compiled graph until the next rebuild (after ``add``/``pop`` with ``rebuild=False``)."""
        self._runner = None
        self.built = False

    def build(self, input_shape: Any = None) -> None:
        """Build the graph for inputs of ``input_shape`` (with the batch dimension, e.g. ``(None, 64)``).

        Raises:
            ConfigError: no shape given and none known, or a shape different from the model's input.
        """
        if self._input_layer is None:
            if input_shape is None:
                raise ConfigError(f"Sequential '{self.name}'.build() needs input_shape, e.g. (None, 64).")
            dtype = _input_dtype(self._stack[0]) if self._stack else None
            self._input_layer = InputLayer(batch_shape=tuple(input_shape), dtype=dtype)
        elif input_shape is not None and tuple(input_shape) != tuple(self._input_layer.batch_shape):
            raise ConfigError(f"Sequential '{self.name}' already has input shape {self._input_layer.batch_shape}; "
                              f"cannot build it for {tuple(input_shape)}.")
        self._maybe_rebuild()

    def _maybe_rebuild(self) -> None:
        """(Re)build the graph when the input and at least one layer are known, as Keras does."""
        if self._input_layer is None and self._stack and isinstance(self._stack[0], Model) \
                and self._stack[0].is_graph_network and len(self._stack[0].inputs) == 1:
            first = self._stack[0].inputs[0]
            self._input_layer = InputLayer(batch_shape=first.shape, dtype=first.dtype)
        if self._input_layer is None or not self._stack:
            self._invalidate()
            return
        backend.unique_name("functional")  # Keras builds an inner Functional here; keep auto-names in step
        x = self._stack_outputs[-1] if self._stack_outputs else self._input_layer.output_tensor
        for layer in self._stack[len(self._stack_outputs):]:
            with name_scope(self.name, self):  # Keras's weight paths: 'sequential/dense/kernel'
                x = layer(x)
            if not isinstance(x, SymbolicTensor):
                raise ConfigError(f"Sequential '{self.name}': layer '{layer.name}' returns several tensors; use "
                                  f"the functional API for multi-output layers.")
            self._stack_outputs.append(x)
        inp = self._input_layer.output_tensor
        self._input_kind, self._inputs, self._input_keys = "single", [inp], None
        self._output_kind, self._outputs, self._output_keys = "single", [self._stack_outputs[-1]], None
        graph = build_graph(self._inputs, self._outputs)
        self._graph_layers = graph.layers
        self._nodes = graph.nodes
        self._nodes_by_depth = graph.nodes_by_depth
        self._runner = GraphRunner(self._inputs, self._outputs, graph.nodes)
        self.built = True

    def _input_shape_matches(self, expected: tuple, shape: tuple) -> bool:
        """Only the rank and the last axis must match, as in Keras, where a Sequential runs its layers without
        checking the Input's other sizes: an FFN ``Sequential`` built on one sequence length (or on a shape probe)
        takes any other length; the layers still check what they need."""
        return len(shape) == len(expected) and expected[-1] in (None, shape[-1])

    def call(self, inputs, mask=None):
        if self._runner is None:
            self._build_from_data(inputs)
        return super().call(inputs)

    def __call__(self, *args, **kwargs):
        if self._runner is None and args:
            x = args[0]
            if isinstance(x, SymbolicTensor):
                if self._input_layer is None:
                    self._input_layer = InputLayer(batch_shape=x.shape, dtype=x.dtype)
                self._maybe_rebuild()
            else:
                self._build_from_data(x)
        return super().__call__(*args, **kwargs)

    def _build_from_data(self, x: Any) -> None:
        if self._input_layer is None:
            if isinstance(x, (list, tuple, dict)) and not _is_numeric_rows(x):
                raise InputError(f"Sequential '{self.name}' takes one input array, got a {type(x).__name__}.")
            x = x if isinstance(x, torch.Tensor) else backend.to_tensor(x)
            dtype = _input_dtype(self._stack[0]) if self._stack else None
            if dtype is not None and x.dtype.is_floating_point:
                dtype = None  # float data for an integer-input layer: let the model's input check say so
            self._input_layer = InputLayer(batch_shape=(None,) + tuple(x.shape[1:]), dtype=dtype)
        self._maybe_rebuild()
        if self._runner is None:
            raise ConfigError(f"Sequential '{self.name}' has no layers; add() some before calling it.")

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


def _is_numeric_rows(x: Any) -> bool:
    """A nested Python list of numbers (one array), not a list of several inputs."""
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    return isinstance(x, (int, float)) and not isinstance(x, bool)
