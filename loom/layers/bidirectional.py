"""``Bidirectional``: run a recurrent layer forwards and a copy backwards, and merge their outputs.

Example:
    >>> import loom
    >>> x = loom.Input((None, 6))
    >>> loom.layers.Bidirectional(loom.layers.LSTM(4))(x).shape
    (None, 8)
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError, InputError
from loom.layers.layer import Layer
from loom.layers.rnn_base import RecurrentLayer, run_fused

_MERGE_MODES = ("concat", "sum", "mul", "ave", None)


def _clone(layer: Layer, name: str, go_backwards: bool | None = None) -> Layer:
    """A fresh, unbuilt copy of ``layer`` from its config, renamed (and with ``go_backwards`` flipped)."""
    config = dict(layer.get_config())
    config["name"] = name
    if go_backwards is not None:
        config["go_backwards"] = go_backwards
    return type(layer).from_config(config)


def _strip(name: str, prefix: str) -> str:
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(Layer):
    """Bidirectional wrapper for ``SimpleRNN`` / ``LSTM`` / ``GRU`` / ``RNN(cell)`` / ``ConvLSTM*D``.

    The forward copy is named ``forward_<name>``, the backward copy (``go_backwards`` flipped)
    ``backward_<name>``; the wrapped instance itself only serves as a template, as in Keras. With
    ``return_sequences`` the backward outputs are flipped back to the input's time order before merging,
    and masked steps output zeros in both directions (Keras forces ``zero_output_for_mask``).
    Weights: the forward layer's, then the backward layer's.

    Args:
        layer: the recurrent layer to wrap.
        merge_mode: ``'concat'`` (default), ``'sum'``, ``'mul'``, ``'ave'`` or ``None`` (return both outputs
            as a list).
        weights: initial weights, forward then backward, as ``get_weights()`` returns them (default ``None``).
        backward_layer: a recurrent layer to use as the backward one, instead of a copy of ``layer``; it must
            have ``go_backwards=True`` and the same ``return_sequences`` / ``return_state`` (default ``None``).

    Call arguments:
        inputs: ``(batch, timesteps, features)``.
        initial_state: forward states followed by backward states (default zeros).
        mask: boolean ``(batch, timesteps)`` (default ``None``).

    Input shape:
        ``(batch, timesteps, features)``.

    Output shape:
        the forward and backward outputs merged by ``merge_mode`` (``'concat'``: last axis doubled); a list of both
        when ``merge_mode=None``; states follow with ``return_state=True``.

    Returns:
        The merged outputs (and the final states of both directions with ``return_state``).

    Raises:
        ConfigError: ``layer`` is not a recurrent layer, or an unknown ``merge_mode``.
        InputError: ``initial_state`` of the wrong length.

    Example:
        >>> import torch, loom
        >>> layer = Bidirectional(loom.layers.GRU(3, return_sequences=True), merge_mode="sum")
        >>> layer(torch.randn(2, 5, 4)).shape
        torch.Size([2, 5, 3])
    """

    _inference_in_pieces = False  # runs code loom does not know

    supports_masking = True

    def __init__(self, layer: Layer, merge_mode: str | None = "concat", weights: list | None = None,
                 backward_layer: Layer | None = None, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("layer", layer), ("backward_layer", backward_layer)):
            if value is not None and not (isinstance(value, Layer) and hasattr(value, "go_backwards")):
                raise ConfigError(f"Bidirectional '{self.name}': {what} must be a recurrent loom layer (SimpleRNN, "
                                  f"LSTM, GRU, RNN(cell), ConvLSTM...), got {type(value).__name__}.")
        if merge_mode not in _MERGE_MODES:
            raise ConfigError(f"Bidirectional '{self.name}': merge_mode must be one of {list(_MERGE_MODES)}, got "
                              f"{merge_mode!r}.")
        self.merge_mode = merge_mode
        if self._batch_input_shape is None and layer._batch_input_shape is not None:
            self._batch_input_shape = layer._batch_input_shape  # Keras 2 style: input_shape on the wrapped layer
        self.forward_layer = _clone(layer, f"forward_{_strip(layer.name, 'forward_')}")
        if backward_layer is None:
            backward_layer = _clone(layer, f"backward_{_strip(layer.name, 'backward_')}", go_backwards=True)
        self.backward_layer = backward_layer
        self._check_pair()
        for rnn in (self.forward_layer, self.backward_layer):
            rnn.zero_output_for_mask = rnn.return_sequences
        self.return_sequences = self.forward_layer.return_sequences
        self.return_state = self.forward_layer.return_state
        self.stateful = self.forward_layer.stateful
        self._initial_weights = weights

    def _check_pair(self) -> None:
        fwd, bwd = self.forward_layer, self.backward_layer
        if fwd.go_backwards == bwd.go_backwards:
            raise ConfigError(f"Bidirectional '{self.name}': the forward and backward layers need different "
                              f"go_backwards values; both have {fwd.go_backwards}.")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr) != getattr(bwd, attr):
                raise ConfigError(f"Bidirectional '{self.name}': forward and backward layers must have the same "
                                  f"{attr}; got {getattr(fwd, attr)} and {getattr(bwd, attr)}.")

    def build(self, input_shape):
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)
        self.input_spec = self.forward_layer.input_spec
        if self._initial_weights:
            self.built = True
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def call(self, inputs, initial_state=None, mask=None):
        forward_state = backward_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) % 2:
                raise InputError(f"Bidirectional '{self.name}': initial_state must hold the forward states then the "
                                 f"backward states (an even count), got {len(states)}.")
            forward_state, backward_state = states[:len(states) // 2], states[len(states) // 2:]
        fused = self._fused_pair(inputs, forward_state, backward_state) if mask is None else None
        if fused is not None:
            y, y_rev, states = fused
        else:
            y = torch.nn.Module.__call__(self.forward_layer, inputs, initial_state=forward_state, mask=mask)
            y_rev = torch.nn.Module.__call__(self.backward_layer, inputs, initial_state=backward_state, mask=mask)
            states = ()
            if self.return_state:
                states = tuple(y[1:]) + tuple(y_rev[1:])
                y, y_rev = y[0], y_rev[0]
            if self.return_sequences:
                y_rev = y_rev.flip(1)
        output = self._merge(y, y_rev)
        if self.return_state:
            return (*output, *states) if self.merge_mode is None else (output, *states)
        return output

    def _fused_pair(self, inputs, forward_state, backward_state):
        """Both directions in one bidirectional torch kernel call (cuDNN runs them concurrently), or ``None``.

        Returns ``(forward output, backward output in input time order, states)``.
        """
        fwd, bwd = self.forward_layer, self.backward_layer
        if not (isinstance(fwd, RecurrentLayer) and isinstance(bwd, RecurrentLayer)):
            return None
        if (inputs.device.type == "meta" or self.stateful or fwd.go_backwards or not bwd.go_backwards
                or type(fwd) is not type(bwd) or fwd.units != bwd.units
                or fwd.activity_regularizer is not None or bwd.activity_regularizer is not None):
            return None
        if self.training and (fwd.dropout or fwd.recurrent_dropout or bwd.dropout or bwd.recurrent_dropout):
            return None
        spec_f, spec_b = fwd._fused_spec(), bwd._fused_spec()
        if spec_f is None or spec_b is None or spec_f[0] is not spec_b[0] or spec_f[2] != spec_b[2]:
            return None
        stacked = [torch.stack([f, b]) for f, b in zip(fwd._initial_states(inputs, forward_state),
                                                        bwd._initial_states(inputs, backward_state))]
        sequence, *finals = run_fused(spec_f[0], inputs, stacked, spec_f[1] + spec_b[1], spec_f[2],
                                      bidirectional=True)
        forward_states, backward_states = [h[0] for h in finals], [h[1] for h in finals]
        if self.return_sequences:
            y, y_rev = sequence[..., :fwd.units], sequence[..., fwd.units:]
        else:
            y, y_rev = forward_states[0], backward_states[0]
        return y, y_rev, (*forward_states, *backward_states) if self.return_state else ()

    def _merge(self, y, y_rev):
        if self.merge_mode == "concat":
            return torch.cat([y, y_rev], dim=-1)
        if self.merge_mode == "sum":
            return y + y_rev
        if self.merge_mode == "ave":
            return (y + y_rev) / 2
        if self.merge_mode == "mul":
            return y * y_rev
        return [y, y_rev]

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if self.return_sequences:
            output_mask = [mask, mask] if self.merge_mode is None else [mask]
        else:
            output_mask = [None, None] if self.merge_mode is None else [None]
        if self.return_state:
            state_count = self.forward_layer._state_count + self.backward_layer._state_count
            return output_mask + [None] * state_count
        return output_mask if self.merge_mode is None else output_mask[0]

    def reset_states(self, states: Any = None) -> None:
        """Reset the states of a stateful pair (forward states first, then backward)."""
        if not self.stateful:
            raise ConfigError(f"Bidirectional '{self.name}' is not stateful; reset_states() needs stateful=True.")
        half = None if states is None else len(states) // 2
        self.forward_layer.reset_states(None if states is None else states[:half])
        self.backward_layer.reset_states(None if states is None else states[half:])

    def get_config(self):
        from loom.saving import serialize_loom_object
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize_loom_object(self.forward_layer),
                "backward_layer": serialize_loom_object(self.backward_layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "Bidirectional":
        from loom.saving import deserialize_loom_object
        config = dict(config)
        config["layer"] = deserialize_loom_object(config["layer"], custom_objects, safe_mode)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize_loom_object(config["backward_layer"], custom_objects, safe_mode)
        return cls(**config)
