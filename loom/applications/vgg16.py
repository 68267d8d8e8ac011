"""``loom.applications.vgg16``: Keras's module for VGG16 (see :mod:`loom.applications.vgg`)."""

from loom.applications.vgg import VGG16, decode_predictions, preprocess_input

__all__ = ["VGG16", "preprocess_input", "decode_predictions"]
