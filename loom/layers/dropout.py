"""``Dropout``: zero a fraction of the inputs during training, scaling the rest (inverted dropout).

Example:
    >>> import torch, loom
    >>> layer = loom.layers.Dropout(0.5)
    >>> bool((layer(torch.ones(4, 4)) == 1).all())  # inference: the identity
    True
    >>> y = layer(torch.ones(4, 4), training=True)
    >>> sorted(set(y.flatten().tolist())) in ([0.0, 2.0], [2.0], [0.0])
    True
"""

from __future__ import annotations

from typing import Any, Iterable

import torch
import torch.nn.functional as F

from loom.errors import ConfigError, ShapeError
from loom.layers.layer import Layer


class Dropout(Layer):
    """Set each input to 0 with probability ``rate`` in training mode and scale the others by ``1/(1-rate)``.

    In inference mode (the default outside ``fit``) the layer is the identity.

    Args:
        rate: the fraction to drop, in [0, 1].
        noise_shape: the shape of the binary keep mask, broadcast to the input; ``None`` entries take the
            input's size, e.g. ``(None, 1, None)`` drops the same features at every time step
            (default ``None``: the input's shape).
        seed: a seed for this layer's own random generator, making its masks repeatable
            (default ``None``: torch's global generator).

    Input shape:
        any shape.

    Output shape:
        the same shape as the input.

    Returns:
        In training, the input with a fraction ``rate`` of units zeroed and the rest scaled by ``1 / (1 - rate)``;
        the input itself in inference.

    Raises:
        ConfigError: ``rate`` outside ``[0, 1]``.

    Example:
        >>> import torch
        >>> Dropout(0.5, noise_shape=(None, 1), seed=1)(torch.ones(3, 4), training=True).shape
        torch.Size([3, 4])
    """

    supports_masking = True

    def __init__(self, rate: float, noise_shape: Iterable | None = None, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
            raise ConfigError(f"Dropout '{self.name}': rate must be a number in [0, 1], got {rate!r}.")
        self.rate = rate
        self.noise_shape = _validate_noise_shape(self.name, noise_shape)
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def build(self, input_shape):
        if self.noise_shape is not None and len(self.noise_shape) != len(input_shape):
            raise ShapeError(f"Dropout '{self.name}': noise_shape {self.noise_shape} has rank "
                             f"{len(self.noise_shape)}, but the input shape {tuple(input_shape)} has rank "
                             f"{len(input_shape)}.")

    def call(self, inputs):
        if not self.training or self.rate == 0:
            return inputs
        if self.rate == 1:
            return torch.zeros_like(inputs)
        if self.seed is None and self.noise_shape is None:
            return F.dropout(inputs, p=self.rate, training=True)
        keep_prob = 1.0 - self.rate
        shape = self._concrete_noise_shape(inputs)
        keep = torch.full(shape, keep_prob, dtype=inputs.dtype, device=inputs.device)
        keep = torch.bernoulli(keep, generator=self._generator(inputs.device)).bool()
        return torch.where(keep, inputs / keep_prob, torch.zeros((), dtype=inputs.dtype, device=inputs.device))

    def _concrete_noise_shape(self, inputs: torch.Tensor) -> tuple:
        if self.noise_shape is None:
            return tuple(inputs.shape)
        if len(self.noise_shape) != inputs.dim():
            raise ShapeError(f"Dropout '{self.name}': noise_shape {self.noise_shape} has rank "
                             f"{len(self.noise_shape)}, but the input has shape {tuple(inputs.shape)}.")
        return tuple(size if n is None else n for n, size in zip(self.noise_shape, inputs.shape))

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None or device.type == "meta":
            return None
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(int(self.seed))
        return self._generators[device]

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed, "noise_shape": self.noise_shape}


def _validate_noise_shape(layer_name: str, noise_shape: Any) -> tuple | None:
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str) or not hasattr(noise_shape, "__iter__"):
        raise ConfigError(f"Dropout '{layer_name}': noise_shape must be a tuple of positive ints or None, got "
                          f"{noise_shape!r}.")
    noise_shape = tuple(noise_shape)
    for dim in noise_shape:
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0):
            raise ConfigError(f"Dropout '{layer_name}': noise_shape must hold positive ints or None, got "
                              f"{noise_shape}.")
    return noise_shape
