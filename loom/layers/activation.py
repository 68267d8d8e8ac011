"""Activation layers: ``Activation`` and the parametrised ReLU family, ``Softmax``, ``ELU``, ``PReLU``.

Each follows Keras 3's formula and defaults (e.g. ``LeakyReLU(negative_slope=0.3)``, while the
``leaky_relu`` *function* defaults to 0.2, as in Keras) and passes masks through.

Example:
    >>> import torch, loom
    >>> loom.layers.ReLU(max_value=1.0)(torch.tensor([[-2.0, 0.5, 3.0]]))
    tensor([[0.0000, 0.5000, 1.0000]])
"""

from __future__ import annotations

from typing import Any

import torch

from loom import activations, constraints, initializers, regularizers
from loom.errors import ConfigError, ShapeError
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer


class Activation(Layer):
    """Apply an activation function.

    Args:
        activation: a name from ``loom.activations`` (``'relu'``...) or a callable.

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        ``activation(inputs)``.

    Example:
        >>> import torch
        >>> Activation("relu")(torch.tensor([-3.0, 2.0]))
        tensor([0., 2.])
    """

    supports_masking = True

    def __init__(self, activation: Any, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.built = True

    def call(self, inputs):
        return self.activation(inputs)

    @property
    def _fresh_output(self) -> bool:
        return self.activation is not activations.linear

    @property
    def _is_relu(self) -> bool:
        return self.activation is activations.relu

    _runs_in_place = True

    def _call_in_place(self, inputs):
        fn = activations.in_place(self.activation)
        return fn(inputs) if fn is not self.activation else None

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


def _non_negative(layer: str, name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ConfigError(f"{layer}: {name} must be a number >= 0{' or None' if allow_none else ''}, "
                          f"got {value!r}.")


class ReLU(Layer):
    """Keras's ReLU layer: ``max_value`` if x >= max_value, x if x > threshold, else
    ``negative_slope * (x - threshold)``.

    Args:
        max_value: upper saturation, >= 0 (default ``None``: none).
        negative_slope: slope below the threshold, >= 0 (default 0.0).
        threshold: values below it are damped, >= 0 (default 0.0).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        The rectified input, capped at ``max_value`` and shifted by ``threshold`` as configured.

    Example:
        >>> import torch
        >>> ReLU(negative_slope=0.5)(torch.tensor([-2.0, 3.0]))
        tensor([-1.,  3.])
    """

    supports_masking = True

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0,
                 **kwargs):
        super().__init__(**kwargs)
        _non_negative(f"ReLU '{self.name}'", "max_value", max_value, allow_none=True)
        _non_negative(f"ReLU '{self.name}'", "negative_slope", negative_slope)
        _non_negative(f"ReLU '{self.name}'", "threshold", threshold)
        self.max_value, self.negative_slope, self.threshold = max_value, negative_slope, threshold
        self.built = True

    def call(self, inputs):
        return activations.relu(inputs, negative_slope=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` for x >= 0, ``negative_slope * x`` otherwise.

    Args:
        negative_slope: the slope for negative inputs, >= 0 (default 0.3, Keras 3's layer default).
            ``alpha=`` (Keras 2's name) is accepted as well.

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        ``inputs`` where positive, else ``negative_slope * inputs``.

    Example:
        >>> import torch
        >>> LeakyReLU()(torch.tensor([-10.0, 1.0]))
        tensor([-3.,  1.])
    """

    supports_masking = True

    def __init__(self, negative_slope: float = 0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        _non_negative(f"LeakyReLU '{self.name}'", "negative_slope", negative_slope)
        self.negative_slope = negative_slope
        self.built = True

    def call(self, inputs):
        return torch.nn.functional.leaky_relu(inputs, self.negative_slope)

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


def _large_negative_number(dtype: torch.dtype) -> float:
    """Keras's stand-in for -inf in masked softmax."""
    return -3e4 if dtype == torch.float16 else -1e9


class Softmax(Layer):
    """Softmax along ``axis`` (default -1; a list of axes normalises over all of them).

    Called with ``mask`` (``True`` = keep; broadcastable to the input from the right, as Keras), masked
    positions get probability 0.

    Args:
        axis: the axis, or list of axes, the probabilities sum to 1 over (default -1).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        Probabilities along ``axis`` (summing to 1 over the unmasked positions).

    Raises:
        ShapeError: a ``mask`` that does not broadcast to the input.

    Example:
        >>> import torch
        >>> Softmax()(torch.tensor([[1.0, 1.0]]))
        tensor([[0.5000, 0.5000]])
    """

    supports_masking = True

    def __init__(self, axis: int | list = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.built = True

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = self._check_mask(inputs, mask)
            inputs = torch.where(mask, inputs, torch.full((), _large_negative_number(inputs.dtype),
                                                          dtype=inputs.dtype, device=inputs.device))
        if isinstance(self.axis, (list, tuple)):
            axes = tuple(self.axis)
            outputs = torch.exp(inputs - torch.logsumexp(inputs, dim=axes, keepdim=True))
        else:
            outputs = torch.softmax(inputs, dim=self.axis)
        if mask is not None:
            outputs = torch.where(mask, outputs, torch.zeros((), dtype=outputs.dtype, device=outputs.device))
        return outputs

    def _check_mask(self, inputs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        ok = mask.dim() <= inputs.dim() and all(
            m in (1, i) for m, i in zip(reversed(mask.shape), reversed(inputs.shape)))
        if not ok:
            raise ShapeError(f"Softmax '{self.name}': the mask must broadcast to the inputs from the right; got "
                              f"inputs of shape {tuple(inputs.shape)} and a mask of shape {tuple(mask.shape)}.")
        return mask if mask.dtype == torch.bool else mask > 0.5

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class ELU(Layer):
    """``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: the scale of the negative part (default 1.0).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        ``inputs`` where positive, else ``alpha * (exp(inputs) - 1)``.

    Example:
        >>> import torch
        >>> ELU()(torch.tensor([0.0, 2.0]))
        tensor([0., 2.])
    """

    supports_masking = True

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.built = True

    def call(self, inputs):
        return activations.elu(inputs, alpha=self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Parametric ReLU: ``x`` for x >= 0, ``alpha * x`` otherwise, with ``alpha`` learned per element.

    Args:
        alpha_initializer: default ``'zeros'``.
        alpha_regularizer: default ``None``.
        alpha_constraint: default ``None``.
        shared_axes: axes (1-based, batch excluded) along which ``alpha`` is shared, e.g. ``[1, 2]`` for one
            alpha per channel of an image (default ``None``).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        ``inputs`` where positive, else ``alpha * inputs`` with the learned ``alpha``.

    Raises:
        ConfigError: ``shared_axes`` names the batch axis or an axis the input lacks.

    Example:
        >>> import torch
        >>> layer = PReLU(alpha_initializer="ones")
        >>> layer(torch.tensor([[-2.0, 3.0]])).tolist()
        [[-2.0, 3.0]]
    """

    supports_masking = True

    def __init__(self, alpha_initializer: Any = "zeros", alpha_regularizer: Any = None, alpha_constraint: Any = None,
                 shared_axes: Any = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            self.shared_axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            if not 1 <= axis <= len(param_shape):
                raise ConfigError(f"PReLU '{self.name}': shared_axes must be in 1..{len(param_shape)} for input "
                                  f"shape {tuple(input_shape)}, got {self.shared_axes}.")
            param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ConfigError(f"PReLU '{self.name}' needs known sizes on the axes it does not share; got input "
                              f"shape {tuple(input_shape)} (set shared_axes for the unknown ones).")
        self.add_weight("alpha", param_shape, self.alpha_initializer, self.alpha_regularizer,
                        constraint=self.alpha_constraint)
        axes = {i: input_shape[i] for i in range(1, len(input_shape)) if i not in (self.shared_axes or [])}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)

    def call(self, inputs):
        return torch.relu(inputs) - self.alpha * torch.relu(-inputs)

    def get_config(self):
        return {**super().get_config(), "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint), "shared_axes": self.shared_axes}
