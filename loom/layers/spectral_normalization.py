"""``SpectralNormalization``: a wrapper dividing a layer's kernel by its largest singular value (Miyato et
al., 2018), estimated by power iteration.

In training, each call runs ``power_iterations`` steps from the stored left vector ``vector_u``
``(1, out)``, writes ``kernel / sigma`` into the wrapped layer's kernel and the new vector into
``vector_u``, then calls the layer; in inference the layer runs on its kernel as it is. These are Keras's
steps and state, so weights move between the two.

Example:
    >>> import loom
    >>> layer = loom.layers.SpectralNormalization(loom.layers.Dense(4))
    >>> layer(loom.Input((3,))).shape
    (None, 4)
"""

from __future__ import annotations

import torch

from loom import initializers
from loom.errors import ConfigError, ShapeError
from loom.layers.layer import Layer
from loom.saving import deserialize_loom_object, serialize_loom_object


def _unit(x: torch.Tensor) -> torch.Tensor:
    """``x`` over its L2 norm (Keras's ``normalize(axis=None)``: ``x * min(rsqrt(sum(x**2)), 1e12)``)."""
    return x * torch.rsqrt(x.square().sum()).clamp(max=1e12)


class SpectralNormalization(Layer):
    """Keep a wrapped layer's kernel (or embeddings) at spectral norm 1 while training.

    In training mode each call first divides the wrapped weight, in place, by its largest singular value
    (estimated by power iteration from the stored ``vector_u``), then calls the layer; in inference the layer
    runs on its weight as it is. An all-zero weight is left alone. Weights, in Keras's order: the wrapped
    ``kernel``, the non-trainable ``vector_u`` ``(1, last axis of the kernel)``, then the layer's others.

    Args:
        layer: the loom layer to wrap; it must have a ``kernel`` or an ``embeddings`` weight (``Dense``,
            ``Conv2D``, ``Embedding``...).
        power_iterations: power iteration steps per training call, a positive int (default 1).

    Input shape:
        The wrapped layer's.

    Output shape:
        The wrapped layer's.

    Returns:
        The wrapped layer's output (with the normalized weight in training mode). Masks are the wrapped
        layer's.

    Raises:
        ConfigError: a ``layer`` that is not a loom layer, or a ``power_iterations`` that is not a positive int.
        ShapeError: a wrapped layer with neither a ``kernel`` nor an ``embeddings`` weight (when built).

    Example:
        >>> import torch, loom
        >>> _ = torch.manual_seed(0)
        >>> layer = SpectralNormalization(loom.layers.Dense(3), power_iterations=20)
        >>> _ = layer(torch.ones(2, 5), training=True)
        >>> round(torch.linalg.matrix_norm(layer.layer.kernel.detach(), ord=2).item(), 2)
        1.0
        >>> [w.shape for w in layer.get_weights()]
        [(5, 3), (1, 3), (3,)]
    """

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layer, Layer):
            raise ConfigError(f"SpectralNormalization '{self.name}': layer must be a loom layer, got "
                              f"{type(layer).__name__}.")
        if isinstance(power_iterations, bool) or not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ConfigError(f"SpectralNormalization '{self.name}': power_iterations must be a positive int, got "
                              f"{power_iterations!r}.")
        self.layer = layer
        self.power_iterations = power_iterations

    def build(self, input_shape):
        if not self.layer.built:
            self.layer._maybe_build(input_shape)
        kernel = getattr(self.layer, "kernel", None)
        if kernel is None:
            kernel = getattr(self.layer, "embeddings", None)
        if kernel is None:
            raise ShapeError(f"SpectralNormalization '{self.name}': {type(self.layer).__name__} has neither a "
                             f"'kernel' nor an 'embeddings' weight to normalize.")
        self.kernel = kernel  # the wrapped weight, listed first as in Keras
        self._kernel_shape = tuple(self.layer.weight_to_keras(self._kernel_name(), kernel.detach()).shape)
        self.add_weight("vector_u", (1, self._kernel_shape[-1]), initializers.TruncatedNormal(stddev=0.02),
                        trainable=False)

    def _kernel_name(self) -> str:
        return "kernel" if getattr(self.layer, "kernel", None) is not None else "embeddings"

    def call(self, inputs, training=None):
        if training and not bool((self.kernel == 0).all()):
            self._normalize()
        return self.layer(inputs)

    @torch.no_grad()
    def _normalize(self) -> None:
        name = self._kernel_name()
        keras_kernel = self.layer.weight_to_keras(name, self.kernel.detach())
        weights = keras_kernel.reshape(-1, self._kernel_shape[-1])
        u = self.vector_u
        for _ in range(self.power_iterations):
            v = _unit(u @ weights.t())
            u = _unit(v @ weights)
        sigma = (v @ weights) @ u.t()
        self.vector_u.copy_(u)
        self.kernel.copy_(self.layer.weight_from_keras(name, (keras_kernel / sigma).reshape(self._kernel_shape)))

    def weight_to_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        return self.layer.weight_to_keras(self._kernel_name(), value) if name == "kernel" else value

    def weight_from_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        return self.layer.weight_from_keras(self._kernel_name(), value) if name == "kernel" else value

    def compute_mask(self, inputs, mask=None):
        return self.layer.compute_mask(inputs, mask)

    def get_config(self):
        return {**super().get_config(), "layer": serialize_loom_object(self.layer),
                "power_iterations": self.power_iterations}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None,
                    safe_mode: bool = True) -> "SpectralNormalization":
        """Rebuild the wrapper and its layer (resolved through the registry, as models' layers)."""
        config = dict(config)
        layer = config.pop("layer")
        if not isinstance(layer, Layer):
            layer = deserialize_loom_object(layer, custom_objects, safe_mode)
        return cls(layer, **config)
