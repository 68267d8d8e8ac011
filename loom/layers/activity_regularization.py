"""``ActivityRegularization``: passes its input through and adds an L1/L2 penalty on it to ``losses``.

Example:
    >>> import torch, loom
    >>> layer = loom.layers.ActivityRegularization(l1=0.5)
    >>> _ = layer(torch.ones(4, 3))
    >>> layer.losses[0].item()  # 0.5 * sum(|x|) / batch = 0.5 * 12 / 4
    1.5
"""

from __future__ import annotations

from loom import regularizers
from loom.errors import ConfigError
from loom.layers.activity_penalty import ActivityPenalty
from loom.layers.layer import Layer


class ActivityRegularization(ActivityPenalty, Layer):
    """The identity, with ``l1 * sum(|x|) + l2 * sum(x**2)`` divided by the batch size added to ``losses``.

    The penalty is recomputed at each call (``losses`` holds the last call's), and ``fit`` adds it to the
    training loss. No weights; masks pass through.

    Args:
        l1: the L1 factor, a non-negative number (default 0.0).
        l2: the L2 factor, a non-negative number (default 0.0).

    Input shape:
        Any, batch axis first.

    Output shape:
        The input's.

    Returns:
        ``inputs`` unchanged.

    Raises:
        ConfigError: a negative or non-numeric ``l1`` or ``l2``.

    Example:
        >>> import torch
        >>> layer = ActivityRegularization(l2=1.0)
        >>> layer(torch.ones(2, 2)).shape, layer.losses[0].item()  # sum(x**2) / batch = 4 / 2
        (torch.Size([2, 2]), 2.0)
    """

    supports_masking = True

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"ActivityRegularization '{self.name}': {name} must be a non-negative number, "
                                  f"got {value!r}.")
        self.l1, self.l2 = l1, l2
        self.activity_regularizer = regularizers.L1L2(l1=l1, l2=l2)
        self.built = True

    def call(self, inputs):
        self._penalize_activity(inputs)
        return inputs

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
