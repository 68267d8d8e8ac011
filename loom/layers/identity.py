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

    A placeholder, e.g. for a block that an architecture may leave empty. No weights and no arguments of
    its own.

    Args:
        **kwargs: the base layer arguments (``name``, ``dtype``, ``trainable``...).

    Input shape:
        Any.

    Output shape:
        The input's.

    Returns:
        ``inputs`` itself (the same tensor object, not a copy).

    Example:
        >>> import torch
        >>> x = torch.ones(2, 3)
        >>> y = Identity()(x)
        >>> y is x, y.shape
        (True, torch.Size([2, 3]))
    """

    supports_masking = True

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs):
        return inputs
