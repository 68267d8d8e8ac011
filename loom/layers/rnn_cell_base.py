"""What every recurrent cell shares: ``AbstractRNNCell`` (the cell protocol) and ``DropoutRNNCell`` (masks).

A *cell* computes one time step: ``call(inputs, states) -> (output, new_states)``, with ``inputs`` of shape
``(batch, features)`` and ``states`` a list of tensors. It declares ``state_size`` (an int, or a list with one
entry per state tensor) and optionally ``output_size`` and ``get_initial_state(batch_size)``. ``RNN(cell)``
runs a cell over a sequence.

``DropoutRNNCell`` draws Keras's per-sequence dropout masks: one mask (or one per gate) is drawn on the first
request, reused by every step of the sequence, and dropped by the ``RNN`` layer after the call.

Example:
    >>> import torch, loom
    >>> cell = loom.layers.SimpleRNNCell(3)
    >>> out, states = cell(torch.ones(2, 4), [torch.zeros(2, 3)])
    >>> out.shape, len(states)
    (torch.Size([2, 3]), 1)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.errors import ConfigError
from loom.layers.layer import Layer
from loom.layers.layer_args import parse_args
from loom.layers.recurrent_weights import WEIGHT_ARGS

__all__ = ["AbstractRNNCell", "DropoutRNNCell", "parse_cell_args", "rate_arg", "zero_states"]


def rate_arg(owner: str, name: str, value: Any) -> float:
    """A dropout rate clipped into ``[0, 1]`` as Keras does; anything but a number is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{owner}: {name} must be a number in [0, 1], got {value!r}.")
    return min(1.0, max(0.0, float(value)))


def parse_cell_args(cell: Any, owner: str, arguments: dict) -> None:
    """Set a gated cell's ``use_bias``, activations, weight arguments, dropout rates and seed from the
    arguments its ``__init__`` received (``locals()``)."""
    cell.use_bias = bool(arguments["use_bias"])
    parse_args(cell, **{name: arguments[name] for name in ("activation", "recurrent_activation") + WEIGHT_ARGS})
    cell.dropout = rate_arg(owner, "dropout", arguments["dropout"])
    cell.recurrent_dropout = rate_arg(owner, "recurrent_dropout", arguments["recurrent_dropout"])
    cell.seed = arguments["seed"]


def zero_states(state_size: Any, batch_size: int, like: torch.Tensor | None = None) -> list:
    """Zero states ``(batch_size, size)`` for each entry of ``state_size`` (nested lists stay nested), with
    ``like``'s dtype and device (default None: floatx on :func:`loom.backend.scope_device`)."""
    sizes = state_size if isinstance(state_size, (list, tuple)) else [state_size]
    kwargs = {"device": backend.scope_device()} if like is None else {"dtype": like.dtype, "device": like.device}
    out: list = []
    for size in sizes:
        if isinstance(size, (list, tuple)):
            out.append(zero_states(size, batch_size, like))
        else:
            out.append(torch.zeros((batch_size, int(size)), **kwargs))
    return out


class AbstractRNNCell(Layer):
    """Base class of a user's recurrent cell: define ``state_size``, ``output_size`` and ``call``.

    ``state_size`` and ``output_size`` may be class attributes, properties or attributes set in ``__init__``;
    ``state_size`` is an int (one state tensor) or a list of ints (one per state tensor). Weights are created
    in ``build(step_input_shape)`` as for any layer. ``RNN(cell)`` runs the cell over a sequence.

    ``call(inputs, states)`` gets one step of inputs ``(batch, features)`` and the list of states, and returns
    ``(output, new_states)``. ``get_initial_state`` gives zeros by default.

    Args:
        **kwargs: the base layer arguments (``name``, ``dtype``, ``trainable``...); subclasses add their own.

    Input shape:
        One step: ``inputs`` ``(batch, features)`` and ``states``, a list of ``(batch, size)`` tensors, one
        per entry of ``state_size``.

    Output shape:
        ``output`` ``(batch, output_size)``; ``new_states`` shaped as ``states``.

    Returns:
        ``(output, new_states)``, as the subclass's ``call`` computes them.

    Example:
        >>> import torch, loom
        >>> class Accumulate(AbstractRNNCell):
        ...     state_size = 2
        ...     output_size = 2
        ...     def call(self, inputs, states):
        ...         total = states[0] + inputs
        ...         return total, [total]
        >>> cell = Accumulate()
        >>> [s.shape for s in cell.get_initial_state(batch_size=4)]
        [torch.Size([4, 2])]
        >>> loom.layers.RNN(cell)(torch.ones(1, 3, 2))
        tensor([[3., 3.]])
    """

    def call(self, inputs, states):
        """One step: ``(output, new_states)``. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(inputs, states).")

    def get_initial_state(self, batch_size: int | None = None) -> list:
        """Zero states of shape ``(batch_size, size)``."""
        return zero_states(self.state_size, batch_size or 1)


class DropoutRNNCell:
    """Mixin: Keras's cached dropout masks of a cell (attributes ``dropout``, ``recurrent_dropout``, ``seed``).

    ``dropout_mask_count`` (when set) asks for one mask per gate, as Keras's ``implementation=1``.

    Example:
        >>> import torch, loom
        >>> cell = loom.layers.LSTMCell(2, dropout=0.5, seed=1)
        >>> mask = cell.get_dropout_mask(torch.ones(3, 4))
        >>> mask is cell.get_dropout_mask(torch.ones(3, 4))  # reused until reset
        True
    """

    dropout_mask_count: int | None = None

    def _draw_dropout_mask(self, like: torch.Tensor, rate: float) -> Any:
        generator = None
        if getattr(self, "seed", None) is not None and like.device.type != "meta":
            generators = self.__dict__.setdefault("_mask_generators", {})
            if like.device not in generators:
                generators[like.device] = torch.Generator(device=like.device).manual_seed(int(self.seed))
            generator = generators[like.device]

        def one():
            keep = torch.rand(like.shape, dtype=like.dtype, device=like.device, generator=generator) >= rate
            return keep.to(like.dtype) / (1.0 - rate)
        count = self.dropout_mask_count
        return one() if count is None else [one() for _ in range(count)]

    def get_dropout_mask(self, step_input: torch.Tensor) -> Any:
        """The input mask of this sequence (drawn on first use), or ``None`` without dropout."""
        if self.__dict__.get("_dropout_mask") is None and 0.0 < self.dropout < 1.0:
            self.__dict__["_dropout_mask"] = self._draw_dropout_mask(step_input, self.dropout)
        return self.__dict__.get("_dropout_mask")

    def get_recurrent_dropout_mask(self, step_input: torch.Tensor) -> Any:
        """The recurrent-state mask of this sequence (drawn on first use), or ``None``."""
        if self.__dict__.get("_recurrent_dropout_mask") is None and 0.0 < self.recurrent_dropout < 1.0:
            self.__dict__["_recurrent_dropout_mask"] = self._draw_dropout_mask(step_input, self.recurrent_dropout)
        return self.__dict__.get("_recurrent_dropout_mask")

    def reset_dropout_mask(self) -> None:
        """Forget the input mask (the ``RNN`` layer calls this after each sequence)."""
        self.__dict__["_dropout_mask"] = None

    def reset_recurrent_dropout_mask(self) -> None:
        """Forget the recurrent mask."""
        self.__dict__["_recurrent_dropout_mask"] = None
