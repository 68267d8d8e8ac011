"""``Identity``: returns its input unchanged (a placeholder in architectures built from parts).

Example:
    >>> import loom
    >>> loom.layers.Identity()(loom.Input((3,))).shape
    (None, 3)
"""

from __future__ import annotations

from loom.layers.layer import Layer


class Identity(Layer):
    """Return the input as it is; masks pass through.

    Example:
        >>> import torch
        >>> Identity()(torch.ones(2, 3)).sum().item()
        6.0
    """

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs):
        return inputs
