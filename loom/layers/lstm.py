"""``LSTM``: Long Short-Term Memory (Hochreiter & Schmidhuber, 1997), Keras's formulation and weights.

Example:
    >>> import loom
    >>> x = loom.Input((None, 6))
    >>> loom.layers.LSTM(4)(x).shape
    (None, 4)
"""

from __future__ import annotations

from typing import Any

import torch

from loom.layers.recurrent_weights import forget_bias_initializer
from loom.layers.rnn_base import RecurrentLayer


class LSTM(RecurrentLayer):
    """Long Short-Term Memory layer.

    Per step, with gates in Keras's (and torch's) order ``i, f, c, o``::

        i, f, o = recurrent_activation(...), c_t = f * c_{t-1} + i * activation(x W_c + h U_c + b_c)
        h_t = o * activation(c_t)

    Weights, as Keras: ``kernel (features, 4 * units)``, ``recurrent_kernel (units, 4 * units)``,
    ``bias (4 * units,)``. Runs ``torch.lstm`` (cuDNN on GPU) for the default activations when no mask or
    recurrent dropout applies, a step loop with Keras's masking semantics otherwise.

    Args:
        units: the output size (a positive int).
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
        activity_regularizer: default ``None``.
        kernel_constraint: default ``None``.
        recurrent_constraint: default ``None``.
        bias_constraint: default ``None``.
        dropout: fraction of the inputs dropped in training, one mask per sequence (default 0.0).
        recurrent_dropout: fraction of the recurrent state dropped in training (default 0.0).
        seed: seed of the dropout masks (default ``None``).
        return_sequences: return every step's output, not only the last (default ``False``).
        return_state: also return the final states ``h`` and ``c`` (default ``False``).
        go_backwards: process the sequence backwards and return the reversed sequence (default ``False``).
        stateful: carry the final states of a batch over to the next batch (default ``False``).
        unroll: accepted for compatibility; ignored (default ``False``).
        use_cudnn: accepted for compatibility (default ``'auto'``); the fused kernel is used when possible.
        **kwargs: base layer arguments (``name``, ``dtype``, ``trainable``) and ``zero_output_for_mask``: masked
            steps output zeros instead of repeating the previous output
            (default ``False``).

    Call arguments:
        inputs: ``(batch, timesteps, features)``.
        initial_state: ``[h, c]``, each ``(batch, units)`` (default zeros).
        mask: boolean ``(batch, timesteps)``; masked steps are skipped (default ``None``).

    Input shape:
        ``(batch, timesteps, features)``.

    Output shape:
        ``(batch, units)``, or ``(batch, timesteps, units)`` with ``return_sequences=True``.

    Returns:
        The output (and the final states ``h``, ``c`` after it with ``return_state=True``).

    Example:
        >>> import torch
        >>> out, h, c = LSTM(3, return_state=True)(torch.randn(2, 7, 5))
        >>> bool((out == h).all())
        True
    """

    _gate_count = 4
    _state_count = 2

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 unit_forget_bias: bool = True, kernel_regularizer: Any = None, recurrent_regularizer: Any = None,
                 bias_regularizer: Any = None, activity_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, use_cudnn: Any = "auto", **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout,
                         seed=seed, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll, use_cudnn=use_cudnn,
                         **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_initializer(self):
        if not self.unit_forget_bias:
            return self.bias_initializer
        return forget_bias_initializer(self.bias_initializer, self.units)

    def _step(self, x_t, states, rec_masks):
        h, c = states
        z = x_t + self._recurrent_projection(h, rec_masks)
        gates = self.recurrent_activation(z)  # elementwise: one call for i, f, o (the c slice is unused)
        i, f, _, o = gates.chunk(4, dim=1)
        c = f * c + i * self.activation(z[:, 2 * self.units:3 * self.units])
        h = o * self.activation(c)
        return h, [h, c]

    def _fused_spec(self):
        if not self._fusable_activations():
            return None
        return torch.lstm, self._fused_params(), self.use_bias

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
