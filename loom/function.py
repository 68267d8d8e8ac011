"""``Function``: a callable graph of operations from placeholder inputs to outputs, as ``keras.Function``.

It is the graph part of a functional model without the model's training API: ``Function(inputs, outputs)``
runs the computation that connects ``inputs`` (``loom.Input`` placeholders) to ``outputs`` on real tensors.

Example:
    >>> import torch, loom
    >>> x = loom.Input((2,))
    >>> y = loom.ops.add(x, x)
    >>> f = loom.Function(x, y)
    >>> f(torch.ones(1, 2)).tolist()
    [[2.0, 2.0]]
"""

from __future__ import annotations

from typing import Any

from loom import structure
from loom.errors import GraphError
from loom.symbolic import SymbolicTensor, is_symbolic

__all__ = ["Function"]


class Function:
    """A graph of layers and operations, callable on tensors (see the module docstring).

    Args:
        inputs: a placeholder (``loom.Input``), or a list / dict of them.
        outputs: placeholders computed from ``inputs`` (one, or a list / dict).
        name: the function's name (default ``None``).

    Example:
        >>> import loom
        >>> a, b = loom.Input((3,)), loom.Input((3,))
        >>> f = loom.Function([a, b], loom.ops.multiply(a, b), name="product")
        >>> len(f.operations), tuple(f.outputs[0].shape)
        (3, (None, 3))
    """

    def __init__(self, inputs: Any, outputs: Any, name: str | None = None) -> None:
        from loom.models import Model
        for t in structure.flatten([inputs, outputs]):
            if not isinstance(t, SymbolicTensor):
                raise GraphError(f"Function: inputs and outputs must be loom.Input placeholders or what layers "
                                 f"return for them; got {type(t).__name__}.")
        self.name = name
        self._structure_in, self._structure_out = inputs, outputs
        self._graph = Model(inputs, outputs, name=name or "function")

    @property
    def inputs(self) -> list:
        """The input placeholders, flattened."""
        return structure.flatten(self._structure_in)

    @property
    def outputs(self) -> list:
        """The output placeholders, flattened."""
        return structure.flatten(self._structure_out)

    @property
    def input(self) -> Any:
        """The inputs as given (one placeholder, or their list / dict)."""
        return self._structure_in

    @property
    def output(self) -> Any:
        """The outputs as given."""
        return self._structure_out

    @property
    def operations(self) -> list:
        """The graph's layers (input layers first), in the order they run."""
        return list(self._graph.layers)

    def call(self, inputs: Any) -> Any:
        """Run the graph on real tensors (or NumPy arrays)."""
        return self._graph(inputs)

    def __call__(self, inputs: Any) -> Any:
        if structure.any_leaf(is_symbolic, inputs):
            return self._graph(inputs)
        return self.call(inputs)

    def compute_output_spec(self, inputs: Any) -> Any:
        """Output placeholders for placeholder ``inputs`` (shape inference only)."""
        return self._graph.compute_output_spec(structure.map_structure(lambda t: tuple(t.shape), inputs))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shapes for inputs of ``input_shape``."""
        return self._graph.compute_output_shape(input_shape)

    def get_config(self) -> dict:
        """The graph's configuration (as a functional model's)."""
        return self._graph.get_config()

    def __repr__(self) -> str:
        return f"<Function name={self.name}, inputs={len(self.inputs)}, outputs={len(self.outputs)}>"
