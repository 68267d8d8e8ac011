"""``TorchModuleWrapper``: any ``torch.nn.Module`` used as a loom layer.

Example:
    >>> import torch, loom
    >>> x = loom.Input((8,))
    >>> y = loom.layers.TorchModuleWrapper(torch.nn.Linear(8, 3))(x)
    >>> y.shape
    (None, 3)
"""

from __future__ import annotations

from torch import nn

from loom.errors import ConfigError
from loom.layers.layer import Layer


class TorchModuleWrapper(Layer):
    """Wrap ``module`` so it can be called on symbolic tensors and placed in loom models.

    The module's parameters are the layer's weights, in torch's order and layout (as Keras's
    ``TorchModuleWrapper``), followed by its buffers (e.g. BatchNorm running statistics) as non-trainable
    weights so that saving keeps them. Its shapes follow the module's own convention (e.g. ``nn.Conv2d`` wants
    channels first). Lazy modules (``nn.LazyLinear``) get their weights at the first symbolic call.

    Args:
        module: the ``torch.nn.Module`` to wrap.
        **kwargs: base layer arguments: ``name`` (default automatic, ``torch_module_wrapper``...), ``dtype``.

    Input shape:
        what the wrapped module takes (its own layout, e.g. channels first for ``nn.Conv2d``).

    Output shape:
        what the wrapped module returns.

    Returns:
        ``module(inputs)``.

    Raises:
        ConfigError: ``module`` is not a ``torch.nn.Module``.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.TorchModuleWrapper(torch.nn.Linear(3, 2))
        >>> layer(torch.ones(4, 3)).shape, len(layer.get_weights())
        (torch.Size([4, 2]), 2)
    """

    _inference_in_pieces = False  # runs code loom does not know

    def __init__(self, module: nn.Module, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(module, nn.Module):
            raise ConfigError(f"TorchModuleWrapper needs a torch.nn.Module, got {type(module).__name__}.")
        self.module = module
        self.module.train(False)
        self.built = True

    def call(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def get_config(self):
        raise ConfigError(f"TorchModuleWrapper '{self.name}' wraps an arbitrary torch module and has no config; "
                          f"save its weights with save_weights(), or write a registered loom layer.")
