"""Models, as ``keras.models``: functional ``Model``, ``Sequential``, cloning, and saving/loading.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    >>> model_from_json(to_json(model)).count_params()
    8
"""

import json
from typing import Any

from loom.models.cloning import clone_model
from loom.models.functional import Model
from loom.models.sequential import Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with ``model.save(path)`` (a ``.loom`` file). See :mod:`loom.models.saving`."""
    from loom.models.saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model: Model, filepath: Any, overwrite: bool = True, zipped: bool | None = None, **kwargs: Any) -> None:
    """Write ``model`` to one ``.loom`` file, as ``keras.models.save_model``; see :func:`loom.saving.save_model`."""
    from loom.saving import save_model as _save
    _save(model, filepath, overwrite=overwrite, zipped=zipped, **kwargs)


def to_json(model: Model, **kwargs: Any) -> str:
    """``model``'s architecture as a JSON string (``model.to_json()`` in Keras); ``kwargs`` go to ``json.dumps``."""
    from loom.saving import serialize_keras_object
    return json.dumps(serialize_keras_object(model), **kwargs)


def model_from_json(json_string: str, custom_objects: dict | None = None) -> Model:
    """A new model (fresh weights) from :func:`to_json`'s string, as ``keras.models.model_from_json``.

    Only registered classes load (``custom_objects`` adds some); Lambda layers are refused unless
    :func:`loom.config.enable_unsafe_deserialization` was called.

    Raises:
        ConfigError: the string is not JSON or does not describe a model.
    """
    from loom.errors import ConfigError
    from loom.saving import deserialize_keras_object
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model_from_json: the string is not valid JSON: {e}") from e
    model = deserialize_keras_object(config, custom_objects=custom_objects)
    if not isinstance(model, Model):
        raise ConfigError(f"model_from_json: the JSON describes a {type(model).__name__}, not a model.")
    return model


__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
