"""keras.saving's object API: serialize/deserialize in Keras's dict schema, registration, custom object scopes."""

import json

import numpy as np
import pytest
import torch

import loom
from loom import saving
from loom.errors import ConfigError, UnsafeLoadError
from tests.keras_oracle import keras


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.Dense(3, activation="relu", kernel_regularizer=lib.regularizers.L2(0.1)),
    lambda lib: lib.initializers.GlorotUniform(seed=2),
    lambda lib: lib.regularizers.L1L2(0.1, 0.2),
    lambda lib: lib.constraints.MaxNorm(3.0),
    lambda lib: lib.losses.MeanSquaredError(),
    lambda lib: lib.optimizers.Adam(0.01),
])
def test_schema_round_trip_and_same_keys_as_keras(make):
    ours, theirs = make(loom), make(keras)
    entry = saving.serialize_keras_object(ours)
    expected = keras.saving.serialize_keras_object(theirs)
    assert set(entry) == set(expected) == {"module", "class_name", "config", "registered_name"}
    assert entry["class_name"] == expected["class_name"]
    assert entry["module"].startswith("loom.")
    json.dumps(entry)
    back = saving.deserialize_keras_object(json.loads(json.dumps(entry)))
    assert type(back) is type(ours)
    assert saving.serialize_keras_object(back)["config"] == entry["config"]


def test_keras_written_entries_load():
    # (Keras-written layer configs carry Keras-only keys such as quantization_config: loom's .keras reader maps them.)
    reg = saving.deserialize_keras_object(keras.saving.serialize_keras_object(keras.regularizers.L2(0.5)))
    assert isinstance(reg, loom.regularizers.L2) and reg.l2 == 0.5
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    ours = saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
    assert isinstance(ours, loom.schedules.ExponentialDecay) and ours.decay_steps == 10
    init = saving.deserialize_keras_object(keras.saving.serialize_keras_object(keras.initializers.HeNormal(seed=1)))
    assert isinstance(init, loom.initializers.HeNormal)


def test_plain_values_functions_and_arrays():
    assert saving.serialize_keras_object({"a": (1, 2), "b": None}) == {"a": (1, 2), "b": None}
    assert saving.serialize_keras_object(loom.activations.relu) == \
        keras.saving.serialize_keras_object(keras.activations.relu)
    assert saving.deserialize_keras_object(saving.serialize_keras_object(loom.activations.gelu)) is \
        loom.activations.gelu
    arr = np.arange(4, dtype="float32").reshape(2, 2)
    entry = saving.serialize_keras_object(arr)
    assert entry == keras.saving.serialize_keras_object(arr)
    np.testing.assert_array_equal(saving.deserialize_keras_object(entry), arr)
    t = saving.deserialize_keras_object(saving.serialize_keras_object(torch.ones(2, dtype=torch.int32)))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.int32
    with pytest.raises(ConfigError, match="lambda"):
        saving.serialize_keras_object(lambda x: x)


def test_registered_classes_and_functions():
    @saving.register_keras_serializable(package="nstest")
    class Scale(loom.layers.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {**super().get_config(), "factor": self.factor}

    @saving.register_keras_serializable(package="nstest")
    def halve(x):
        return x / 2

    entry = saving.serialize_keras_object(Scale(3.0))
    assert entry["registered_name"] == "nstest>Scale"
    assert saving.get_custom_objects()["nstest>Scale"] is Scale
    assert saving.deserialize_keras_object(entry).factor == 3.0
    fn_entry = saving.serialize_keras_object(halve)
    assert fn_entry["config"] == "nstest>halve"
    assert saving.deserialize_keras_object(fn_entry) is halve
    assert loom.layers.Dense(2, activation=halve).activation is halve


def test_custom_object_scope_and_custom_objects():
    class Triple(loom.layers.Layer):
        def call(self, x):
            return 3 * x

    entry = saving.serialize_keras_object(Triple())
    with pytest.raises(ConfigError, match="custom_objects"):
        saving.deserialize_keras_object(entry)
    with saving.custom_object_scope({"Triple": Triple}):
        assert type(saving.deserialize_keras_object(entry)) is Triple
    assert type(saving.deserialize_keras_object(entry, custom_objects={"Triple": Triple})) is Triple
    assert saving.CustomObjectScope is saving.custom_object_scope


def test_lambda_needs_unsafe_mode():
    entry = saving.serialize_loom_object(loom.layers.Lambda(lambda x: x + 1))
    with pytest.raises(UnsafeLoadError):
        saving.deserialize_keras_object(entry)
    loom.config.enable_unsafe_deserialization()
    try:
        layer = saving.deserialize_keras_object(entry)
    finally:
        loom.config._state["safe_mode"] = None
    assert float(layer(torch.zeros(1))) == 1.0


def test_model_json_round_trip_keeps_predictions_with_copied_weights():
    inputs = loom.Input((4,))
    outputs = loom.layers.Dense(2)(loom.layers.Dense(3, activation="tanh")(inputs))
    model = loom.Model(inputs, outputs)
    clone = loom.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    x = torch.randn(5, 4)
    torch.testing.assert_close(clone(x), model(x))
    with pytest.raises(ConfigError, match="JSON"):
        loom.models.model_from_json("{not json")
    with pytest.raises(ConfigError, match="not a model"):
        loom.models.model_from_json(json.dumps(saving.serialize_keras_object(loom.layers.Dense(2))))


def test_save_model_functions(tmp_path):
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    for fn in (loom.models.save_model, loom.saving.save_model):
        path = tmp_path / f"{fn.__module__}.loom"
        fn(model, path)
        again = loom.models.load_model(path)
        np.testing.assert_allclose(again.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0))
    with pytest.raises(ConfigError, match="zipped"):
        loom.models.save_model(model, tmp_path / "x.loom", zipped=False)


def test_layers_serialize_and_deserialize_as_keras():
    from tests.keras_oracle import keras
    ours = loom.layers.serialize(loom.layers.Dense(3, activation="relu", name="d"))
    theirs = keras.layers.serialize(keras.layers.Dense(3, activation="relu", name="d"))
    assert (ours["class_name"], ours["config"]["units"]) == (theirs["class_name"], theirs["config"]["units"])
    assert loom.layers.deserialize(theirs).units == keras.layers.deserialize(ours).units == 3
