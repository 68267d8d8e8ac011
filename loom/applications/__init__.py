"""Pretrained-architecture applications and the building blocks of modern convnets, as Keras's
``keras.applications``: every Keras family (VGG, ResNet and ResNetV2, InceptionV3, InceptionResNetV2,
Xception, MobileNet V1/V2/V3, DenseNet, NASNet, EfficientNet and EfficientNetV2, ConvNeXt), each with the
same layers, names and parameter counts as Keras, so Keras's weight files load (``weights='path/to/file.h5'``;
loom never downloads, see :mod:`loom.applications.keras_weights`).

Each family's module (``loom.applications.vgg16``, ``mobilenet_v2``, ``efficientnet``...: Keras's module
names) also has its ``preprocess_input`` and ``decode_predictions``; the blocks of *Deep Learning with
Python* are in :mod:`loom.applications.blocks`.

Example:
    >>> import loom
    >>> base = loom.applications.Xception(weights=None, include_top=False, input_shape=(71, 71, 3),
    ...                                   pooling="avg")
    >>> base.output_shape
    (None, 2048)
"""

from loom.applications import (blocks, convnext, densenet, efficientnet, efficientnet_v2, imagenet_utils,
                               inception_resnet_v2, inception_v3, keras_weights, mobilenet, mobilenet_v2,
                               mobilenet_v3, nasnet, resnet, resnet50, resnet_v2, vgg16, vgg19, xception)
from loom.applications.convnext import ConvNeXtBase, ConvNeXtLarge, ConvNeXtSmall, ConvNeXtTiny, ConvNeXtXLarge
from loom.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from loom.applications.efficientnet import (EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3,
                                            EfficientNetB4, EfficientNetB5, EfficientNetB6, EfficientNetB7)
from loom.applications.efficientnet_v2 import (EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2,
                                               EfficientNetV2B3, EfficientNetV2L, EfficientNetV2M, EfficientNetV2S)
from loom.applications.inception_resnet_v2 import InceptionResNetV2
from loom.applications.inception_v3 import InceptionV3
from loom.applications.keras_weights import PretrainedFileNotFoundError, load_keras_weights
from loom.applications.mobilenet import MobileNet
from loom.applications.mobilenet_v2 import MobileNetV2
from loom.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from loom.applications.nasnet import NASNetLarge, NASNetMobile
from loom.applications.resnet import ResNet50, ResNet101, ResNet152
from loom.applications.resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2
from loom.applications.vgg import VGG16, VGG19
from loom.applications.xception import Xception

__all__ = [
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge", "DenseNet121", "DenseNet169",
    "DenseNet201", "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
    "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2",
    "EfficientNetV2B3", "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S", "InceptionResNetV2", "InceptionV3",
    "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small", "NASNetLarge", "NASNetMobile", "ResNet50",
    "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2", "VGG16", "VGG19", "Xception",
    "PretrainedFileNotFoundError", "load_keras_weights",
    "blocks", "convnext", "densenet", "efficientnet", "efficientnet_v2", "imagenet_utils", "inception_resnet_v2",
    "inception_v3", "keras_weights", "mobilenet", "mobilenet_v2", "mobilenet_v3", "nasnet", "resnet", "resnet50",
    "resnet_v2", "vgg16", "vgg19", "xception",
]
