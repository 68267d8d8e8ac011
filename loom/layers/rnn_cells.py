"""``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``: one time step of Keras's recurrent layers, for ``RNN(cell)``.

Weights are Keras's, in Keras's layout and gate order: ``kernel (features, gates * units)``,
``recurrent_kernel (units, gates * units)``, ``bias``. Dropout follows Keras: one input mask per sequence,
and with ``recurrent_dropout`` one mask per gate for the inputs and for the state (Keras's
``implementation=1``).

``RNN`` asks a cell for :meth:`fused_spec`: when the cell's step is one of torch's fused kernels
(``torch.rnn_tanh`` / ``rnn_relu`` / ``lstm`` / ``gru``), the whole sequence runs in one kernel call, so
``RNN(LSTMCell(n))`` is as fast as ``LSTM(n)``.

Example:
    >>> import torch, loom
    >>> cell = loom.layers.LSTMCell(4)
    >>> h, (h_again, c) = cell(torch.ones(2, 3), [torch.zeros(2, 4), torch.zeros(2, 4)])
    >>> h.shape, c.shape
    (torch.Size([2, 4]), torch.Size([2, 4]))
"""

from __future__ import annotations

from typing import Any

import torch

from loom import activations
from loom.errors import InputError
from loom.layers.layer import Layer
from loom.layers.layer_args import positive_int, serialize_args
from loom.layers.recurrent_weights import WEIGHT_ARGS, add_recurrent_weights, forget_bias_initializer
from loom.layers.rnn_cell_base import DropoutRNNCell, parse_cell_args, zero_states


def _project(x: torch.Tensor, kernel: torch.Tensor, mask: Any, gates: int) -> torch.Tensor:
    """``x @ kernel`` with no mask, one mask, or one mask per gate (a list)."""
    if mask is None:
        return x @ kernel
    if isinstance(mask, (list, tuple)):
        return torch.cat([(x * m) @ k for m, k in zip(mask, kernel.chunk(gates, dim=1))], dim=1)
    return (x * mask) @ kernel


def _is(fn: Any, *candidates: Any) -> bool:
    return any(fn is c for c in candidates)


class _GatedCell(DropoutRNNCell, Layer):
    """Shared weights, dropout and config of the three built-in cells (``_gates`` blocks of ``units``)."""

    _gates = 1

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs):
        kwargs.pop("implementation", None)  # Keras chooses it from recurrent_dropout, as loom does
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.units = positive_int(owner, "units", units)
        parse_cell_args(self, owner, locals())
        if self.recurrent_dropout and self._gates > 1:
            self.dropout_mask_count = self._gates
        self.state_size = units
        self.output_size = units

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None or len(input_shape) != 2:
            raise InputError(f"{type(self).__name__} '{self.name}' needs step inputs of shape (batch, features) "
                             f"with a known feature size, got {tuple(input_shape)}.")
        width = self._gates * self.units
        add_recurrent_weights(self, (features, width), (self.units, width), self._bias_shape(),
                              self._bias_initializer())

    def _bias_shape(self) -> tuple:
        return (self._gates * self.units,)

    def _bias_initializer(self):
        return self.bias_initializer

    def _masks(self, inputs: torch.Tensor, h: torch.Tensor, training: bool) -> tuple[Any, Any]:
        if not training:
            return None, None
        return self.get_dropout_mask(inputs), self.get_recurrent_dropout_mask(h)

    def _states(self, states: Any, count: int) -> list[torch.Tensor]:
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != count:
            raise InputError(f"{type(self).__name__} '{self.name}' takes {count} state tensor(s) of shape "
                             f"(batch, {self.units}), got {len(states)}.")
        return states

    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        """Zero states ``(batch_size, units)``."""
        return zero_states(self.state_size, batch_size or 1)

    def fused_spec(self, training: bool):
        """``(torch kernel, parameters, has_biases)`` running this cell over a sequence, or ``None``."""
        return None

    def _fused_params(self, reorder=None) -> list[torch.Tensor]:
        """The weights as torch's fused kernels take them (``(gates * units, in)``, torch's gate order)."""
        reorder = reorder or (lambda t, dim: t)
        params = [reorder(self.kernel.t(), 0).contiguous(), reorder(self.recurrent_kernel.t(), 0).contiguous()]
        if self.use_bias:
            input_bias, recurrent_bias = self._biases()
            if recurrent_bias is None:
                recurrent_bias = torch.zeros_like(input_bias)
            params += [reorder(input_bias, 0), reorder(recurrent_bias, 0)]
        return params

    def _biases(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        return (self.bias if self.use_bias else None), None

    def _fusable(self, training: bool) -> bool:
        """The default activations and no recurrent dropout in training."""
        return (not (training and self.recurrent_dropout)
                and _is(self.activation, activations.tanh, torch.tanh)
                and _is(self.recurrent_activation, activations.sigmoid, torch.sigmoid))

    def get_config(self):
        config = {**super().get_config(), **serialize_args(self, "units", "activation")}
        if self._gates > 1:
            config.update(serialize_args(self, "recurrent_activation"))
        config["use_bias"] = self.use_bias
        if hasattr(self, "unit_forget_bias"):
            config["unit_forget_bias"] = self.unit_forget_bias
        config.update(serialize_args(self, *WEIGHT_ARGS, "dropout", "recurrent_dropout"))
        if hasattr(self, "reset_after"):
            config["reset_after"] = self.reset_after
        config["seed"] = self.seed
        return config


class SimpleRNNCell(_GatedCell):
    """One step of ``SimpleRNN``: ``h = activation(x W + b + h_prev U)``.

    Args:
        units: the output and state size (a positive int).
        activation: default ``'tanh'``.
        use_bias: default ``True``.
        kernel_initializer: default ``'glorot_uniform'``.
        recurrent_initializer: default ``'orthogonal'``.
        bias_initializer: default ``'zeros'``.
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        recurrent_constraint: the same for the recurrent kernel (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        dropout: fraction of the inputs dropped in training, one mask per sequence (default 0.0).
        recurrent_dropout: fraction of the state dropped in training, one mask per sequence (default 0.0).
        seed: seed of the dropout masks (default ``None``).
        **kwargs: the base layer arguments; Keras's ``implementation`` is accepted and ignored.

    Input shape:
        One step: ``inputs`` ``(batch, features)`` and ``states`` ``[h]``, ``h`` ``(batch, units)``.

    Output shape:
        ``output`` ``(batch, units)``; ``new_states`` ``[output]``.

    Returns:
        ``(h, [h])`` with ``h = activation(inputs @ kernel + bias + h_prev @ recurrent_kernel)``.

    Raises:
        ConfigError: a non-positive ``units``, a non-numeric dropout rate, or an unknown activation /
            initializer name.
        InputError: step inputs that are not ``(batch, features)`` with a known ``features``, or not
            exactly one state.

    Example:
        >>> import torch, loom
        >>> cell = SimpleRNNCell(2, kernel_initializer="ones", recurrent_initializer="zeros", activation="relu")
        >>> h, states = cell(torch.ones(1, 3), [torch.zeros(1, 2)])
        >>> h.tolist(), states[0] is h
        ([[3.0, 3.0]], True)
        >>> loom.layers.RNN(SimpleRNNCell(3), return_sequences=True)(torch.ones(2, 5, 4)).shape
        torch.Size([2, 5, 3])
    """

    _gates = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=None, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, **kwargs)

    def call(self, inputs, states, training=False):
        (h,) = self._states(states, 1)
        dp, rec = self._masks(inputs, h, training)
        z = _project(inputs, self.kernel, dp, 1)
        if self.use_bias:
            z = z + self.bias
        output = self.activation(z + _project(h, self.recurrent_kernel, rec, 1))
        return output, [output]

    def fused_spec(self, training: bool):
        if training and self.recurrent_dropout:
            return None
        if _is(self.activation, activations.tanh, torch.tanh):
            return torch.rnn_tanh, self._fused_params(), self.use_bias
        if _is(self.activation, activations.relu, torch.relu):
            return torch.rnn_relu, self._fused_params(), self.use_bias
        return None


class LSTMCell(_GatedCell):
    """One step of ``LSTM`` (gates ``i, f, c, o``); states ``[h, c]``.

    Args:
        units: the output and state size (a positive int).
        activation: default ``'tanh'``.
        recurrent_activation: activation of the gates (default ``'sigmoid'``).
        use_bias: default ``True``.
        kernel_initializer: default ``'glorot_uniform'``.
        recurrent_initializer: default ``'orthogonal'``.
        bias_initializer: default ``'zeros'``.
        unit_forget_bias: initialize the forget gate's bias to 1 (default ``True``).
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        recurrent_constraint: the same for the recurrent kernel (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        dropout: fraction of the inputs dropped in training, one mask per sequence (one per gate when
            ``recurrent_dropout`` is set) (default 0.0).
        recurrent_dropout: fraction of the state dropped in training, one mask per gate and sequence
            (default 0.0).
        seed: seed of the dropout masks (default ``None``).
        **kwargs: the base layer arguments; Keras's ``implementation`` is accepted and ignored.

    Input shape:
        One step: ``inputs`` ``(batch, features)`` and ``states`` ``[h, c]``, each ``(batch, units)``.

    Output shape:
        ``output`` ``(batch, units)``; ``new_states`` ``[h, c]``, each ``(batch, units)``.

    Returns:
        ``(h, [h, c])``: the new hidden state (also the output) and the new states.

    Raises:
        ConfigError: a non-positive ``units``, a non-numeric dropout rate, or an unknown activation /
            initializer name.
        InputError: step inputs that are not ``(batch, features)`` with a known ``features``, or not
            exactly two states.

    Example:
        >>> import torch, loom
        >>> cell = LSTMCell(4)
        >>> h, (h_again, c) = cell(torch.ones(2, 3), cell.get_initial_state(batch_size=2))
        >>> h.shape, c.shape, [w.shape for w in cell.get_weights()]
        (torch.Size([2, 4]), torch.Size([2, 4]), [(3, 16), (4, 16), (16,)])
        >>> out, h, c = loom.layers.RNN(LSTMCell(3), return_state=True)(torch.ones(2, 5, 4))
        >>> bool((out == h).all())
        True
    """

    _gates = 4

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [units, units]

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return forget_bias_initializer(self.bias_initializer, self.units)

    def call(self, inputs, states, training=False):
        h, c = self._states(states, 2)
        dp, rec = self._masks(inputs, h, training)
        z = _project(inputs, self.kernel, dp, 4) + _project(h, self.recurrent_kernel, rec, 4)
        if self.use_bias:
            z = z + self.bias
        z_i, z_f, z_c, z_o = z.chunk(4, dim=1)
        c = self.recurrent_activation(z_f) * c + self.recurrent_activation(z_i) * self.activation(z_c)
        h = self.recurrent_activation(z_o) * self.activation(c)
        return h, [h, c]

    def fused_spec(self, training: bool):
        return (torch.lstm, self._fused_params(), self.use_bias) if self._fusable(training) else None


class GRUCell(_GatedCell):
    """One step of ``GRU`` (gates ``z, r, h``; ``reset_after=True`` by default, as Keras and cuDNN).

    Args:
        units: the output and state size (a positive int).
        activation: default ``'tanh'``.
        recurrent_activation: activation of the gates (default ``'sigmoid'``).
        use_bias: default ``True``.
        kernel_initializer: default ``'glorot_uniform'``.
        recurrent_initializer: default ``'orthogonal'``.
        bias_initializer: default ``'zeros'``.
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        recurrent_constraint: the same for the recurrent kernel (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        dropout: fraction of the inputs dropped in training, one mask per sequence (one per gate when
            ``recurrent_dropout`` is set) (default 0.0).
        recurrent_dropout: fraction of the state dropped in training, one mask per gate and sequence
            (default 0.0).
        reset_after: apply the reset gate after the recurrent matrix product; the bias is then
            ``(2, 3 * units)`` (input and recurrent biases) (default ``True``).
        seed: seed of the dropout masks (default ``None``).
        **kwargs: the base layer arguments; Keras's ``implementation`` is accepted and ignored.

    Input shape:
        One step: ``inputs`` ``(batch, features)`` and ``states`` ``[h]``, ``h`` ``(batch, units)``.

    Output shape:
        ``output`` ``(batch, units)``; ``new_states`` ``[output]``.

    Returns:
        ``(h, [h])`` with ``h = z * h_prev + (1 - z) * candidate``.

    Raises:
        ConfigError: a non-positive ``units``, a non-numeric dropout rate, or an unknown activation /
            initializer name.
        InputError: step inputs that are not ``(batch, features)`` with a known ``features``, or not
            exactly one state.

    Example:
        >>> import torch, loom
        >>> cell = GRUCell(3)
        >>> loom.layers.RNN(cell)(torch.ones(2, 5, 4)).shape
        torch.Size([2, 3])
        >>> [w.shape for w in cell.get_weights()]
        [(4, 9), (3, 9), (2, 9)]
    """

    _gates = 3

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, reset_after: bool = True,
                 seed: int | None = None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _biases(self):
        if not self.use_bias:
            return None, None
        return (self.bias[0], self.bias[1]) if self.reset_after else (self.bias, None)

    def call(self, inputs, states, training=False):
        (h,) = self._states(states, 1)
        dp, rec = self._masks(inputs, h, training)
        input_bias, recurrent_bias = self._biases()
        x = _project(inputs, self.kernel, dp, 3)
        if input_bias is not None:
            x = x + input_bias
        x_z, x_r, x_h = x.chunk(3, dim=1)
        rec_zr, rec_h = (rec[:2], rec[2]) if isinstance(rec, (list, tuple)) else (rec, rec)
        u_zr, u_h = self.recurrent_kernel[:, :2 * self.units], self.recurrent_kernel[:, 2 * self.units:]
        if self.reset_after:
            inner = _project(h, u_zr, rec_zr, 2)
            inner_h = _project(h, u_h, rec_h, 1)
            if recurrent_bias is not None:
                inner = inner + recurrent_bias[:2 * self.units]
                inner_h = inner_h + recurrent_bias[2 * self.units:]
            z, r = self.recurrent_activation(torch.cat([x_z, x_r], dim=1) + inner).chunk(2, dim=1)
            candidate = self.activation(x_h + r * inner_h)
        else:
            inner = _project(h, u_zr, rec_zr, 2)
            z, r = self.recurrent_activation(torch.cat([x_z, x_r], dim=1) + inner).chunk(2, dim=1)
            h_h = h if rec_h is None else h * rec_h
            candidate = self.activation(x_h + (r * h_h) @ u_h)
        output = z * h + (1.0 - z) * candidate
        return output, [output]

    def fused_spec(self, training: bool):
        if not (self.reset_after and self._fusable(training)):
            return None
        return torch.gru, self._fused_params(_keras_to_torch_gates), self.use_bias


def _keras_to_torch_gates(value: torch.Tensor, dim: int) -> torch.Tensor:
    """Keras's GRU gate blocks ``z, r, h`` in torch's order ``r, z, n``."""
    z, r, h = value.chunk(3, dim=dim)
    return torch.cat([r, z, h], dim=dim)
