"""``loom.applications.vgg19``: Keras's module for VGG19 (see :mod:`loom.applications.vgg`)."""

from loom.applications.vgg import VGG19, decode_predictions, preprocess_input

__all__ = ["VGG19", "preprocess_input", "decode_predictions"]
