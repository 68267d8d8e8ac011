"""Utilities, as ``keras.utils``: seeding, label encoding, sequence padding, model plots, custom objects.

Example:
    >>> import loom
    >>> loom.utils.to_categorical([0, 2], num_classes=3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
"""

from typing import Any

from loom.backend import clear_session, is_keras_tensor, standardize_dtype
from loom.config import disable_interactive_logging, enable_interactive_logging, is_interactive_logging_enabled
from loom.registry import CustomObjectScope, custom_object_scope, get_custom_objects, register_loom_serializable
from loom.serialization import deserialize_keras_object, serialize_keras_object
from loom.utils.numpy_utils import normalize, to_categorical
from loom.utils.plotting import model_to_dot, plot_model
from loom.utils.seeding import set_random_seed

# --- data utilities (helper: data) ---
# --- end data utilities ---

# --- feature space (helper: prep_text) ---
from loom.utils.feature_space import FeatureSpace
# --- end feature space ---

register_keras_serializable = register_loom_serializable


def get_registered_name(obj: Any) -> str:
    """The name ``obj`` is saved under; see :func:`loom.saving.get_registered_name`."""
    from loom.saving import get_registered_name as _name
    return _name(obj)


def get_registered_object(name: str, custom_objects: dict | None = None, module_objects: dict | None = None) -> Any:
    """The object registered as ``name``; see :func:`loom.saving.get_registered_object`."""
    from loom.saving import get_registered_object as _get
    return _get(name, custom_objects, module_objects)


def pad_sequences(*args: Any, **kwargs: Any) -> Any:
    """Pad sequences to one length, as ``keras.utils.pad_sequences``.

    See :func:`loom.datasets.sequence.pad_sequences` (imported on first use, so ``import loom`` stays light).
    """
    from loom.datasets.sequence import pad_sequences as _pad
    return _pad(*args, **kwargs)


__all__ = ["FeatureSpace", "CustomObjectScope", "clear_session", "custom_object_scope", "deserialize_keras_object",
           "disable_interactive_logging", "enable_interactive_logging", "get_custom_objects", "get_registered_name",
           "get_registered_object", "is_interactive_logging_enabled", "is_keras_tensor", "model_to_dot", "normalize",
           "pad_sequences", "plot_model", "register_keras_serializable", "serialize_keras_object",
           "set_random_seed", "standardize_dtype", "to_categorical"]
