"""Layers that only rearrange values: ``Flatten``, ``Reshape``, ``Permute``, ``RepeatVector``.

The batch dimension is never touched.

Example:
    >>> import loom
    >>> x = loom.Input((4, 6))
    >>> loom.layers.Flatten()(x).shape, loom.layers.Reshape((-1, 3))(x).shape
    ((None, 24), (None, 8, 3))
"""

from __future__ import annotations

import math
from typing import Iterable

from loom.errors import ConfigError, ShapeError
from loom.layers.input_spec import InputSpec
from loom.layers.layer import Layer

_DATA_FORMATS = ("channels_last", "channels_first")


def standardize_data_format(data_format: str | None, layer_name: str) -> str:
    """``None`` -> ``'channels_last'`` (loom's only image layout); otherwise validated and lower-cased."""
    if data_format is None:
        return "channels_last"
    value = str(data_format).lower()
    if value not in _DATA_FORMATS:
        raise ConfigError(f"Layer '{layer_name}': data_format must be one of {list(_DATA_FORMATS)}, got "
                          f"{data_format!r}.")
    return value


class Flatten(Layer):
    """Flatten every dimension but the batch: ``(batch, d1, d2, ...)`` -> ``(batch, d1 * d2 * ...)``.

    Args:
        data_format: ``'channels_last'`` or ``'channels_first'``; with ``'channels_first'`` the channel
            axis is moved last before flattening, so the order matches a channels-last model
            (default ``None``: ``'channels_last'``).

    Input shape:
        ``(batch, ...)``.

    Output shape:
        ``(batch, product of the other sizes)``.

    Returns:
        The input reshaped to two axes (channels-first inputs are moved to channels last first).

    Example:
        >>> import torch
        >>> Flatten()(torch.zeros(2, 3, 4)).shape
        torch.Size([2, 12])
    """

    def __init__(self, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format, self.name)
        self.input_spec = InputSpec(min_ndim=1)
        self.built = True

    def call(self, inputs):
        if self.data_format == "channels_first" and inputs.dim() > 2:
            inputs = inputs.permute(0, *range(2, inputs.dim()), 1)
        return inputs.reshape(inputs.shape[0], math.prod(inputs.shape[1:]))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(Layer):
    """Reshape the non-batch dimensions to ``target_shape``; one entry may be -1 (inferred).

    Args:
        target_shape: the new shape without the batch dimension, e.g. ``(4, -1)``.

    Input shape:
        ``(batch, ...)``.

    Output shape:
        ``(batch, *target_shape)`` (a ``-1`` in it takes the remaining size).

    Returns:
        The reshaped input.

    Raises:
        ConfigError: a malformed ``target_shape``.
        ShapeError: a ``target_shape`` whose size differs from the input's.

    Example:
        >>> import torch
        >>> Reshape((-1, 2))(torch.zeros(5, 6)).shape
        torch.Size([5, 3, 2])
    """

    def __init__(self, target_shape: Iterable[int], **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(target_shape)
        except TypeError as e:
            raise ConfigError(f"Reshape '{self.name}': target_shape must be a tuple of ints, got "
                              f"{target_shape!r}.") from e
        if any(isinstance(d, bool) or not isinstance(d, int) or d < -1 for d in target_shape) \
                or target_shape.count(-1) > 1:
            raise ConfigError(f"Reshape '{self.name}': target_shape must hold non-negative ints and at most one -1, "
                              f"got {target_shape}.")
        self.target_shape = target_shape

    def build(self, input_shape):
        known = tuple(input_shape[1:])
        if None in known:
            return
        size = math.prod(known)
        fixed = math.prod(d for d in self.target_shape if d != -1)
        fits = size == fixed if -1 not in self.target_shape else fixed != 0 and size % fixed == 0
        if not fits:
            raise ShapeError(f"Reshape '{self.name}' cannot reshape inputs of shape {tuple(input_shape)} "
                             f"({size} values per sample) to target_shape {self.target_shape}.")

    def call(self, inputs):
        return inputs.reshape((inputs.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(Layer):
    """Permute the non-batch dimensions; ``dims`` is 1-based, e.g. ``(2, 1)`` swaps the first two.

    Args:
        dims: a permutation of ``1..n`` where n is the input's rank without the batch.

    Input shape:
        ``(batch, ...)`` with ``len(dims)`` non-batch axes.

    Output shape:
        the input's axes reordered by ``dims``.

    Returns:
        The permuted input.

    Raises:
        ConfigError: ``dims`` is not a permutation of ``1..rank``.

    Example:
        >>> import torch
        >>> Permute((2, 1))(torch.zeros(5, 3, 4)).shape
        torch.Size([5, 4, 3])
    """

    def __init__(self, dims: Iterable[int], **kwargs):
        super().__init__(**kwargs)
        dims = tuple(dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ConfigError(f"Permute '{self.name}': dims must be a permutation of 1..{len(dims)} (the batch "
                              f"axis 0 stays first), got {dims}.")
        self.dims = dims
        self.input_spec = InputSpec(ndim=len(dims) + 1)
        self.built = True

    def call(self, inputs):
        return inputs.permute(0, *self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(Layer):
    """Repeat a ``(batch, features)`` input ``n`` times: ``(batch, n, features)``.

    Args:
        n: the number of repetitions (a positive int).

    Input shape:
        ``(batch, features)``.

    Output shape:
        ``(batch, n, features)``.

    Returns:
        The input repeated ``n`` times.

    Raises:
        ConfigError: a non-positive ``n``.

    Example:
        >>> import torch
        >>> RepeatVector(3)(torch.zeros(2, 4)).shape
        torch.Size([2, 3, 4])
    """

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ConfigError(f"RepeatVector '{self.name}': n must be a positive int, got {n!r}.")
        self.n = n
        self.input_spec = InputSpec(ndim=2)
        self.built = True

    def call(self, inputs):
        return inputs.unsqueeze(1).repeat(1, self.n, 1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}
