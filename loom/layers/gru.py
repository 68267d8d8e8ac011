"""``GRU``: Gated Recurrent Unit (Cho et al., 2014), Keras's formulation (``reset_after=True`` by default).

Example:
    >>> import loom
    >>> x = loom.Input((None, 6))
    >>> loom.layers.GRU(4, return_sequences=True)(x).shape
    (None, None, 4)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom.layers.rnn_base import RecurrentLayer


class GRU(RecurrentLayer):
    """Gated Recurrent Unit layer.

    Per step, with update gate ``z``, reset gate ``r`` and candidate ``hh``::

        z = recurrent_activation(x W_z + h U_z + b_z),  r = recurrent_activation(x W_r + h U_r + b_r)
        hh = activation(x W_h + r * (h U_h + b'_h))     # reset_after=True (Keras's default, as cuDNN/torch)
        hh = activation(x W_h + (r * h) U_h)            # reset_after=False (the original paper)
        h_t = z * h + (1 - z) * hh

    Weights, as Keras (gates ``z, r, h``): ``kernel (features, 3 * units)``,
    ``recurrent_kernel (units, 3 * units)``, ``bias (2, 3 * units)`` (input and recurrent biases) with
    ``reset_after``, else ``(3 * units,)``. Inside they are kept in torch's order ``r, z, n``, so
    ``torch.gru`` (cuDNN on GPU) runs them directly when no mask or recurrent dropout applies.

    Args:
        units: the output size (a positive int).
        activation: default ``'tanh'``.
        recurrent_activation: activation of the gates (default ``'sigmoid'``).
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
        stateful: carry the final state of a batch over to the next batch (default ``False``).
        unroll: accepted for compatibility; ignored (default ``False``).
        reset_after: apply the reset gate after the recurrent matrix product (default ``True``).
        use_cudnn: accepted for compatibility (default ``'auto'``).
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
        The output (and the final state ``h`` after it with ``return_state=True``).

    Example:
        >>> import torch
        >>> layer = GRU(3)
        >>> layer(torch.randn(2, 7, 5)).shape
        torch.Size([2, 3])
        >>> [w.shape for w in layer.get_weights()]
        [(5, 9), (3, 9), (2, 9)]
    """

    _gate_count = 3
    _state_count = 1

    def __init__(self, units: int, activation: Any = "tanh", recurrent_activation: Any = "sigmoid",
                 use_bias: bool = True, kernel_initializer: Any = "glorot_uniform",
                 recurrent_initializer: Any = "orthogonal", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, recurrent_regularizer: Any = None, bias_regularizer: Any = None,
                 activity_regularizer: Any = None, kernel_constraint: Any = None, recurrent_constraint: Any = None,
                 bias_constraint: Any = None, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 seed: int | None = None, return_sequences: bool = False, return_state: bool = False,
                 go_backwards: bool = False, stateful: bool = False, unroll: bool = False,
                 reset_after: bool = True, use_cudnn: Any = "auto", **kwargs):
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
        self.reset_after = bool(reset_after)

    def _bias_shape(self) -> tuple:
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _reorder_gates(self, value: torch.Tensor, dim: int) -> torch.Tensor:
        """Swap the first two gate blocks: Keras ``z, r, h`` <-> torch ``r, z, n``."""
        first, second, third = value.chunk(3, dim=dim)
        return torch.cat([second, first, third], dim=dim)

    def _input_bias(self):
        if not self.use_bias:
            return None
        return self.bias[0] if self.reset_after else self.bias

    def _recurrent_bias(self):
        return self.bias[1] if self.use_bias and self.reset_after else None

    def _step(self, x_t, states, rec_masks):
        h = states[0]
        x_r, x_z, x_h = x_t.chunk(3, dim=1)
        u = self.units
        if self.reset_after:
            projected = self._recurrent_projection(h, rec_masks)
            r, z = self.recurrent_activation(x_t[:, :2 * u] + projected[:, :2 * u]).chunk(2, dim=1)
            candidate = self.activation(x_h + r * projected[:, 2 * u:])
        else:
            w_r, w_z, w_h = self.recurrent_kernel.split(u, dim=0)
            masks = rec_masks if rec_masks is not None else (None, None, None)
            r = self.recurrent_activation(x_r + F.linear(_masked(h, masks[0]), w_r))
            z = self.recurrent_activation(x_z + F.linear(_masked(h, masks[1]), w_z))
            candidate = self.activation(x_h + F.linear(r * _masked(h, masks[2]), w_h))
        h = z * h + (1.0 - z) * candidate
        return h, [h]

    def _fused_spec(self):
        if not (self.reset_after and self._fusable_activations()):
            return None
        return torch.gru, self._fused_params(), self.use_bias

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


def _masked(h: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    return h if mask is None else h * mask
