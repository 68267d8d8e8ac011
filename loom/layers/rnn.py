"""``RNN(cell)``: run any recurrent cell over a sequence, with Keras's states, masks and dropout semantics.

The cell computes one step, ``call(inputs, states) -> (output, new_states)`` (see
:mod:`loom.layers.rnn_cell_base`). ``RNN`` feeds it the steps of ``(batch, timesteps, ...)`` inputs in order
(reversed with ``go_backwards``), and returns the last output or every output (``return_sequences``), and the
final states (``return_state``). A masked step keeps the previous states and repeats the previous output
(zeros with ``zero_output_for_mask``). ``stateful`` layers carry their final states over to the next call.

Cells whose step is one of torch's fused kernels (``SimpleRNNCell``, ``LSTMCell``, ``GRUCell`` with their
default activations, see :meth:`fused_spec`) run the whole sequence in one kernel call, padding masks
included (see :mod:`loom.layers.rnn_packed`); any other cell runs a Python loop over the steps. A cell
may offer ``project_sequence(sequences, training)`` (its input projections of all steps at once) and
``step_projected(projection, states, training)`` (the rest of a step): the loop then uses them
(``ConvLSTMCell`` does: one large convolution instead of one per step).

Example:
    >>> import torch, loom
    >>> layer = loom.layers.RNN(loom.layers.GRUCell(4), return_sequences=True, return_state=True)
    >>> seq, h = layer(torch.randn(2, 5, 3))
    >>> seq.shape, h.shape
    (torch.Size([2, 5, 4]), torch.Size([2, 4]))
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from loom import backend
from loom.errors import ConfigError, InputError, ShapeError
from loom.layers.layer import Layer
from loom.layers.rnn_base import _exporting, check_stateful_batch, run_fused
from loom.layers.rnn_packed import run_padded
from loom.structure import flatten


def pack_as(structure: Any, flat: list) -> Any:
    """The leaves ``flat`` in the list nesting of ``structure`` (the inverse of ``flatten``)."""
    it = iter(flat)

    def pack(s: Any) -> Any:
        if isinstance(s, (list, tuple)):
            return [pack(v) for v in s]
        return next(it)
    return pack(structure)


def check_state_size(owner: str, cell: Any) -> Any:
    """``cell.state_size`` (an int or a list of ints, nested for stacked cells), or a ConfigError."""
    size = getattr(cell, "state_size", None)
    if size is None:
        raise ConfigError(f"{owner}: the cell {type(cell).__name__} has no `state_size`; a cell must define "
                          f"state_size (an int, or a list of ints, one per state tensor).")
    if not isinstance(size, (int, list, tuple)) or isinstance(size, bool):
        raise ConfigError(f"{owner}: the cell's state_size must be an int or a list/tuple of ints, got {size!r}.")
    return size


class RNN(Layer):
    """Base class of recurrent layers: runs ``cell`` over the time axis.

    Args:
        cell: a cell (``call(inputs, states)``, ``state_size``, optional ``output_size`` and
            ``get_initial_state``), or a list of cells (stacked with ``StackedRNNCells``).
        return_sequences: return every step's output, not only the last (default ``False``).
        return_state: also return the final states, after the output (default ``False``).
        go_backwards: process the sequence backwards and return the reversed sequence (default ``False``).
        stateful: the final states of a batch are the initial states of the next; needs a fixed batch size
            (default ``False``).
        unroll: accepted for compatibility; ignored (default ``False``).
        zero_output_for_mask: masked steps output zeros instead of repeating the previous output
            (default ``False``).

    Call arguments:
        sequences: ``(batch, timesteps, ...)``.
        initial_state: the states of the first step, as the cell's ``get_initial_state`` returns them
            (default: those, or the stored states of a stateful layer).
        mask: boolean ``(batch, timesteps)``; masked steps are skipped (default ``None``).
        training: run the cell in training mode (dropout) (default: the layer's mode).

    Input shape:
        ``(batch, timesteps, ...)``; each step ``(batch, ...)`` is what the cell takes, usually
        ``(batch, features)``.

    Output shape:
        ``(batch, timesteps, output_size)`` with ``return_sequences=True``, else ``(batch, output_size)``
        (``output_size``: the size of the cell's output).

    Returns:
        The output; with ``return_state=True``, ``(output, *final_states)``: one entry per state of the cell
        (per cell, nested, for stacked cells).

    Raises:
        ConfigError: a ``cell`` without ``call`` or ``state_size``, or a ``stateful`` layer whose ``Input``
            has no fixed batch size.
        ShapeError: inputs of rank below 3, or with no time step.
        InputError: initial states of the wrong number or shapes, a mask that is not ``(batch, timesteps)``, or
            a ``stateful`` layer fed another batch size than its stored states'.

    Example:
        >>> import torch, loom
        >>> rnn = RNN([loom.layers.LSTMCell(4), loom.layers.LSTMCell(2)], return_state=True)
        >>> out, (h1, c1), (h2, c2) = rnn(torch.randn(3, 5, 6))
        >>> out.shape, h1.shape, c2.shape
        (torch.Size([3, 2]), torch.Size([3, 4]), torch.Size([3, 2]))
    """

    _inference_in_pieces = False  # per sample, but pieces would only add sequential steps

    supports_masking = True

    def __init__(self, cell: Any, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(cell, (list, tuple)):
            from loom.layers.stacked_rnn_cells import StackedRNNCells
            cell = StackedRNNCells(cell)
        owner = f"{type(self).__name__} '{self.name}'"
        if not (callable(cell) or hasattr(cell, "call")):
            raise ConfigError(f"{owner}: cell must be a recurrent cell (a layer with call(inputs, states)), got "
                              f"{type(cell).__name__}.")
        check_state_size(owner, cell)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.states: Any = None

    @property
    def state_size(self) -> list:
        """The cell's state sizes as a list (one entry per state tensor, or per stacked cell)."""
        size = self.cell.state_size
        return [size] if isinstance(size, int) else list(size)

    @property
    def _state_count(self) -> int:
        return len(self.state_size)

    # ------------------------------------------------------------------------------------------ building
    def build(self, sequences_shape, initial_state_shape=None):
        if not isinstance(sequences_shape, (list, tuple)) or len(sequences_shape) < 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of shape (batch, timesteps, ...), "
                             f"got {sequences_shape}.")
        step_shape = (sequences_shape[0],) + tuple(sequences_shape[2:])
        if isinstance(self.cell, Layer):
            self.cell._maybe_build(step_shape)

    def _call_symbolic(self, args: tuple, kwargs: dict):
        check_stateful_batch(self, args)
        return super()._call_symbolic(args, kwargs)

    # ------------------------------------------------------------------------------------------- states
    def get_initial_state(self, batch_size: int) -> list:
        """The cell's initial states for ``batch_size`` samples (zeros unless the cell says otherwise)."""
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is None:
            from loom.layers.rnn_cell_base import zero_states
            return zero_states(self.state_size, batch_size)
        states = fn(batch_size=batch_size)
        return list(states) if isinstance(states, (list, tuple)) else [states]

    def _initial_states(self, inputs: torch.Tensor, initial_state: Any) -> list:
        batch = inputs.shape[0]
        if initial_state is None and self.stateful and self.states is not None and inputs.device.type != "meta":
            if flatten(self.states)[0].shape[0] != batch:
                raise InputError(f"Stateful {type(self).__name__} '{self.name}' holds states for batches of "
                                 f"{flatten(self.states)[0].shape[0]}, but got a batch of {batch}. Feed batches "
                                 f"of one size, or call reset_states() first.")
            initial_state = self.states
        expected = self.get_initial_state(batch)
        convert = lambda s: backend.to_tensor(s, dtype=inputs.dtype, device=inputs.device)  # noqa: E731
        if initial_state is None:
            return pack_as(expected, [convert(s) for s in flatten(expected)])
        given = flatten(initial_state if isinstance(initial_state, (list, tuple)) else [initial_state])
        want = flatten(expected)
        if len(given) != len(want):
            raise InputError(f"{type(self).__name__} '{self.name}' expects {len(want)} initial state tensor(s) of "
                             f"shapes {[tuple(s.shape) for s in want]}, got {len(given)}.")
        out = []
        for s, w in zip(given, want):
            s = convert(s)
            if not torch.jit.is_tracing() and tuple(s.shape) != tuple(w.shape):
                raise InputError(f"{type(self).__name__} '{self.name}': initial states must have shapes "
                                 f"{[tuple(t.shape) for t in want]} for inputs of shape {tuple(inputs.shape)}; "
                                 f"got a state of shape {tuple(s.shape)}.")
            out.append(s)
        return pack_as(expected, out)

    def reset_states(self, states: Any = None) -> None:
        """Set the states a ``stateful`` layer carries between calls back to zeros (or to ``states``)."""
        if not self.stateful:
            raise ConfigError(f"{type(self).__name__} '{self.name}' is not stateful; reset_states() needs "
                              f"stateful=True.")
        self.states = None if states is None else [backend.to_tensor(s).detach() for s in flatten(states)]

    def reset_state(self, states: Any = None) -> None:
        """Keras 3's name of :meth:`reset_states`."""
        self.reset_states(states)

    # ------------------------------------------------------------------------------------------ calling
    def call(self, sequences, initial_state=None, mask=None, training=None):
        if sequences.dim() < 3 or (not torch.jit.is_tracing() and sequences.shape[1] == 0):
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of shape (batch, timesteps>0, "
                             f"...), got {tuple(sequences.shape)}.")
        training = bool(self.training if training is None else training)
        states = self._initial_states(sequences, initial_state)
        mask = self._step_mask(sequences, mask)
        x = sequences.flip(1) if self.go_backwards else sequences
        try:
            if x.device.type == "meta":
                result = self._meta_result(x, states, training)
            else:
                result = self._fused(x, states, mask, training)
                if result is None:
                    result = self._loop(x, states, mask, training)
        finally:
            _reset_dropout_masks(self.cell)
        sequence, last, final_states = result
        if self.stateful and sequences.device.type != "meta":
            self.states = pack_as(final_states, [s.detach() for s in flatten(final_states)])
        output = sequence if self.return_sequences else last
        return (output, *final_states) if self.return_state else output

    def _step_mask(self, inputs: torch.Tensor, mask: Any) -> torch.Tensor | None:
        """The ``(batch, timesteps)`` boolean mask in processing order (flipped with ``go_backwards``)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            return None
        mask = backend.to_tensor(mask, dtype=torch.bool, device=inputs.device)
        while mask.dim() > 2 and mask.shape[-1] == 1:
            mask = mask[..., 0]
        if not torch.jit.is_tracing() and tuple(mask.shape) != tuple(inputs.shape[:2]):
            raise InputError(f"{type(self).__name__} '{self.name}': the mask must have shape (batch, timesteps) = "
                             f"{tuple(inputs.shape[:2])}, got {tuple(mask.shape)}.")
        return mask.flip(1) if self.go_backwards else mask

    def _step(self, x_t: torch.Tensor, states: list, training: bool):
        cell = self.cell
        kwargs = {"training": training} if getattr(cell, "_call_takes_training", False) else {}
        if isinstance(cell, Layer):
            output, new_states = nn.Module.__call__(cell, x_t, states, **kwargs)
        else:
            output, new_states = (cell if callable(cell) else cell.call)(x_t, states, **kwargs)
        return output, list(new_states) if isinstance(new_states, (list, tuple)) else [new_states]

    def _meta_result(self, x: torch.Tensor, states: list, training: bool):
        """Shapes only (``meta`` inputs): one step of the cell, repeated along time."""
        output, new_states = self._step(x[:, 0], states, training)
        sequence = output.unsqueeze(1).expand(output.shape[0], x.shape[1], *output.shape[1:])
        return sequence, output, new_states

    def _fused(self, x: torch.Tensor, states: list, mask: torch.Tensor | None, training: bool):
        """The whole sequence in one torch kernel call when the cell offers one (see ``fused_spec``)."""
        spec_fn = getattr(self.cell, "fused_spec", None)
        spec = spec_fn(training) if spec_fn is not None and x.dim() == 3 else None
        if spec is None:
            return None
        flat_states = flatten(states)
        if training:
            dp = self.cell.get_dropout_mask(x[:, 0])
            if dp is not None:
                x = x * dp.unsqueeze(1)
        if mask is None:
            sequence, last, finals = run_fused(spec[0], x, flat_states, spec[1], spec[2])
        elif _exporting():
            return None
        else:
            result = run_padded(spec, x, flat_states, mask, self.zero_output_for_mask, self.return_sequences)
            if result is None:
                return None
            sequence, last, finals = result
        return sequence, last, pack_as(states, finals)

    def _loop(self, x: torch.Tensor, states: list, mask: torch.Tensor | None, training: bool):
        outputs = []
        output = previous = None
        project = getattr(self.cell, "project_sequence", None)  # input projections of all steps at once
        steps = project(x, training).unbind(1) if project is not None else x.unbind(1)
        for t, x_t in enumerate(steps):
            if project is not None:
                output, new_states = self.cell.step_projected(x_t, states, training)
            else:
                output, new_states = self._step(x_t, states, training)
            if mask is None:
                states = new_states
            else:
                keep = mask[:, t]
                if previous is None:
                    previous = torch.zeros_like(output)
                states = pack_as(states, [torch.where(_expand(keep, n), n, s)
                                          for n, s in zip(flatten(new_states), flatten(states))])
                fill = torch.zeros_like(output) if self.zero_output_for_mask else previous
                output = torch.where(_expand(keep, output), output, fill)
                previous = output
            if self.return_sequences:
                outputs.append(output)
        sequence = torch.stack(outputs, dim=1) if self.return_sequences else None
        return sequence, output, states

    # ------------------------------------------------------------------------------------- masks, config
    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self._state_count
        return output_mask

    def _rnn_config(self) -> dict:
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards, "stateful": self.stateful,
                "unroll": self.unroll, "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        from loom.saving import serialize_loom_object
        return {**self._rnn_config(), "cell": serialize_loom_object(self.cell)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "RNN":
        from loom.saving import deserialize_loom_object
        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, dict):
            cell = deserialize_loom_object(cell, custom_objects, safe_mode)
        return cls(cell, **config)


def _expand(keep: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A ``(batch,)`` step mask shaped to broadcast against ``like`` ``(batch, ...)``."""
    return keep.view((keep.shape[0],) + (1,) * (like.dim() - 1))


def _reset_dropout_masks(cell: Any) -> None:
    """Forget the cached dropout masks of ``cell`` (and of stacked cells) after a sequence."""
    for c in getattr(cell, "cells", [cell]):
        if hasattr(c, "reset_dropout_mask"):
            c.reset_dropout_mask()
            c.reset_recurrent_dropout_mask()
        if c is not cell:
            _reset_dropout_masks(c)
