"""Pretrained-architecture applications and the building blocks of modern convnets, as Keras's
``keras.applications``: :func:`InceptionV3`, :func:`Xception`, :func:`ResNet50` / :func:`ResNet101` /
:func:`ResNet152`, each with the same layers, names and parameter counts as Keras, so Keras's weight
files load (``weights='path/to/file.h5'``; loom never downloads, see :mod:`loom.applications.keras_weights`).

Each network's module also has its ``preprocess_input`` and ``decode_predictions``
(``loom.applications.inception_v3``, ``xception``, ``resnet`` and ``resnet50``); the blocks of
*Deep Learning with Python* are in :mod:`loom.applications.blocks`.

Example:
    >>> import loom
    >>> base = loom.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3),
    ...                                   pooling="avg")
    >>> base.output_shape
    (None, 2048)
"""

from loom.applications import blocks, imagenet_utils, inception_v3, keras_weights, resnet, resnet50, xception
from loom.applications.inception_v3 import InceptionV3
from loom.applications.keras_weights import PretrainedFileNotFoundError, load_keras_weights
from loom.applications.resnet import ResNet50, ResNet101, ResNet152
from loom.applications.xception import Xception

__all__ = ["InceptionV3", "Xception", "ResNet50", "ResNet101", "ResNet152", "PretrainedFileNotFoundError",
           "load_keras_weights", "blocks", "imagenet_utils", "inception_v3", "keras_weights", "resnet", "resnet50",
           "xception"]
