"""What every application family shares with Keras, one table per check: Keras's parameter counts (built on
torch's meta device), Keras's weight files loaded layer for layer with Keras's outputs, and Keras's
``preprocess_input``. The family-specific behaviour is tested in each family's own file."""

import numpy as np
import pytest

import loom
from loom.applications import (convnext, densenet, efficientnet, efficientnet_v2, inception_resnet_v2, mobilenet,
                               mobilenet_v2, mobilenet_v3, nasnet, resnet_v2, vgg, vgg16, vgg19)
from tests.applications.helpers import (assert_loads_keras_weights_file, assert_preprocess_input_is_keras,
                                        needs_preprocessing_layers)
from tests.keras_oracle import keras

slow = pytest.mark.slow
NO_PREPROCESSING = {"include_preprocessing": False}


def _word(value) -> str:
    name = getattr(value, "__name__", None)  # applications, modules and functions by their short names
    return str(value) if name is None else name.rsplit(".", 1)[-1]


def _case(*values, marks=(), **kwargs):
    """A table row: ``values`` then the keyword arguments of the application, with a readable id."""
    words = [_word(v) for v in values] + [f"{k}={_word(v)}" for k, v in kwargs.items()]
    return pytest.param(*values, kwargs, marks=marks, id="-".join(words))


COUNTS = [  # (application, Keras's parameter count, keyword arguments)
    _case(convnext.ConvNeXtTiny, 28_589_128, **NO_PREPROCESSING),
    _case(convnext.ConvNeXtTiny, 27_820_128, include_top=False, **NO_PREPROCESSING),
    _case(convnext.ConvNeXtSmall, 50_223_688, marks=slow, **NO_PREPROCESSING),
    _case(convnext.ConvNeXtBase, 88_591_464, marks=slow, **NO_PREPROCESSING),
    _case(convnext.ConvNeXtLarge, 197_767_336, marks=slow, **NO_PREPROCESSING),
    _case(convnext.ConvNeXtXLarge, 350_196_968, marks=slow, **NO_PREPROCESSING),
    _case(densenet.DenseNet121, 8_062_504),
    _case(densenet.DenseNet121, 8_062_504 - 1025 * 1000, include_top=False, pooling="max"),
    _case(densenet.DenseNet169, 14_307_880, marks=slow),
    _case(densenet.DenseNet201, 20_242_984, marks=slow),
    _case(efficientnet.EfficientNetB0, 5_330_571, marks=needs_preprocessing_layers),
    _case(efficientnet.EfficientNetB1, 7_856_239 - 1281 * 1000, marks=needs_preprocessing_layers, include_top=False),
    *[_case(getattr(efficientnet, f"EfficientNetB{variant}"), count, marks=(slow, needs_preprocessing_layers))
      for variant, count in [(2, 9_177_569), (3, 12_320_535), (4, 19_466_823), (5, 30_562_527), (6, 43_265_143),
                             (7, 66_658_687)]],
    _case(efficientnet_v2.EfficientNetV2B0, 7_200_312, **NO_PREPROCESSING),
    _case(efficientnet_v2.EfficientNetV2B1, 8_212_124 - 1281 * 1000, include_top=False, **NO_PREPROCESSING),
    *[_case(getattr(efficientnet_v2, f"EfficientNetV2{name}"), count, marks=slow, **NO_PREPROCESSING)
      for name, count in [("B2", 10_178_374), ("B3", 14_467_622), ("S", 21_612_360), ("M", 54_431_388),
                          ("L", 119_027_848)]],
    _case(inception_resnet_v2.InceptionResNetV2, 55_873_736),
    _case(inception_resnet_v2.InceptionResNetV2, 54_336_736, include_top=False),
    _case(mobilenet.MobileNet, 4_253_864),
    _case(mobilenet.MobileNet, 829_536, alpha=0.5, include_top=False, input_shape=(128, 128, 3)),
    _case(mobilenet_v2.MobileNetV2, 3_538_984),
    _case(mobilenet_v2.MobileNetV2, 6_156_712, alpha=1.4),
    _case(mobilenet_v2.MobileNetV2, 410_208, alpha=0.35, include_top=False),
    _case(mobilenet_v3.MobileNetV3Small, 2_554_968, **NO_PREPROCESSING),
    _case(mobilenet_v3.MobileNetV3Large, 5_507_432, **NO_PREPROCESSING),
    _case(mobilenet_v3.MobileNetV3Large, 865_520, minimalistic=True, alpha=0.75, include_top=False,
          **NO_PREPROCESSING),
    _case(nasnet.NASNetMobile, 5_326_716),
    _case(nasnet.NASNetMobile, 5_326_716 - 1057 * 1000, include_top=False, pooling="avg"),
    _case(nasnet.NASNetLarge, 88_949_818, marks=slow),
    _case(resnet_v2.ResNet50V2, 25_613_800),
    _case(resnet_v2.ResNet50V2, 25_613_800 - 2049 * 1000, include_top=False),
    _case(resnet_v2.ResNet101V2, 44_675_560, marks=slow),
    _case(resnet_v2.ResNet152V2, 60_380_648, marks=slow),
    _case(vgg16.VGG16, 138_357_544),
    _case(vgg19.VGG19, 143_667_240),
    _case(vgg.VGG16, 14_714_688, include_top=False),
]


@pytest.mark.parametrize("application,count,kwargs", COUNTS)
def test_parameter_counts_are_keras(meta_count, application, count, kwargs):
    assert meta_count(application, **kwargs) == count


def _keras_nasnet_mobile(input_shape, **kwargs):
    """Keras refuses NASNetMobile on torch; its generic NASNet builds the same network."""
    from keras.src.applications.nasnet import NASNet
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32, skip_reduction=False,
                  filter_multiplier=2, default_size=224, name="nasnet_mobile", **kwargs)


WEIGHT_FILES = [  # (module, application, input size, keyword arguments of both libraries)
    _case(convnext, "ConvNeXtTiny", 32, marks=slow, classes=5, **NO_PREPROCESSING),
    _case(convnext, "ConvNeXtTiny", 32, marks=(needs_preprocessing_layers, slow), include_top=False, pooling="avg"),
    _case(densenet, "DenseNet121", 32, marks=slow, classes=5),
    _case(efficientnet, "EfficientNetB0", 32, marks=(needs_preprocessing_layers, slow), classes=5),
    _case(efficientnet_v2, "EfficientNetV2B0", 32, marks=slow, classes=5, **NO_PREPROCESSING),
    _case(efficientnet_v2, "EfficientNetV2S", 32, marks=(needs_preprocessing_layers, slow), include_top=False),
    _case(inception_resnet_v2, "InceptionResNetV2", 75, marks=slow, classes=5),
    _case(mobilenet, "MobileNet", 32, alpha=0.25, classes=5),
    _case(mobilenet_v2, "MobileNetV2", 32, alpha=0.5, classes=5),
    _case(mobilenet_v3, "MobileNetV3Small", 32, classes=5, **NO_PREPROCESSING),
    _case(mobilenet_v3, "MobileNetV3Large", 48, marks=slow, include_top=False, minimalistic=True, alpha=1.25,
          pooling="avg", **NO_PREPROCESSING),
    _case(mobilenet_v3, "MobileNetV3Small", 32, marks=needs_preprocessing_layers, include_top=False),
    _case(nasnet, "NASNetMobile", 32, marks=slow, classes=5, keras_fn=_keras_nasnet_mobile),
    _case(resnet_v2, "ResNet50V2", 32, marks=slow, include_top=False, pooling="max"),
    _case(vgg16, "VGG16", 32, marks=slow, classes=5),
]


@pytest.mark.parametrize("module,name,size,kwargs", WEIGHT_FILES)
def test_loads_a_keras_weights_file(tmp_path, module, name, size, kwargs):
    assert_loads_keras_weights_file(module, name, tmp_path, size, **kwargs)


@pytest.mark.parametrize("module", ["densenet", "inception_resnet_v2", "mobilenet", "mobilenet_v2", "nasnet",
                                    "resnet_v2", "vgg16", "vgg19"])
def test_preprocess_input_is_keras(module):
    assert_preprocess_input_is_keras(getattr(loom.applications, module), getattr(keras.applications, module))


@pytest.mark.parametrize("module", ["convnext", "efficientnet", "efficientnet_v2", "mobilenet_v3"])
def test_preprocess_input_is_the_identity(module):
    x = np.arange(6.0).reshape(1, 1, 2, 3)  # the models normalize their inputs themselves, as Keras's
    assert getattr(loom.applications, module).preprocess_input(x) is x
