"""``ConvLSTM1D`` / ``ConvLSTM2D`` / ``ConvLSTM3D``: LSTMs whose matrix products are convolutions.

Each step convolves the input frame with ``kernel`` (the layer's ``strides``, ``padding``, ``dilation_rate``)
and the previous state ``h`` with ``recurrent_kernel`` (stride 1, ``'same'`` padding), and applies the LSTM
gates ``i, f, c, o`` channel-wise (Shi et al., 2015). Weights are Keras's: ``kernel (*kernel_size, channels,
4 * filters)``, ``recurrent_kernel (*kernel_size, filters, 4 * filters)``, ``bias (4 * filters,)``, kept in
the cell (``layer.cell``) as in Keras. The layers are ``RNN`` subclasses: ``return_sequences``,
``return_state``, ``go_backwards``, ``stateful``, ``initial_state`` and masks work as for any ``RNN``.

Example:
    >>> import loom
    >>> x = loom.Input((5, 16, 16, 3))
    >>> loom.layers.ConvLSTM2D(8, 3, padding="same", return_sequences=True)(x).shape
    (None, 5, 16, 16, 8)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom import backend, regularizers
from loom.errors import ConfigError, ShapeError
from loom.layers.activity_penalty import ActivityPenalty
from loom.layers.conv_base import data_format_arg, flat_pad, int_tuple, padding_arg, same_padding
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer
from loom.layers.layer_args import positive_int, serialize_args
from loom.layers.recurrent_weights import add_recurrent_weights, forget_bias_initializer
from loom.layers.rnn import RNN
from loom.layers.rnn_cell_base import DropoutRNNCell, parse_cell_args

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CELL_ARGS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
              "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
              "bias_initializer", "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
              "recurrent_dropout", "seed")


class ConvLSTMCell(DropoutRNNCell, Layer):
    """One step of a ConvLSTM layer (``rank`` spatial dimensions); states ``[h, c]``.

    Args:
        rank: 1, 2 or 3 spatial dimensions.
        filters: as the ConvLSTM layers.
        kernel_size: as the ConvLSTM layers.
        strides: as the ConvLSTM layers.
        padding: as the ConvLSTM layers.
        data_format: as the ConvLSTM layers.
        dilation_rate: as the ConvLSTM layers.
        activation: as ``LSTMCell``.
        recurrent_activation: as ``LSTMCell``.
        use_bias: as ``LSTMCell``.
        kernel_initializer: as ``LSTMCell``.
        recurrent_initializer: as ``LSTMCell``.
        bias_initializer: as ``LSTMCell``.
        unit_forget_bias: as ``LSTMCell``.
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        kernel_constraint: default ``None``.
        recurrent_constraint: default ``None``.
        bias_constraint: default ``None``.
        dropout: input dropout rate, one mask per gate, as Keras (default 0.0).
        recurrent_dropout: state dropout rate, one mask per gate (default 0.0).
        seed: seed of the dropout masks (default ``None``).

    Example:
        >>> import torch
        >>> cell = ConvLSTMCell(2, filters=4, kernel_size=3, padding="same")
        >>> h, (h2, c) = cell(torch.ones(1, 8, 8, 2), [torch.zeros(1, 8, 8, 4)] * 2)
        >>> h.shape
        torch.Size([1, 8, 8, 4])
    """

    dropout_mask_count = 4

    def __init__(self, rank: int, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, kernel_constraint: Any = None,
                 recurrent_constraint: Any = None, bias_constraint: Any = None, dropout: float = 0.0,
                 recurrent_dropout: float = 0.0, seed: int | None = None, **kwargs):
        owner = kwargs.pop("_owner", None)  # the ConvLSTM layer the user made: messages name it
        super().__init__(**kwargs)
        owner = self._owner = owner or f"{type(self).__name__} '{self.name}'"
        self.rank = rank
        self.filters = positive_int(owner, "filters", filters)
        self.kernel_size = int_tuple(kernel_size, rank, "kernel_size", owner)
        self.strides = int_tuple(strides, rank, "strides", owner)
        self.padding = padding_arg(padding, owner)
        self.data_format = data_format_arg(data_format, owner)
        self.dilation_rate = int_tuple(dilation_rate, rank, "dilation_rate", owner)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ConfigError(f"{owner}: strides > 1 is not compatible with dilation_rate > 1; got strides="
                              f"{self.strides} and dilation_rate={self.dilation_rate}.")
        parse_cell_args(self, owner, locals())
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = -1  # the states are feature maps; their shape comes from get_initial_state
        self._channels_last = self.data_format == "channels_last"

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ShapeError(f"{self._owner} expects step inputs of rank {self.rank + 2}, got {input_shape}.")
        spatial = input_shape[1:-1] if self._channels_last else input_shape[2:]
        channels = input_shape[-1] if self._channels_last else input_shape[1]
        if None in spatial or channels is None:
            raise ShapeError(f"{self._owner} needs static spatial and channel dimensions, got step input shape "
                             f"{input_shape}.")
        self.spatial_dims, self.input_dim = tuple(spatial), int(channels)
        bias_initializer = (forget_bias_initializer(self.bias_initializer, self.filters) if self.unit_forget_bias
                            else self.bias_initializer)
        add_recurrent_weights(self, self.kernel_size + (channels, 4 * self.filters),
                              self.kernel_size + (self.filters, 4 * self.filters), (4 * self.filters,),
                              bias_initializer)

    # ----------------------------------------------------------------------------------------- shapes
    def output_spatial(self, spatial: tuple) -> tuple:
        """The spatial size of the states for input frames of size ``spatial``."""
        out = []
        for n, k, s, d in zip(spatial, self.kernel_size, self.strides, self.dilation_rate):
            effective = (k - 1) * d + 1
            out.append(-(-n // s) if self.padding == "same" else (n - effective) // s + 1)
        return tuple(out)

    def get_initial_state(self, batch_size: int | None = None) -> list[torch.Tensor]:
        """Zero states ``h`` and ``c`` shaped as the convolution's output."""
        spatial = self.output_spatial(self.spatial_dims)
        shape = (batch_size or 1,) + (spatial + (self.filters,) if self._channels_last else (self.filters,) + spatial)
        device = backend.scope_device()  # the model's device inside fit / predict
        return [torch.zeros(shape, device=device), torch.zeros(shape, device=device)]

    # ----------------------------------------------------------------------------------------- calling
    def _first(self, x: torch.Tensor) -> torch.Tensor:
        return x.movedim(-1, 1) if self._channels_last else x

    def _last(self, x: torch.Tensor) -> torch.Tensor:
        return x.movedim(1, -1) if self._channels_last else x

    def _torch_kernel(self, w: torch.Tensor) -> torch.Tensor:
        """A Keras ``(*k, in, out)`` kernel as torch's ``(out, in, *k)``."""
        r = self.rank
        return w.permute((r + 1, r) + tuple(range(r)))

    def _conv(self, x: torch.Tensor, w: torch.Tensor, recurrent: bool) -> torch.Tensor:
        """Channels-first ``x`` convolved with torch-layout ``w`` (input or recurrent convolution)."""
        if recurrent:
            pads = [same_padding(n, k, 1, 1) for n, k in zip(x.shape[2:], self.kernel_size)]
            strides, dilation = (1,) * self.rank, (1,) * self.rank
        else:
            strides, dilation = self.strides, self.dilation_rate
            pads = ([same_padding(n, k, s, d) for n, k, s, d in zip(x.shape[2:], self.kernel_size, strides, dilation)]
                    if self.padding == "same" else [(0, 0)] * self.rank)
        if any(p != (0, 0) for p in pads):
            x = F.pad(x, flat_pad(pads))
        return _CONV[self.rank](x, w, None, strides, 0, dilation)

    def _gates(self, x: torch.Tensor, kernel: torch.Tensor, masks: Any, recurrent: bool) -> torch.Tensor:
        """The convolution of all four gates, ``(batch, 4 * filters, ...)``, with per-gate dropout masks."""
        w = self._torch_kernel(kernel)
        if masks is None:
            return self._conv(self._first(x), w, recurrent)
        return torch.cat([self._conv(self._first(x * m), wg, recurrent) for m, wg in zip(masks, w.chunk(4, dim=0))],
                         dim=1)

    def _input_gates(self, frames: torch.Tensor, masks: Any) -> torch.Tensor:
        """The input convolution (plus bias) of a batch of frames, channels-first ``(n, 4 * filters, ...)``."""
        z = self._gates(frames, self.kernel, masks, False)
        return z + self.bias.view((1, -1) + (1,) * self.rank) if self.use_bias else z

    def project_sequence(self, sequences: torch.Tensor, training: bool = False) -> torch.Tensor:
        """The input convolutions of all steps at once, ``(batch, time, 4 * filters, ...)`` (used by ``RNN``:
        one large convolution instead of one per step; the steps then run :meth:`step_projected`)."""
        batch, steps = sequences.shape[:2]
        masks = self.get_dropout_mask(sequences[:, 0]) if training else None
        if masks is not None:
            masks = [m.unsqueeze(1).expand(sequences.shape).reshape((-1,) + tuple(m.shape[1:])) for m in masks]
        z = self._input_gates(sequences.reshape((batch * steps,) + tuple(sequences.shape[2:])), masks)
        return z.view((batch, steps) + tuple(z.shape[1:]))

    def step_projected(self, z_x: torch.Tensor, states: list, training: bool = False):
        """One step from the projected inputs ``z_x`` of :meth:`project_sequence`: ``(h, [h, c])``."""
        h, c = states
        rec = self.get_recurrent_dropout_mask(h) if training else None
        z = z_x + self._gates(h, self.recurrent_kernel, rec, True)
        z_i, z_f, z_c, z_o = z.chunk(4, dim=1)
        c = self.recurrent_activation(z_f) * self._first(c) + self.recurrent_activation(z_i) * self.activation(z_c)
        h = self._last(self.recurrent_activation(z_o) * self.activation(c))
        c = self._last(c)
        return h, [h, c]

    def call(self, inputs, states, training=False):
        masks = self.get_dropout_mask(inputs) if training else None
        return self.step_projected(self._input_gates(inputs, masks), list(states), training)

    def get_config(self):
        config = {**super().get_config(), "rank": self.rank}
        config.update(_cell_config(self))
        return config


def _cell_config(cell: ConvLSTMCell) -> dict:
    return serialize_args(cell, *_CELL_ARGS)


class ConvLSTM(ActivityPenalty, RNN):
    """Base of ``ConvLSTM1D/2D/3D``: an ``RNN`` over a ``ConvLSTMCell`` of ``rank`` spatial dimensions.

    Example:
        >>> import torch, loom
        >>> isinstance(loom.layers.ConvLSTM1D(2, 3), ConvLSTM)
        True
    """

    rank = 2

    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 data_format: str | None = None, dilation_rate: Any = 1, activation: Any = "tanh",
                 recurrent_activation: Any = "sigmoid", use_bias: bool = True,
                 kernel_initializer: Any = "glorot_uniform", recurrent_initializer: Any = "orthogonal",
                 bias_initializer: Any = "zeros", unit_forget_bias: bool = True, kernel_regularizer: Any = None,
                 recurrent_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, recurrent_constraint: Any = None, bias_constraint: Any = None,
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, seed: int | None = None,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, **kwargs):
        name = kwargs["name"] = kwargs.get("name") or backend.automatic_name(type(self))
        cell = ConvLSTMCell(
            self.rank, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
            dilation_rate=dilation_rate, activation=activation, recurrent_activation=recurrent_activation,
            use_bias=use_bias, kernel_initializer=kernel_initializer,
            recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
            unit_forget_bias=unit_forget_bias, kernel_regularizer=kernel_regularizer,
            recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
            kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
            bias_constraint=bias_constraint, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
            name="conv_lstm_cell", dtype=kwargs.get("dtype"), _owner=f"{type(self).__name__} '{name}'")
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.input_spec = InputSpec(ndim=self.rank + 3)

    def build(self, sequences_shape, initial_state_shape=None):
        if len(sequences_shape) != self.rank + 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 3} "
                             f"(batch, time, {self.rank} spatial dims, channels), got {tuple(sequences_shape)}.")
        super().build(sequences_shape)

    def call(self, sequences, initial_state=None, mask=None, training=None):
        if sequences.dim() != self.rank + 3:
            raise ShapeError(f"{type(self).__name__} '{self.name}' expects inputs of rank {self.rank + 3}, got "
                             f"{tuple(sequences.shape)}.")
        outputs = super().call(sequences, initial_state=initial_state, mask=mask, training=training)
        self._penalize_activity(*(outputs if isinstance(outputs, tuple) else [outputs]))
        return outputs

    def get_config(self):
        config = {**self._rnn_config(), **_cell_config(self.cell)}
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "ConvLSTM":
        return cls(**config)


for _name in _CELL_ARGS:
    if _name not in ("dropout", "recurrent_dropout", "seed"):
        setattr(ConvLSTM, _name, property(lambda self, n=_name: getattr(self.cell, n)))
ConvLSTM.dropout = property(lambda self: self.cell.dropout)
ConvLSTM.recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)


class ConvLSTM1D(ConvLSTM):
    """1-D convolutional LSTM over sequences of ``(steps, channels)`` frames.

    Per step, the LSTM's matrix products are convolutions: the input frame is convolved with ``kernel``
    (``strides``, ``padding``, ``dilation_rate``), the state ``h`` with ``recurrent_kernel`` (stride 1,
    ``'same'``), and the gates ``i, f, c, o`` act per position and channel. Weights (in ``layer.cell``, as
    Keras): ``kernel (*kernel_size, channels, 4 * filters)``, ``recurrent_kernel (*kernel_size, filters,
    4 * filters)``, ``bias (4 * filters,)``.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the convolution window, an int or a tuple of 1 int.
        strides: the input convolution's strides, an int or a tuple of 1 int (default 1).
        padding: ``'valid'`` (default) or ``'same'`` (case-insensitive), for the input convolution.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).
        dilation_rate: the input convolution's dilation, an int or a tuple of 1 int
            (default 1); not combined with ``strides`` > 1.
        activation: applied to the candidate and to the cell state (default ``'tanh'``).
        recurrent_activation: activation of the gates (default ``'sigmoid'``).
        use_bias: add a bias (default ``True``).
        kernel_initializer: default ``'glorot_uniform'``.
        recurrent_initializer: default ``'orthogonal'``.
        bias_initializer: default ``'zeros'``.
        unit_forget_bias: initialize the forget gate's bias to 1 (default ``True``).
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        activity_regularizer: a penalty on the returned tensors, added to ``losses`` divided by the batch size
            (default ``None``).
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        recurrent_constraint: the same for the recurrent kernel (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        dropout: fraction of the input frames dropped in training, one mask per gate and sequence
            (default 0.0).
        recurrent_dropout: fraction of the state ``h`` dropped in training, as ``dropout`` (default 0.0).
        seed: seed of the dropout masks (default ``None``).
        return_sequences: return every step's output, not only the last (default ``False``).
        return_state: also return the final states ``h`` and ``c`` (default ``False``).
        go_backwards: process the sequence backwards and return the reversed sequence (default ``False``).
        stateful: carry the final states of a batch over to the next batch (default ``False``).
        **kwargs: the base layer arguments, and ``RNN``'s ``unroll`` (ignored) and ``zero_output_for_mask``.

    Call arguments:
        inputs: the sequences, shaped as below.
        initial_state: ``[h, c]``, each shaped as one step's output (default zeros).
        mask: boolean ``(batch, time)``; masked steps are skipped (default ``None``).
        training: apply dropout (default: the layer's mode).

    Input shape:
        ``(batch, time, steps, channels)`` (channels last) or ``(batch, time, channels, steps)``; the
        spatial and channel sizes must be known.

    Output shape:
        ``(batch, new_steps, filters)`` (channels last) or ``(batch, filters, new_steps)``,
        with a ``time`` axis after ``batch`` when ``return_sequences=True``. Each new size is
        ``ceil(size / stride)`` with ``'same'`` padding, ``(size - dilation * (kernel - 1) - 1) // stride + 1``
        with ``'valid'``.

    Returns:
        The output; with ``return_state=True``, ``(output, h, c)``, the final states shaped as one step's
        output.

    Raises:
        ConfigError: a non-positive ``filters``, a malformed ``kernel_size`` / ``strides`` /
            ``dilation_rate``, ``strides`` > 1 with ``dilation_rate`` > 1, or an unknown ``padding``,
            ``data_format``, activation or initializer.
        ShapeError: inputs of another rank than 4, or with unknown spatial or channel sizes.

    Example:
        >>> import torch
        >>> layer = ConvLSTM1D(4, 3)
        >>> layer(torch.ones(2, 5, 10, 3)).shape  # 10 steps, kernel 3, 'valid': 8
        torch.Size([2, 8, 4])
        >>> [w.shape for w in layer.get_weights()]
        [(3, 3, 16), (3, 4, 16), (16,)]
    """

    rank = 1


class ConvLSTM2D(ConvLSTM):
    """2-D convolutional LSTM over sequences of ``(rows, cols, channels)`` images.

    Per step, the LSTM's matrix products are convolutions: the input frame is convolved with ``kernel``
    (``strides``, ``padding``, ``dilation_rate``), the state ``h`` with ``recurrent_kernel`` (stride 1,
    ``'same'``), and the gates ``i, f, c, o`` act per position and channel. Weights (in ``layer.cell``, as
    Keras): ``kernel (*kernel_size, channels, 4 * filters)``, ``recurrent_kernel (*kernel_size, filters,
    4 * filters)``, ``bias (4 * filters,)``.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the convolution window, an int (every axis) or a tuple of 2 ints.
        strides: the input convolution's strides, an int (every axis) or a tuple of 2 ints (default 1).
        padding: ``'valid'`` (default) or ``'same'`` (case-insensitive), for the input convolution.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).
        dilation_rate: the input convolution's dilation, an int (every axis) or a tuple of 2 ints
            (default 1); not combined with ``strides`` > 1.
        activation: applied to the candidate and to the cell state (default ``'tanh'``).
        recurrent_activation: activation of the gates (default ``'sigmoid'``).
        use_bias: add a bias (default ``True``).
        kernel_initializer: default ``'glorot_uniform'``.
        recurrent_initializer: default ``'orthogonal'``.
        bias_initializer: default ``'zeros'``.
        unit_forget_bias: initialize the forget gate's bias to 1 (default ``True``).
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        activity_regularizer: a penalty on the returned tensors, added to ``losses`` divided by the batch size
            (default ``None``).
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        recurrent_constraint: the same for the recurrent kernel (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        dropout: fraction of the input frames dropped in training, one mask per gate and sequence
            (default 0.0).
        recurrent_dropout: fraction of the state ``h`` dropped in training, as ``dropout`` (default 0.0).
        seed: seed of the dropout masks (default ``None``).
        return_sequences: return every step's output, not only the last (default ``False``).
        return_state: also return the final states ``h`` and ``c`` (default ``False``).
        go_backwards: process the sequence backwards and return the reversed sequence (default ``False``).
        stateful: carry the final states of a batch over to the next batch (default ``False``).
        **kwargs: the base layer arguments, and ``RNN``'s ``unroll`` (ignored) and ``zero_output_for_mask``.

    Call arguments:
        inputs: the sequences, shaped as below.
        initial_state: ``[h, c]``, each shaped as one step's output (default zeros).
        mask: boolean ``(batch, time)``; masked steps are skipped (default ``None``).
        training: apply dropout (default: the layer's mode).

    Input shape:
        ``(batch, time, rows, cols, channels)`` (channels last) or ``(batch, time, channels, rows, cols)``; the
        spatial and channel sizes must be known.

    Output shape:
        ``(batch, new_rows, new_cols, filters)`` (channels last) or ``(batch, filters, new_rows, new_cols)``,
        with a ``time`` axis after ``batch`` when ``return_sequences=True``. Each new size is
        ``ceil(size / stride)`` with ``'same'`` padding, ``(size - dilation * (kernel - 1) - 1) // stride + 1``
        with ``'valid'``.

    Returns:
        The output; with ``return_state=True``, ``(output, h, c)``, the final states shaped as one step's
        output.

    Raises:
        ConfigError: a non-positive ``filters``, a malformed ``kernel_size`` / ``strides`` /
            ``dilation_rate``, ``strides`` > 1 with ``dilation_rate`` > 1, or an unknown ``padding``,
            ``data_format``, activation or initializer.
        ShapeError: inputs of another rank than 5, or with unknown spatial or channel sizes.

    Example:
        >>> import torch
        >>> seq, h, c = ConvLSTM2D(4, 3, return_sequences=True, return_state=True)(torch.ones(2, 5, 8, 8, 3))
        >>> seq.shape, c.shape
        (torch.Size([2, 5, 6, 6, 4]), torch.Size([2, 6, 6, 4]))
        >>> bool((seq[:, -1] == h).all())
        True
    """

    rank = 2


class ConvLSTM3D(ConvLSTM):
    """3-D convolutional LSTM over sequences of ``(d1, d2, d3, channels)`` volumes.

    Per step, the LSTM's matrix products are convolutions: the input frame is convolved with ``kernel``
    (``strides``, ``padding``, ``dilation_rate``), the state ``h`` with ``recurrent_kernel`` (stride 1,
    ``'same'``), and the gates ``i, f, c, o`` act per position and channel. Weights (in ``layer.cell``, as
    Keras): ``kernel (*kernel_size, channels, 4 * filters)``, ``recurrent_kernel (*kernel_size, filters,
    4 * filters)``, ``bias (4 * filters,)``.

    Args:
        filters: the number of output channels (a positive int).
        kernel_size: the convolution window, an int (every axis) or a tuple of 3 ints.
        strides: the input convolution's strides, an int (every axis) or a tuple of 3 ints (default 1).
        padding: ``'valid'`` (default) or ``'same'`` (case-insensitive), for the input convolution.
        data_format: ``'channels_last'`` or ``'channels_first'`` (default ``None``:
            ``loom.config.image_data_format()``, ``'channels_last'`` unless set).
        dilation_rate: the input convolution's dilation, an int (every axis) or a tuple of 3 ints
            (default 1); not combined with ``strides`` > 1.
        activation: applied to the candidate and to the cell state (default ``'tanh'``).
        recurrent_activation: activation of the gates (default ``'sigmoid'``).
        use_bias: add a bias (default ``True``).
        kernel_initializer: default ``'glorot_uniform'``.
        recurrent_initializer: default ``'orthogonal'``.
        bias_initializer: default ``'zeros'``.
        unit_forget_bias: initialize the forget gate's bias to 1 (default ``True``).
        kernel_regularizer: default ``None``.
        recurrent_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        activity_regularizer: a penalty on the returned tensors, added to ``losses`` divided by the batch size
            (default ``None``).
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        recurrent_constraint: the same for the recurrent kernel (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        dropout: fraction of the input frames dropped in training, one mask per gate and sequence
            (default 0.0).
        recurrent_dropout: fraction of the state ``h`` dropped in training, as ``dropout`` (default 0.0).
        seed: seed of the dropout masks (default ``None``).
        return_sequences: return every step's output, not only the last (default ``False``).
        return_state: also return the final states ``h`` and ``c`` (default ``False``).
        go_backwards: process the sequence backwards and return the reversed sequence (default ``False``).
        stateful: carry the final states of a batch over to the next batch (default ``False``).
        **kwargs: the base layer arguments, and ``RNN``'s ``unroll`` (ignored) and ``zero_output_for_mask``.

    Call arguments:
        inputs: the sequences, shaped as below.
        initial_state: ``[h, c]``, each shaped as one step's output (default zeros).
        mask: boolean ``(batch, time)``; masked steps are skipped (default ``None``).
        training: apply dropout (default: the layer's mode).

    Input shape:
        ``(batch, time, d1, d2, d3, channels)`` (channels last) or ``(batch, time, channels, d1, d2, d3)``; the
        spatial and channel sizes must be known.

    Output shape:
        ``(batch, new_d1, new_d2, new_d3, filters)`` (channels last) or ``(batch, filters, new_d1, new_d2, new_d3)``,
        with a ``time`` axis after ``batch`` when ``return_sequences=True``. Each new size is
        ``ceil(size / stride)`` with ``'same'`` padding, ``(size - dilation * (kernel - 1) - 1) // stride + 1``
        with ``'valid'``.

    Returns:
        The output; with ``return_state=True``, ``(output, h, c)``, the final states shaped as one step's
        output.

    Raises:
        ConfigError: a non-positive ``filters``, a malformed ``kernel_size`` / ``strides`` /
            ``dilation_rate``, ``strides`` > 1 with ``dilation_rate`` > 1, or an unknown ``padding``,
            ``data_format``, activation or initializer.
        ShapeError: inputs of another rank than 6, or with unknown spatial or channel sizes.

    Example:
        >>> import torch
        >>> ConvLSTM3D(2, 3, padding="same")(torch.ones(1, 3, 4, 4, 4, 1)).shape
        torch.Size([1, 4, 4, 4, 2])
        >>> ConvLSTM3D(2, 3, strides=2, data_format="channels_first")(torch.ones(1, 3, 1, 7, 7, 7)).shape
        torch.Size([1, 2, 3, 3, 3])
    """

    rank = 3
