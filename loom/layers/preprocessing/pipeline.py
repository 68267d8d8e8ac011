"""``Pipeline``: layers applied one after another, for preprocessing outside (or inside) a model.

Unlike ``Sequential`` it builds no graph and is not a model: each call simply feeds the inputs through the
layers, so it takes whatever its first layer takes (strings for ``TextVectorization``, say).
"""

from __future__ import annotations

from typing import Any, Sequence

from loom.errors import ConfigError
from loom.layers.layer import Layer
from loom.saving import deserialize_loom_object, serialize_loom_object


class Pipeline(Layer):
    """Apply ``layers`` in order.

    Unlike ``Sequential`` it builds no graph and is not a model: a call feeds its inputs through the layers
    eagerly, so the first layer may take strings (``StringLookup``, ``TextVectorization``). It has no weights
    of its own; the layers' weights are its weights.

    Args:
        layers: the layers, first applied first (required).
        name: the pipeline's name (default ``None``).

    Call arguments:
        inputs: whatever the first layer takes.
        training: passed to every layer (default ``None``: training, as Keras's ``Pipeline``, until
            ``train()`` / ``eval()`` set the pipeline's torch mode, or inside a model, which sets it).
        mask: accepted for Keras compatibility and ignored.

    Input shape:
        What the first layer accepts.

    Output shape:
        What the last layer returns.

    Returns:
        The output of the last layer.

    Raises:
        ConfigError: ``layers`` is not a list or tuple of loom layers.

    Example:
        >>> import loom
        >>> pipeline = loom.layers.Pipeline([
        ...     loom.layers.StringLookup(vocabulary=["a", "b"]),
        ...     loom.layers.CategoryEncoding(num_tokens=3, output_mode="count"),
        ... ])
        >>> pipeline([["a", "b", "b", "z"]]).tolist()
        [[1.0, 1.0, 2.0]]
        >>> [type(layer).__name__ for layer in pipeline.layers]
        ['StringLookup', 'CategoryEncoding']
    """

    _casts_int_inputs = False
    _training_by_default = True

    def __init__(self, layers: Sequence[Layer], name: str | None = None, **kwargs: Any):
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        super().__init__(name=name, **kwargs)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(x, Layer) for x in layers):
            raise ConfigError(f"Pipeline '{self.name}': layers must be a list of loom layers; got {layers!r}.")
        self._pipeline_layers = list(layers)
        for layer in self._pipeline_layers:
            self._register_layer(layer)
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        """The layers, in the order they are applied."""
        return list(self._pipeline_layers)

    def _sublayers(self) -> list[Layer]:
        return list(self._pipeline_layers)

    def _convert_inputs(self, inputs: Any) -> Any:
        return inputs

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any):
        return self.call(inputs, **kwargs)

    def call(self, inputs: Any, training: bool | None = None, mask: Any = None) -> Any:
        if training is None:
            training = self.training or not self._mode_set
        outputs = inputs
        kwargs = {"training": training}
        for layer in self._pipeline_layers:
            outputs = layer(outputs, **kwargs)
        return outputs

    def get_config(self) -> dict:
        return {"layers": [serialize_loom_object(layer) for layer in self._pipeline_layers], "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "Pipeline":
        config = dict(config)
        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ConfigError(f"Pipeline config needs 'layers', a list of serialized layers; got {layers!r}.")
        config["layers"] = [deserialize_loom_object(x, custom_objects, safe_mode) if isinstance(x, dict) else x
                            for x in layers]
        return cls(**config)
