"""``SimpleRNN``: the fully connected recurrent layer ``h_t = activation(x_t W + h_{t-1} U + b)``.

Example:
    >>> import loom
    >>> x = loom.Input((None, 6))
    >>> loom.layers.SimpleRNN(4, return_sequences=True)(x).shape
    (None, None, 4)
"""

from __future__ import annotations

from typing import Any

import torch

from loom import activations
from loom.layers.rnn_base import RecurrentLayer


class SimpleRNN(RecurrentLayer):
    """A fully connected RNN whose output is fed back as the next step's state.

    Weights, as Keras: ``kernel (features, units)``, ``recurrent_kernel (units, units)``, ``bias (units,)``.
    Runs torch's fused kernel for ``tanh`` and ``relu`` activations when no mask or recurrent dropout
    applies.

    Args:
        units: the output size (a positive int).
        activation: default ``'tanh'``.
        use_bias: default ``True``.
        kernel_initializer: default ``'glorot_uniform'``.
        recurrent_initializer: default ``'orthogonal'``.
        bias_initializer: default ``'zeros'``.
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        activity_regularizer: default ``None``.
        kernel_constraint: default ``None``.
        recurrent_constraint: default ``None``.
        bias_constraint: default ``None``.
        dropout: fraction of the inputs dropped in training, one mask per sequence (default 0.0).
        recurrent_dropout: fraction of the recurrent state dropped in training (default 0.0).
        seed: seed of the dropout masks (default ``None``).
        return_sequences: return every step's output, not only the last (default ``False``).
        return_state: also return the final state (default ``False``).
        go_backwards: process the sequence backwards and return the reversed sequence (default ``False``).
        stateful: carry the final state of a batch over as the next batch's initial state (default ``False``).
        unroll: accepted for compatibility; ignored (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``) and ``zero_output_for_mask``: masked
            steps output zeros instead of repeating the previous output
            (default ``False``).

    Call arguments:
        inputs: ``(batch, timesteps, features)``.
        initial_state: the initial state ``(batch, units)`` (a tensor or a one-element list; default zeros).
        mask: boolean ``(batch, timesteps)``; masked steps are skipped (default ``None``).

    Input shape:
        ``(batch, timesteps, features)``.

    Output shape:
        ``(batch, units)``, or ``(batch, timesteps, units)`` with ``return_sequences=True``.

    Returns:
        The output (and the final state after it with ``return_state=True``).

    Example:
        >>> import torch
        >>> SimpleRNN(3)(torch.randn(2, 7, 5)).shape
        torch.Size([2, 3])
    """

    _gate_count = 1
    _state_count = 1

    def __init__(self, units: int, activation: Any = "tanh", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=None, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                         bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                         return_sequences=return_sequences, return_state=return_state, go_backwards=go_backwards,
                         stateful=stateful, unroll=unroll, **kwargs)

    def _step(self, x_t, states, rec_masks):
        h = self.activation(x_t + self._recurrent_projection(states[0], rec_masks))
        return h, [h]

    def _fused_spec(self):
        if self._is(self.activation, activations.tanh, torch.tanh):
            kernel = torch.rnn_tanh
        elif self._is(self.activation, activations.relu, torch.relu):
            kernel = torch.rnn_relu
        else:
            return None
        return kernel, self._fused_params(), self.use_bias
