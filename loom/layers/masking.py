"""``Masking``: skip time steps whose features all equal ``mask_value``.

Example:
    >>> import torch, loom
    >>> x = torch.tensor([[[1.0, 2.0], [0.0, 0.0], [3.0, 0.0]]])
    >>> loom.layers.Masking().compute_mask(x)
    tensor([[ True, False,  True]])
"""

from __future__ import annotations

import torch

from loom.errors import ConfigError
from loom.layers.layer import Layer


class Masking(Layer):
    """Mask the time steps (all axes but the last) whose every feature equals ``mask_value``.

    The outputs are the inputs with masked steps set to 0; the mask ``any(inputs != mask_value, axis=-1)``
    goes to the following layers (RNNs skip masked steps, keeping their previous state).

    Args:
        mask_value: the padding value (default 0.0).

    Input shape:
        ``(batch, timesteps, features)`` (any rank of at least 2).

    Output shape:
        the same shape as the input.

    Returns:
        The input, with a mask ``(batch, timesteps)`` that hides the steps whose features all equal ``mask_value``.

    Raises:
        ConfigError: an invalid ``mask_value``.

    Example:
        >>> import numpy as np, loom
        >>> inputs = loom.Input((None, 3))
        >>> masked = Masking(mask_value=-1.0)(inputs)
        >>> outputs = loom.layers.LSTM(4)(masked)
        >>> outputs.shape
        (None, 4)
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, dict) and "config" in mask_value:
            mask_value = mask_value["config"].get("value", mask_value)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise ConfigError(f"Masking '{self.name}': mask_value must be a number, got {mask_value!r}.")
        self.mask_value = mask_value

    def call(self, inputs):
        keep = (inputs != self.mask_value).any(dim=-1, keepdim=True)
        return torch.where(keep, inputs, torch.zeros((), dtype=inputs.dtype, device=inputs.device))

    def compute_mask(self, inputs, mask=None):
        return (inputs != self.mask_value).any(dim=-1)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}
