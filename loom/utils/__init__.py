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

from loom.utils import bounding_boxes, legacy
from loom.utils.audio_dataset import audio_dataset_from_directory
from loom.utils.config_object import Config
from loom.utils.file_utils import get_file
from loom.utils.image_dataset import image_dataset_from_directory
from loom.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from loom.utils.py_dataset import PyDataset, Sequence
from loom.utils.split_dataset import split_dataset
from loom.utils.text_dataset import text_dataset_from_directory
from loom.utils.timeseries_dataset import timeseries_dataset_from_array

_DATA_NAMES = ["Config", "Progbar", "PyDataset", "Sequence", "array_to_img", "audio_dataset_from_directory",
               "bounding_boxes", "get_file", "get_source_inputs", "image_dataset_from_directory", "img_to_array",
               "legacy", "load_img", "pack_x_y_sample_weight", "save_img", "split_dataset",
               "text_dataset_from_directory", "timeseries_dataset_from_array", "unpack_x_y_sample_weight"]
# Imported on first use: these modules import the training package, which imports loom.utils.
_DATA_LAZY = {"Progbar": "loom.callbacks.progbar", "get_source_inputs": "loom.utils.tensor_utils",
              "pack_x_y_sample_weight": "loom.utils.tensor_utils", "unpack_x_y_sample_weight": "loom.utils.tensor_utils"}


def __getattr__(name: str) -> Any:
    if name in _DATA_LAZY:
        import importlib
        value = getattr(importlib.import_module(_DATA_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'loom.utils' has no attribute {name!r}")

from loom.utils.feature_space import FeatureSpace

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
           "set_random_seed", "standardize_dtype", "to_categorical"] + _DATA_NAMES
