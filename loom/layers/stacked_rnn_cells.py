"""``StackedRNNCells``: several cells run one after the other within each time step, as one cell.

Example:
    >>> import torch, loom
    >>> cells = StackedRNNCells([loom.layers.SimpleRNNCell(4), loom.layers.GRUCell(2)])
    >>> loom.layers.RNN(cells)(torch.randn(3, 5, 6)).shape
    torch.Size([3, 2])
"""

from __future__ import annotations

from typing import Any

from torch import nn

from loom.errors import ConfigError
from loom.layers.layer import Layer
from loom.layers.rnn_cell_base import zero_states


def _output_size(cell: Any) -> int:
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state = cell.state_size
    return state[0] if isinstance(state, (list, tuple)) else state


class StackedRNNCells(Layer):
    """Wrap a list of cells so that the output of each is the input of the next, at every step.

    The states are one entry per cell (a tensor for a single-state cell, a list for ``LSTMCell``); the
    output is the last cell's. Weights: each cell's, in order. ``RNN`` given a list of cells builds one.

    Args:
        cells: the cells, first to last (a non-empty list; each with ``state_size``).

    Input shape:
        One step: ``inputs`` ``(batch, features)`` and ``states``, one entry per cell as above.

    Output shape:
        ``output`` ``(batch, output_size of the last cell)``; ``new_states`` nested as ``states``.

    Returns:
        ``(output, new_states)``: the last cell's output and every cell's new states.

    Raises:
        ConfigError: ``cells`` not a non-empty list, or a cell without ``state_size``.

    Example:
        >>> import torch, loom
        >>> cells = StackedRNNCells([loom.layers.LSTMCell(3), loom.layers.LSTMCell(2)])
        >>> cells.state_size, cells.output_size
        ([[3, 3], [2, 2]], 2)
        >>> out, h1, h2 = loom.layers.RNN(cells, return_state=True)(torch.randn(2, 4, 5))
        >>> out.shape, [s.shape[-1] for s in h1], [s.shape[-1] for s in h2]
        (torch.Size([2, 2]), [3, 3], [2, 2])
    """

    def __init__(self, cells: list, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ConfigError(f"StackedRNNCells '{self.name}': cells must be a non-empty list of cells, got "
                              f"{cells!r}.")
        for cell in cells:
            if getattr(cell, "state_size", None) is None:
                raise ConfigError(f"StackedRNNCells '{self.name}': every cell needs a `state_size`; "
                                  f"{type(cell).__name__} has none.")
        self.cells = list(cells)

    @property
    def state_size(self) -> list:
        return [c.state_size for c in self.cells]

    @property
    def output_size(self) -> int:
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size: int | None = None) -> list:
        """Each cell's initial states (its ``get_initial_state``, else zeros)."""
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            else:
                states = zero_states(cell.state_size, batch_size or 1)
                out.append(states[0] if isinstance(cell.state_size, int) else states)
        return out

    def build(self, input_shape):
        for cell in self.cells:
            if isinstance(cell, Layer):
                cell._maybe_build(tuple(input_shape))
            input_shape = (input_shape[0], _output_size(cell))

    def call(self, inputs, states, training=False):
        new_states = []
        for cell, cell_states in zip(self.cells, states):
            is_list = isinstance(cell_states, (list, tuple))
            cell_states = list(cell_states) if is_list else [cell_states]
            kwargs = {"training": training} if getattr(cell, "_call_takes_training", False) else {}
            call = (lambda *a, c=cell, **k: nn.Module.__call__(c, *a, **k)) if isinstance(cell, Layer) else cell
            inputs, cell_states = call(inputs, cell_states, **kwargs)
            cell_states = list(cell_states) if isinstance(cell_states, (list, tuple)) else [cell_states]
            new_states.append(cell_states[0] if len(cell_states) == 1 and not is_list else cell_states)
        return inputs, new_states

    def get_config(self):
        from loom.saving import serialize_loom_object
        return {**super().get_config(), "cells": [serialize_loom_object(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None,
                    safe_mode: bool = True) -> "StackedRNNCells":
        from loom.saving import deserialize_loom_object
        config = dict(config)
        cells = [c if not isinstance(c, dict) else deserialize_loom_object(c, custom_objects, safe_mode)
                 for c in config.pop("cells")]
        return cls(cells, **config)
