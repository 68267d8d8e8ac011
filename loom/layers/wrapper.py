"""``Wrapper``: the base of layers that take another layer and extend it (``TimeDistributed``).

Example:
    >>> import torch, loom
    >>> class Doubled(Wrapper):
    ...     def call(self, inputs):
    ...         return 2 * self.layer(inputs)
    >>> Doubled(loom.layers.Dense(3, kernel_initializer="ones"))(torch.ones(1, 2))
    tensor([[4., 4., 4.]], grad_fn=<MulBackward0>)
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError
from loom.layers.layer import Layer


class Wrapper(Layer):
    """Abstract base of wrappers: holds ``layer`` (built with this layer's input shape by default) and
    serializes it inside its own config. Subclasses implement ``call``.

    ``build`` builds the wrapped layer on the wrapper's input shape; a subclass that feeds the layer another
    shape (as ``TimeDistributed``: one step's shape) overrides it. The wrapped layer's weights are the wrapper's.

    Args:
        layer: the wrapped loom ``Layer`` (torch modules: wrap them in ``TorchModuleWrapper`` first).

    Input shape:
        What the subclass's ``call`` takes; by default, what ``layer`` takes.

    Output shape:
        What the subclass's ``call`` returns.

    Returns:
        The subclass's ``call`` result (``Wrapper`` itself defines no computation).

    Raises:
        ConfigError: a ``layer`` that is not a loom ``Layer``.

    Example:
        >>> import torch, loom
        >>> class Doubled(Wrapper):
        ...     def call(self, inputs):
        ...         return 2 * self.layer(inputs)
        >>> layer = Doubled(loom.layers.Dense(3, kernel_initializer="ones"))
        >>> layer(torch.ones(1, 2)).tolist(), len(layer.weights)
        ([[4.0, 4.0, 4.0]], 2)
        >>> isinstance(loom.layers.TimeDistributed(loom.layers.Dense(2)), Wrapper)
        True
    """

    def __init__(self, layer: Layer, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ConfigError(f"{type(self).__name__} '{self.name}' needs a loom Layer instance to wrap, got "
                              f"{type(layer).__name__}. Wrap torch modules with TorchModuleWrapper first.")
        self.layer = layer

    def build(self, input_shape=None):
        self.layer._maybe_build(input_shape)

    def get_config(self):
        from loom.saving import serialize_loom_object
        return {**super().get_config(), "layer": serialize_loom_object(self.layer)}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> Any:
        """Rebuild the wrapper and its layer (resolved through the registry, as models' layers)."""
        from loom.saving import deserialize_loom_object
        config = dict(config)
        layer = config.pop("layer")
        if not isinstance(layer, Layer):
            layer = deserialize_loom_object(layer, custom_objects, safe_mode)
        return cls(layer, **config)
