"""Keras's ``keras.legacy`` namespace: the Keras 2 object format (``legacy.saving``).

Example:
    >>> import loom
    >>> loom.legacy.saving.serialize_keras_object(loom.optimizers.SGD(0.5))["class_name"]
    'SGD'
"""

from loom.legacy import saving

__all__ = ["saving"]
