"""The shared machinery of ``SimpleRNN``, ``LSTM`` and ``GRU``: weights, masks, dropout, states, config.

Weights are stored in torch's layout (``(gates * units, in)`` matrices, torch's gate order) so the fused
kernels (``torch.lstm``, ``torch.gru``, ``torch.rnn_tanh``) take them as they are; ``get_weights`` /
``set_weights`` present Keras's layout (``kernel (in, gates * units)``, ``recurrent_kernel``, ``bias``).

A layer runs the fused kernel when nothing needs per-step control: no recurrent dropout in training, the
activations the kernel implements, and no mask or a padding mask (see ``rnn_packed``). Otherwise a Python
loop over time steps runs with Keras's semantics: the input projection of all steps is one matrix product;
a masked step keeps the previous states and repeats the previous output (zeros with
``zero_output_for_mask``, as inside ``Bidirectional``); dropout masks are drawn once per call and shared by
all steps (one per gate with recurrent dropout, as Keras's ``implementation=1``).

Output shapes are inferred on ``meta`` tensors like every layer's, except that the RNN kernels themselves
are skipped there (see ``_meta_result``).

Example:
    >>> import torch, loom
    >>> lstm = loom.layers.LSTM(8, return_sequences=True, return_state=True)
    >>> seq, h, c = lstm(torch.randn(2, 5, 3))
    >>> seq.shape, h.shape, c.shape
    (torch.Size([2, 5, 8]), torch.Size([2, 8]), torch.Size([2, 8]))
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom import _torch_compat, activations, backend
from loom.errors import ConfigError, InputError, ShapeError
from loom.layers import opaque_kernels
from loom.layers.activity_penalty import ActivityPenalty
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer
from loom.layers.layer_args import parse_args, positive_int, serialize_args
from loom.layers.recurrent_weights import CONSTRAINT_ARGS, INITIALIZER_ARGS, REGULARIZER_ARGS, add_recurrent_weights
from loom.layers.rnn_cell_base import rate_arg
from loom.layers.rnn_packed import run_padded


def check_stateful_batch(layer: Layer, args: tuple) -> None:
    """A ConfigError when a ``stateful`` recurrent layer is called on symbolic inputs of unknown batch size."""
    if layer.stateful and args and getattr(args[0], "shape", (0,))[0] is None:
        raise ConfigError(f"Stateful {type(layer).__name__} '{layer.name}' needs a fixed batch size: pass "
                          f"batch_size to Input (or batch_shape), got input shape {tuple(args[0].shape)}.")


class RecurrentLayer(ActivityPenalty, Layer):
    """Base class of the recurrent layers; subclasses define the cell (see ``SimpleRNN``, ``LSTM``, ``GRU``).

    Subclasses set ``_gate_count`` and ``_state_count``, and implement ``_step`` (one time step of the loop)
    and ``_fused_spec`` (the torch kernel and its parameters, or ``None`` when none applies). Keras's
    ``RNN(cell)`` API with custom cells is :class:`loom.layers.RNN`.

    Example:
        >>> import torch, loom
        >>> isinstance(loom.layers.GRU(2), RecurrentLayer)
        True
    """

    _inference_in_pieces = False  # per sample, but pieces would only add sequential steps
    _reads_time_major = True  # torch's fused kernels run step-major (see Embedding._call_time_major)

    supports_masking = True
    _gate_count = 1
    _state_count = 1

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 zero_output_for_mask: bool = False, use_cudnn: Any = "auto", implementation: int = 2, **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.units = positive_int(owner, "units", units)
        if use_cudnn not in ("auto", True, False):
            raise ConfigError(f"{owner}: use_cudnn must be one of ['auto', True, False], got {use_cudnn!r}.")
        self.use_bias = bool(use_bias)
        parse_args(self, activation=activation, recurrent_activation=recurrent_activation,
                   kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                   bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                   recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint)
        self.dropout = rate_arg(f"Layer '{self.name}'", "dropout", dropout)
        self.recurrent_dropout = rate_arg(f"Layer '{self.name}'", "recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.use_cudnn = use_cudnn
        self.states: list[torch.Tensor] | None = None
        self._generators: dict[torch.device, torch.Generator] = {}
        self.input_spec = InputSpec(ndim=3)

    # ------------------------------------------------------------------------------------------ weights
    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of shape (batch, timesteps, "
                             f"features), got {tuple(input_shape)}.")
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ShapeError(f"{type(self).__name__} '{self.name}' needs a known feature size, got input shape "
                             f"{tuple(input_shape)}.")
        width = self._gate_count * self.units
        add_recurrent_weights(self, (in_dim, width), (self.units, width), self._bias_shape(),
                              self._bias_initializer())
        self.input_spec = InputSpec(ndim=3, axes={-1: in_dim})

    def _bias_shape(self) -> tuple:
        return (self._gate_count * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def _reorder_gates(self, value: torch.Tensor, dim: int) -> torch.Tensor:
        """Keras gate order <-> torch gate order along ``dim`` (its own inverse). Identity by default."""
        return value

    def weight_from_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        if name in ("kernel", "recurrent_kernel"):
            return self._reorder_gates(value, 1).t()
        return self._reorder_gates(value, -1) if name == "bias" else value

    def weight_to_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        if name in ("kernel", "recurrent_kernel"):
            return self._reorder_gates(value.t(), 1)
        return self._reorder_gates(value, -1) if name == "bias" else value

    def _input_bias(self) -> torch.Tensor | None:
        return self.bias if self.use_bias else None

    def _recurrent_bias(self) -> torch.Tensor | None:
        return None

    # ------------------------------------------------------------------------------------------ calling
    def _call_symbolic(self, args: tuple, kwargs: dict):
        check_stateful_batch(self, args)
        return super()._call_symbolic(args, kwargs)

    def call(self, inputs, initial_state=None, mask=None):
        if inputs.dim() != 3 or (not torch.jit.is_tracing() and inputs.shape[1] == 0):
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of shape (batch, timesteps>0, "
                             f"features), got {tuple(inputs.shape)}.")
        states = self._initial_states(inputs, initial_state)
        mask = self._step_mask(inputs, mask)
        in_masks, rec_masks = self._dropout_masks(inputs) if self.training else (None, None)
        x = inputs.flip(1) if self.go_backwards else inputs
        result = None
        if x.device.type == "meta":
            # Shape inference: torch's RNN kernels on meta tensors run step by step through the meta
            # dispatcher (~0.3 s a call), so the output shapes are given directly.
            result = self._meta_result(x, states)
        elif rec_masks is None:
            if in_masks is not None:
                x = x * in_masks[0].unsqueeze(1)
                in_masks = None
            if mask is None:
                result = self._fused(x, states)
            elif not _exporting() and (spec := self._fused_spec()) is not None:
                result = run_padded(spec, x, states, mask, self.zero_output_for_mask, self.return_sequences)
        if result is None:
            result = self._loop(x, states, mask, in_masks, rec_masks)
        sequence, last, final_states = result
        if self.stateful and inputs.device.type != "meta":
            self.states = [s.detach() for s in final_states]
        output = sequence if self.return_sequences else last
        outputs = (output, *final_states) if self.return_state else output
        self._penalize_activity(*(outputs if isinstance(outputs, tuple) else [outputs]))
        return outputs

    def _step_mask(self, inputs: torch.Tensor, mask: Any) -> torch.Tensor | None:
        """The ``(batch, timesteps)`` boolean mask in processing order (flipped with ``go_backwards``)."""
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None:
            return None
        mask = backend.to_tensor(mask, dtype=torch.bool, device=inputs.device)
        if mask.dim() == 3 and mask.shape[-1] == 1:
            mask = mask[..., 0]
        if not torch.jit.is_tracing() and tuple(mask.shape) != tuple(inputs.shape[:2]):
            raise InputError(f"{type(self).__name__} '{self.name}': the mask must have shape (batch, timesteps) = "
                             f"{tuple(inputs.shape[:2])}, got {tuple(mask.shape)}.")
        return mask.flip(1) if self.go_backwards else mask

    def _initial_states(self, inputs: torch.Tensor, initial_state: Any) -> list[torch.Tensor]:
        batch = inputs.shape[0]
        if initial_state is None:
            if self.stateful and inputs.device.type != "meta":
                return self._stored_states(inputs)
            return [inputs.new_zeros(batch, self.units) for _ in range(self._state_count)]
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != self._state_count:
            raise InputError(f"{type(self).__name__} '{self.name}' expects {self._state_count} initial state "
                             f"tensor(s) of shape (batch, {self.units}), got {len(states)}.")
        out = []
        for s in states:
            s = backend.to_tensor(s, dtype=inputs.dtype, device=inputs.device)
            if tuple(s.shape) != (batch, self.units):
                raise InputError(f"{type(self).__name__} '{self.name}': each initial state must have shape "
                                 f"({batch}, {self.units}) for inputs of shape {tuple(inputs.shape)}; got "
                                 f"{tuple(s.shape)}.")
            out.append(s)
        return out

    def _stored_states(self, inputs: torch.Tensor) -> list[torch.Tensor]:
        batch = inputs.shape[0]
        if self.states is None:
            return [inputs.new_zeros(batch, self.units) for _ in range(self._state_count)]
        if self.states[0].shape[0] != batch:
            raise InputError(f"Stateful {type(self).__name__} '{self.name}' holds states for batches of "
                             f"{self.states[0].shape[0]}, but got a batch of {batch}. Feed batches of one size, "
                             f"or call reset_states() first.")
        return [s.to(device=inputs.device, dtype=inputs.dtype) for s in self.states]

    def reset_states(self, states: Any = None) -> None:
        """Forget the states a ``stateful`` layer carries between calls (or set them to ``states``)."""
        if not self.stateful:
            raise ConfigError(f"{type(self).__name__} '{self.name}' is not stateful; reset_states() needs "
                              f"stateful=True.")
        if states is None:
            self.states = None
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        self.states = [backend.to_tensor(s).detach() for s in states]

    reset_state = reset_states

    def _dropout_masks(self, inputs: torch.Tensor):
        """Keras's per-call dropout masks: ``(input masks (n, batch, features), recurrent masks)`` or None.

        With recurrent dropout Keras draws one mask per gate (its ``implementation=1``), else one input mask.
        """
        batch, features = inputs.shape[0], inputs.shape[2]
        per_gate = 0.0 < self.recurrent_dropout < 1.0
        in_masks = rec_masks = None
        if 0.0 < self.dropout < 1.0:
            count = self._gate_count if per_gate else 1
            in_masks = self._draw_mask((count, batch, features), self.dropout, inputs)
        if 0.0 < self.recurrent_dropout < 1.0:
            rec_masks = self._draw_mask((self._gate_count, batch, self.units), self.recurrent_dropout, inputs)
        return in_masks, rec_masks

    def _draw_mask(self, shape: tuple, rate: float, like: torch.Tensor) -> torch.Tensor:
        generator = None
        if self.seed is not None and like.device.type != "meta":
            if like.device not in self._generators:
                self._generators[like.device] = torch.Generator(device=like.device).manual_seed(int(self.seed))
            generator = self._generators[like.device]
        keep = torch.rand(shape, dtype=like.dtype, device=like.device, generator=generator) >= rate
        return keep.to(like.dtype) / (1.0 - rate)

    # ------------------------------------------------------------------------------------ the two paths
    def _fused_spec(self):
        """``(torch kernel, parameters, has_biases)`` for a fused call, or ``None`` when none applies."""
        return None

    def _fused(self, x: torch.Tensor, states: list[torch.Tensor]):
        """``(sequence, last output, final states)`` from a fused torch kernel, or ``None`` if unsupported."""
        spec = self._fused_spec()
        return None if spec is None else run_fused(spec[0], x, states, spec[1], spec[2])

    def _fused_params(self) -> list[torch.Tensor]:
        """The weights as torch's fused kernels take them: kernels, then input and recurrent biases if any."""
        if not self.use_bias:
            return [self.kernel, self.recurrent_kernel]
        input_bias, recurrent_bias = self._input_bias(), self._recurrent_bias()
        if recurrent_bias is None:
            recurrent_bias = torch.zeros_like(input_bias)
        return [self.kernel, self.recurrent_kernel, input_bias, recurrent_bias]

    def _meta_result(self, x: torch.Tensor, states: list[torch.Tensor]):
        last = x.new_empty(x.shape[0], self.units)
        return x.new_empty(x.shape[0], x.shape[1], self.units), last, [last] * len(states)

    def _step(self, x_t: torch.Tensor, states: list[torch.Tensor], rec_masks: torch.Tensor | None):
        """One time step from the input projection ``x_t``: ``(output, new states)``."""
        raise NotImplementedError

    def _input_projection(self, x: torch.Tensor, in_masks: torch.Tensor | None) -> torch.Tensor:
        """``x @ kernel + input bias`` for all steps at once (with per-gate dropout masks if any)."""
        bias = self._input_bias()
        if in_masks is None:
            return F.linear(x, self.kernel, bias)
        if in_masks.shape[0] == 1:
            return F.linear(x * in_masks[0].unsqueeze(1), self.kernel, bias)
        gates, units = self._gate_count, self.units
        batch, steps, features = x.shape
        masked = (x.unsqueeze(0) * in_masks.unsqueeze(2)).reshape(gates, batch * steps, features)
        proj = torch.bmm(masked, self.kernel.view(gates, units, features).transpose(1, 2))
        proj = proj.view(gates, batch, steps, units).permute(1, 2, 0, 3).reshape(batch, steps, gates * units)
        return proj + bias if bias is not None else proj

    def _recurrent_projection(self, h: torch.Tensor, rec_masks: torch.Tensor | None) -> torch.Tensor:
        """``h @ recurrent_kernel + recurrent bias`` (with per-gate recurrent dropout masks if any)."""
        bias = self._recurrent_bias()
        if rec_masks is None:
            return F.linear(h, self.recurrent_kernel, bias)
        if rec_masks.shape[0] == 1:
            return F.linear(h * rec_masks[0], self.recurrent_kernel, bias)
        gates, units = self._gate_count, self.units
        proj = torch.bmm(h.unsqueeze(0) * rec_masks, self.recurrent_kernel.view(gates, units, units).transpose(1, 2))
        proj = proj.transpose(0, 1).reshape(h.shape[0], gates * units)
        return proj + bias if bias is not None else proj

    def _loop(self, x, states, mask, in_masks, rec_masks):
        projections = self._input_projection(x, in_masks).unbind(1)
        outputs = []
        output = previous = None
        if mask is not None:
            steps_mask = mask.unsqueeze(-1).unbind(1)
            previous = x.new_zeros(x.shape[0], self.units)
        for t, x_t in enumerate(projections):
            output, new_states = self._step(x_t, states, rec_masks)
            if mask is None:
                states = new_states
            else:
                keep = steps_mask[t]
                states = [torch.where(keep, n, s) for n, s in zip(new_states, states)]
                output = torch.where(keep, output, torch.zeros_like(output) if self.zero_output_for_mask
                                     else previous)
                previous = output
            if self.return_sequences:
                outputs.append(output)
        sequence = torch.stack(outputs, dim=1) if self.return_sequences else None
        return sequence, output, states

    @staticmethod
    def _is(fn: Any, *candidates) -> bool:
        return any(fn is c for c in candidates)

    def _fusable_activations(self) -> bool:
        return (self._is(self.activation, activations.tanh, torch.tanh)
                and self._is(self.recurrent_activation, activations.sigmoid, torch.sigmoid))

    # ------------------------------------------------------------------------------------- masks, config
    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * self._state_count
        return output_mask

    def get_config(self):
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "stateful": self.stateful, "unroll": self.unroll,
                  "zero_output_for_mask": self.zero_output_for_mask,
                  **serialize_args(self, "units", "activation")}
        if self._gate_count > 1:
            config.update(serialize_args(self, "recurrent_activation"))
        config.update(serialize_args(self, "use_bias", *INITIALIZER_ARGS, *REGULARIZER_ARGS, "activity_regularizer",
                                     *CONSTRAINT_ARGS, "dropout", "recurrent_dropout", "seed"))
        return config


def run_fused(kernel, x: torch.Tensor, states: list[torch.Tensor], params: list[torch.Tensor], has_biases: bool,
              bidirectional: bool = False):
    """Call one of torch's fused RNN kernels (batch first, one layer).

    One direction: returns ``(sequence, last output, final states)`` with states shaped ``(batch, units)``.
    Both directions (``params`` and each state of ``states`` stacked forward then backward): returns
    torch's ``(sequence (batch, steps, 2 * units), final states (2, batch, units)...)``.
    """
    hidden = tuple(states) if bidirectional else tuple(s.unsqueeze(0) for s in states)
    hx = hidden if len(hidden) > 1 else hidden[0]
    out = opaque_kernels.fused_rnn(kernel, x, hx, params, has_biases, bidirectional)
    if bidirectional:
        return out
    sequence, finals = out[0], [h.squeeze(0) for h in out[1:]]
    return sequence, finals[0], finals


def _exporting() -> bool:
    """A trace or ``torch.export`` is recording: packing by data-dependent lengths cannot be recorded, so
    masked sequences take the step loop."""
    return torch.jit.is_tracing() or _torch_compat.is_exporting()
