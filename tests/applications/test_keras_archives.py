"""Applications in ``.keras`` archives both ways: Keras saves -> loom loads, loom saves -> Keras loads, with
the same outputs. Classes Keras defines in its application modules (ConvNeXt's ``LayerScale``,
InceptionResNetV2's ``CustomScaleLayer``) travel under Keras's module names."""

import numpy as np
import pytest

import loom
from loom.applications import convnext, inception_resnet_v2
from tests.applications.helpers import assert_close, layer_names, randomize_batchnorm
from tests.keras_oracle import keras

CASES = {
    "MobileNet": (32, {"alpha": 0.25, "classes": 5}, {}),
    "DenseNet121": (32, {"include_top": False, "pooling": "avg"}, {}),
    "MobileNetV3Small": (32, {"include_preprocessing": False, "classes": 5}, {}),
    "ConvNeXtTiny": (32, {"include_preprocessing": False, "classes": 5}, {"LayerScale": convnext.LayerScale}),
    "InceptionResNetV2": (75, {"include_top": False}, {"CustomScaleLayer": inception_resnet_v2.CustomScaleLayer}),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n == "MobileNet" else [pytest.mark.slow])
                                  for n in CASES])
def test_keras_archive_both_ways(name, tmp_path):
    size, kwargs, custom_objects = CASES[name]
    keras.utils.clear_session()
    keras_model = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), **kwargs)
    randomize_batchnorm(keras_model)
    x = np.random.default_rng(0).uniform(0.0, 255.0, (2, size, size, 3)).astype("float32")
    expected = np.asarray(keras_model.predict(x, verbose=0))
    keras_model.save(tmp_path / "keras.keras")
    model = loom.saving.load_model(tmp_path / "keras.keras", custom_objects=custom_objects)
    assert_close(model.predict(x, verbose=0), expected)
    loom.backend.clear_session()
    own = getattr(loom.applications, name)(weights=None, input_shape=(size, size, 3), **kwargs)
    own.set_weights(keras_model.get_weights())
    own.save(tmp_path / "loom.keras")
    back = keras.saving.load_model(tmp_path / "loom.keras")
    assert [l.name for l in back.layers] == [l.name for l in keras_model.layers]
    assert layer_names(model) == [l.name for l in keras_model.layers]
    assert_close(back.predict(x, verbose=0), expected)
