"""``Input``: where a functional graph starts.

Example:
    >>> import loom
    >>> x = loom.Input(shape=(28, 28), name="image")
    >>> x.shape, x.dtype, x.name
    ((None, 28, 28), 'float32', 'image')
"""

from __future__ import annotations

from typing import Any, Iterable

from loom.errors import ConfigError
from loom.graph import Node
from loom.layers.layer import Layer
from loom.symbolic import SymbolicTensor


class InputLayer(Layer):
    """The layer behind :func:`Input`: no weights, one node, one symbolic output.

    Args:
        shape: the shape without the batch dimension; ``None`` for unknown sizes (default ``None``).
        batch_size: a fixed batch size (default ``None``: any).
        dtype: the input dtype (default ``'float32'``).
        sparse: accepted for Keras compatibility; must be ``False`` (default ``None``).
        batch_shape: the full shape with the batch dimension, instead of ``shape`` (default ``None``).
        name: the layer's name (default ``'input_layer'``, ``'input_layer_1'``...).
        input_shape: Keras 2's name for ``shape`` (default ``None``).
        batch_input_shape: Keras 2's name for ``batch_shape`` (default ``None``).
        **kwargs: other base layer arguments.

    Input shape:
        none: the layer is fed data directly by the model.

    Output shape:
        ``(batch_size, *shape)``, or ``batch_shape``.

    Returns:
        The data it is fed, unchanged (in a graph: the model's symbolic input).

    Raises:
        ConfigError: neither ``shape`` nor ``batch_shape``, or ``sparse=True``.

    Example:
        >>> import loom
        >>> loom.layers.InputLayer(shape=(28, 28, 1)).output.shape
        (None, 28, 28, 1)
    """

    def __init__(self, shape: Iterable | None = None, batch_size: int | None = None, dtype: Any = None,
                 sparse: bool | None = None, batch_shape: Iterable | None = None, name: str | None = None,
                 input_shape: Iterable | None = None, batch_input_shape: Iterable | None = None, **kwargs):
        super().__init__(name=name, dtype=dtype, **kwargs)
        shape = shape if shape is not None else input_shape
        batch_shape = batch_shape if batch_shape is not None else batch_input_shape
        if sparse:
            raise ConfigError(f"InputLayer '{self.name}': sparse inputs are not supported.")
        if batch_shape is None:
            if shape is None:
                raise ConfigError(f"InputLayer '{self.name}': give shape= (without the batch dimension).")
            if isinstance(shape, int):
                shape = (shape,)
            try:
                batch_shape = (batch_size,) + tuple(shape)
            except TypeError as e:
                raise ConfigError(f"InputLayer '{self.name}': shape must be a tuple of ints or None, "
                                  f"got {shape!r}.") from e
        for d in batch_shape:
            if d is not None and (not isinstance(d, int) or d < 0):
                raise ConfigError(f"InputLayer '{self.name}': dimensions must be non-negative ints or None, "
                                  f"got shape {tuple(batch_shape)}.")
        self._batch_input_shape = tuple(batch_shape)
        self.built = True
        tensor = SymbolicTensor(self._batch_input_shape, self._dtype, name=self.name)
        Node(self, (), {}, tensor)
        tensor.node = self._inbound_nodes[0]
        self.output_tensor = tensor

    def call(self, inputs):
        return inputs

    @property
    def batch_shape(self) -> tuple:
        return self._batch_input_shape

    def get_config(self) -> dict:
        return {"batch_shape": list(self._batch_input_shape), "dtype": self.dtype, "name": self.name}


def Input(shape: Iterable | None = None, batch_size: int | None = None, dtype: Any = None,
          sparse: bool | None = None, batch_shape: Iterable | None = None, name: str | None = None,
          tensor: Any = None) -> SymbolicTensor:
    """Start a functional graph: a symbolic tensor of ``shape`` (batch dimension ``None``).

    Args:
        shape: the shape without the batch dimension, ``None`` for unknown sizes (default ``None``).
        batch_size: a fixed batch size (default ``None``).
        dtype: ``'float32'`` (default), ``'int32'``, ``'int64'``...
        sparse: Keras compatibility; must be falsy (default ``None``).
        batch_shape: the full shape including the batch dimension (default ``None``).
        name: the input's name, also its key when a model is fed a dict (default automatic).
        tensor: not supported; must be ``None``.

    Example:
        >>> import loom
        >>> loom.Input((None,), dtype="int32", name="words").shape
        (None, None)
    """
    if tensor is not None:
        raise ConfigError("Input(tensor=...) is not supported; pass shape= and feed the data when calling.")
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, sparse=sparse, batch_shape=batch_shape,
                      name=name).output_tensor
