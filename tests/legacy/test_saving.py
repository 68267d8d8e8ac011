"""keras.legacy.saving: the Keras 2 {class_name, config} form, read and written as Keras does."""

import pytest

import loom
from loom.errors import ConfigError
from loom.legacy import saving
from tests.keras_oracle import keras


def test_keras_reads_what_loom_writes_and_back():
    ours = saving.serialize_keras_object(loom.layers.Dense(3, activation="relu", name="d"))
    theirs = keras.legacy.saving.serialize_keras_object(keras.layers.Dense(3, activation="relu", name="d"))
    assert set(ours) == set(theirs) == {"class_name", "config"}
    keras_layer = keras.legacy.saving.deserialize_keras_object(ours, module_objects={"Dense": keras.layers.Dense})
    loom_layer = saving.deserialize_keras_object(theirs, module_objects={"Dense": loom.layers.Dense})
    assert keras_layer.units == loom_layer.units == 3
    assert keras_layer.get_config()["activation"] == loom_layer.get_config()["activation"] == "relu"


def test_optimizer_round_trip_with_module_objects():
    entry = saving.serialize_keras_object(loom.optimizers.Adam(0.25))
    opt = saving.deserialize_keras_object(entry, module_objects={"Adam": loom.optimizers.Adam})
    assert opt.learning_rate == pytest.approx(0.25)


def test_names_and_errors():
    assert saving.deserialize_keras_object("relu", module_objects={"relu": loom.activations.relu}) is \
        loom.activations.relu
    assert saving.serialize_keras_object(None) is None and saving.deserialize_keras_object(None) is None
    with pytest.raises(ConfigError, match="Unknown object: 'Nope'"):
        saving.deserialize_keras_object({"class_name": "Nope", "config": {}})
    with pytest.raises(ConfigError, match="get_config"):
        saving.serialize_keras_object(lambda x: x)
