"""``EinsumDense``: a dense layer whose product is any einsum equation between the input and a kernel.

The equation has one of three forms: ``ab,bc->ac`` (every axis named), ``...b,bc->...c`` (leading axes
elided) or ``ab...,bc->ac...`` (trailing axes elided). The kernel's shape follows from the named axes: an
axis of the kernel that is in the output takes its size from ``output_shape``, one that is only in the input
takes the input's size. The layout is Keras's, so Keras weights load as they are.

Example:
    >>> import loom
    >>> x = loom.Input((32, 128))
    >>> loom.layers.EinsumDense("...x,xy->...y", output_shape=64, bias_axes="y")(x).shape
    (None, 32, 64)
"""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any, Sequence

import torch

from loom import activations, constraints, initializers, regularizers
from loom.errors import ConfigError, ShapeError
from loom.layers.activity_penalty import ActivityPenalty
from loom.layers.input_spec import InputSpec
from loom.layers.layer_args import DENSE_WEIGHT_ARGS, parse_args, serialize_args
from loom.layers.layer import Layer
from loom.layers import quantized

_FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", None),
          (r"\.\.\.([a-zA-Z]+),([a-zA-Z]+)->\.\.\.([a-zA-Z]+)$", "left"),
          (r"([a-zA-Z]{2,})\.\.\.,([a-zA-Z]+)->([a-zA-Z]+)\.\.\.$", "right"))


@dataclasses.dataclass
class EinsumShapes:
    """What an equation and an input shape imply: weight shapes, the full output shape, the kernel's axes."""

    kernel: list
    bias: list | None
    output: list
    input_axes: list
    output_axes: list


def _split(layer: str, equation: str) -> tuple[str, str, str, str | None]:
    for pattern, elided in _FORMS:
        match = re.match(pattern, equation.replace(" ", ""))
        if match:
            return match.group(1), match.group(2), match.group(3), elided
    raise ConfigError(f"EinsumDense '{layer}': invalid equation {equation!r}; the forms are 'ab,bc->ac', "
                      f"'...b,bc->...c' and 'ab...,bc->ac...'.")


def analyze_einsum(layer: str, equation: str, bias_axes: str | None, input_shape: Sequence,
                   output_shape: Sequence) -> EinsumShapes:
    """Weight and output shapes of an ``EinsumDense`` equation for ``input_shape`` (batch axis first).

    Raises:
        ConfigError: a malformed equation or ``bias_axes``; ShapeError: the input does not fit the equation.
    """
    in_spec, w_spec, out_spec, elided_side = _split(layer, equation)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(in_spec)
    if elided < 0 or (elided > 0 and elided_side is None):
        raise ShapeError(f"EinsumDense '{layer}': equation {equation!r} expects inputs of rank {len(in_spec)}, "
                         f"got shape {tuple(input_shape)}.")
    full = [input_shape[0]] + list(output_shape)
    if elided_side == "left":
        full[1:1] = input_shape[1:elided]
    elif elided_side == "right":
        full += input_shape[len(input_shape) - elided:]
    offset = elided if elided_side == "left" else 0
    in_index = {c: i + offset for i, c in enumerate(in_spec)}
    out_index = {c: i + offset for i, c in enumerate(out_spec)}
    if len(full) != len(out_spec) + elided:
        raise ShapeError(f"EinsumDense '{layer}': output_shape {tuple(output_shape)} does not fit the output "
                         f"spec {out_spec!r} of {equation!r}.")
    for c in in_spec:
        if c in out_index and full[out_index[c]] is not None and full[out_index[c]] != input_shape[in_index[c]]:
            raise ShapeError(f"EinsumDense '{layer}': axis '{c}' has size {input_shape[in_index[c]]} in the input "
                             f"{tuple(input_shape)} but {full[out_index[c]]} in output_shape.")
        if c in out_index:
            full[out_index[c]] = input_shape[in_index[c]]
    for c in out_spec:
        if c not in in_spec and c not in w_spec:
            raise ConfigError(f"EinsumDense '{layer}': output axis '{c}' of {equation!r} is in neither the input "
                              f"nor the kernel.")
    kernel, input_axes, output_axes = [], [], []
    for i, c in enumerate(w_spec):
        if c in out_index:
            kernel.append(full[out_index[c]])
            output_axes.append(i)
        elif c in in_index:
            kernel.append(input_shape[in_index[c]])
            input_axes.append(i)
        else:
            raise ConfigError(f"EinsumDense '{layer}': kernel axis '{c}' of {equation!r} is in neither the input "
                              f"nor the output.")
    return EinsumShapes(kernel, _bias_shape(layer, bias_axes, out_spec, full, offset, elided, elided_side),
                        full, input_axes, output_axes)


def _bias_shape(layer: str, bias_axes: str | None, out_spec: str, full: list, offset: int, elided: int,
                elided_side: str | None) -> list | None:
    if bias_axes is None:
        return None
    for c in bias_axes:
        if c not in out_spec:
            raise ConfigError(f"EinsumDense '{layer}': bias axis '{c}' is not in the output spec {out_spec!r}.")
    first = min(out_spec.find(c) for c in bias_axes)
    shape = [full[i + offset] if c in bias_axes else 1 for i, c in enumerate(out_spec) if i >= first]
    if elided_side != "left":
        shape += [1] * elided
    return shape


class EinsumDense(ActivityPenalty, Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``.

    The kernel's shape follows from the equation: its axes that appear in the output take their sizes from
    ``output_shape``, the others from the input (see the module's description). Masks pass through.

    Args:
        equation: the einsum equation, of the form ``'ab,bc->ac'``, ``'...b,bc->...c'`` or
            ``'ab...,bc->ac...'`` (any letters; the first term is the input, the second the kernel).
        output_shape: the output shape without the batch axis and without the axes ``...`` stands for (an int
            for one axis); a ``None`` entry takes the input's size on that axis.
        activation: activation name or callable (default ``None``: linear).
        bias_axes: the letters of the output term that get a bias, e.g. ``'c'`` (default ``None``: no bias).
        kernel_initializer: default ``'glorot_uniform'`` (fans from the kernel's input and output axes).
        bias_initializer: default ``'zeros'``.
        kernel_regularizer: default ``None``.
        bias_regularizer: default ``None``.
        activity_regularizer: a penalty on the outputs, added to ``losses`` divided by the batch size
            (default ``None``).
        kernel_constraint: projection applied to the kernel after each optimizer step (default ``None``).
        bias_constraint: the same for the bias (default ``None``).
        lora_rank: Keras's LoRA rank; loom does not implement LoRA, so only ``None`` is accepted
            (default ``None``).
        lora_alpha: Keras's LoRA scale; accepted and ignored (default ``None``).
        quantization_config: the ``loom.quantizers.QuantizationConfig`` of a quantized layer (default ``None``;
            see :mod:`loom.layers.quantized`).

    Input shape:
        The rank the equation's input term names (``...`` standing for any number of axes), batch axis first.

    Output shape:
        ``(batch, *output_shape)``, with the axes of ``...`` kept where the equation puts them.

    Returns:
        ``activation(einsum(equation, inputs, kernel) + bias)``.

    Raises:
        ConfigError: a malformed ``equation``, a ``bias_axes`` letter missing from the output term, a kernel
            or output letter that the other terms lack (on build), or a ``lora_rank``.
        ShapeError: an input of another rank than the equation's, or sizes that contradict ``output_shape``.

    Example:
        >>> import torch
        >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 2, 3), bias_axes="de")
        >>> layer(torch.ones(4, 5, 6)).shape
        torch.Size([4, 5, 2, 3])
        >>> [w.shape for w in layer.get_weights()]
        [(6, 2, 3), (2, 3)]
        >>> EinsumDense("ab,bc->ac", 2, kernel_initializer="ones")(torch.ones(1, 3)).tolist()
        [[3.0, 3.0]]
    """

    activation = activations.ActivationAttribute()  # assigning None takes the activation off, as Keras

    supports_masking = True

    def __init__(self, equation: str, output_shape: Any, activation: Any = None, bias_axes: str | None = None,
                 kernel_initializer: Any = "glorot_uniform", bias_initializer: Any = "zeros",
                 kernel_regularizer: Any = None, bias_regularizer: Any = None, activity_regularizer: Any = None,
                 kernel_constraint: Any = None, bias_constraint: Any = None, lora_rank: int | None = None,
                 lora_alpha: float | None = None, quantization_config: Any = None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(equation, str):
            raise ConfigError(f"EinsumDense '{self.name}': equation must be a string, got {equation!r}.")
        _split(self.name, equation)
        if lora_rank is not None:
            raise ConfigError(f"EinsumDense '{self.name}': LoRA is not supported by loom (lora_rank={lora_rank!r}).")
        self.quantization_config = quantized.config_from(quantization_config)
        self.equation = equation
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        parse_args(self, kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                   kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                   activity_regularizer=activity_regularizer, kernel_constraint=kernel_constraint,
                   bias_constraint=bias_constraint)
        self._has_bias = False

    def _kernel_initializer_for(self, shapes: EinsumShapes) -> Any:
        init = self.kernel_initializer
        if isinstance(init, initializers.VarianceScaling) and (init.input_axes is None or init.output_axes is None):
            init = copy.copy(init)
            init.input_axes, init.output_axes = shapes.input_axes, shapes.output_axes
        return init

    def build(self, input_shape):
        shapes = analyze_einsum(self.name, self.equation, self.bias_axes, input_shape, self.partial_output_shape)
        if any(d is None for d in shapes.kernel):
            raise ShapeError(f"EinsumDense '{self.name}': the kernel shape {tuple(shapes.kernel)} needs known "
                             f"input axes, got input shape {tuple(input_shape)}.")
        self.input_spec = InputSpec(ndim=len(input_shape))
        scheme = quantized.build_quantized(self, tuple(shapes.kernel)) if self.quantization_mode else None
        if scheme is None or not scheme.REPLACES_KERNEL:
            self.add_weight("kernel", tuple(shapes.kernel), self._kernel_initializer_for(shapes),
                            self.kernel_regularizer, constraint=self.kernel_constraint)
        if shapes.bias is not None:
            self.add_weight("bias", tuple(shapes.bias), self.bias_initializer, self.bias_regularizer,
                            constraint=self.bias_constraint)
            self._has_bias = True

    def compute_output_shape(self, input_shape: Sequence) -> tuple:
        """The full output shape for ``input_shape`` (batch axis first)."""
        return tuple(analyze_einsum(self.name, self.equation, self.bias_axes, input_shape,
                                    self.partial_output_shape).output)

    def call(self, inputs):
        if self._quantized is not None:  # see loom.layers.quantized
            out = self._quantized.call(self, inputs)
        else:
            out = torch.einsum(self.equation, inputs, self.kernel)
            if self._has_bias:
                out = out + self.bias
        out = self.activation(out)
        self._penalize_activity(out)
        return out

    def get_config(self):
        return {**super().get_config(), "output_shape": list(self.partial_output_shape),
                "equation": self.equation, "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
                **serialize_args(self, *DENSE_WEIGHT_ARGS),
                "quantization_config": quantized.config_entry(self.quantization_config)}


def einsum_projection(owner: Layer, equation: str, output_shape: Sequence, bias_axes: str, name: str,
                      activation: Any = None) -> EinsumDense:
    """An ``EinsumDense`` projection of an attention layer ``owner``, with its weight arguments.

    The projection gets fresh copies of ``owner``'s kernel and bias initializers (each projection draws its
    own weights), shares its regularizers and constraints, and has a bias (on ``bias_axes``) only with
    ``owner.use_bias``.

    Args:
        owner: the layer whose ``use_bias``, ``dtype`` and ``kernel_*`` / ``bias_*`` / ``activity_regularizer``
            arguments the projection takes.
        equation: as ``EinsumDense``.
        output_shape: as ``EinsumDense``.
        bias_axes: as ``EinsumDense``, used when ``owner.use_bias``.
        name: the projection's name.
        activation: as ``EinsumDense`` (default ``None``).

    Returns:
        The unbuilt ``EinsumDense``.

    Example:
        >>> import loom
        >>> owner = loom.layers.MultiHeadAttention(2, 4, use_bias=False)
        >>> einsum_projection(owner, "ab,bc->ac", [3], "c", "query").bias_axes is None
        True
    """
    return EinsumDense(equation, output_shape=list(output_shape), bias_axes=bias_axes if owner.use_bias else None,
                       activation=activation, name=name, dtype=owner._sublayer_dtype(),
                       kernel_initializer=initializers.get(initializers.serialize(owner.kernel_initializer)),
                       bias_initializer=initializers.get(initializers.serialize(owner.bias_initializer)),
                       kernel_regularizer=owner.kernel_regularizer, bias_regularizer=owner.bias_regularizer,
                       activity_regularizer=owner.activity_regularizer,
                       kernel_constraint=owner.kernel_constraint, bias_constraint=owner.bias_constraint)
