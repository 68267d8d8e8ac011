import numpy as np
import pytest

import loom
from loom.errors import ConfigError
from loom.utils import Config, get_source_inputs, legacy, pack_x_y_sample_weight, unpack_x_y_sample_weight
from tests.keras_oracle import keras


def test_config_matches_keras_behaviour():
    ours, theirs = Config(a=1, b=[2]), keras.utils.Config(a=1, b=[2])
    assert repr(ours) == repr(theirs) and ours.to_json() == theirs.to_json() and list(ours) == list(theirs)
    ours.c = 3
    assert ours.as_dict() == {"a": 1, "b": [2], "c": 3} and ours.pop("c") == 3 and "c" not in ours
    ours.freeze()
    assert ours.frozen
    with pytest.raises(ConfigError, match="frozen"):
        ours["a"] = 2
    with pytest.raises(AttributeError, match="Unknown attribute"):
        ours.missing
    ours.unfreeze()
    ours.update(d=4)
    assert ours.d == 4 and len(ours) == 3


@pytest.mark.parametrize("args", [([1, 2],), (1,), (1, 2), (1, 2, 3), ((1,), None, 2)])
def test_pack_unpack_match_keras(args):
    assert pack_x_y_sample_weight(*args) == keras.utils.pack_x_y_sample_weight(*args)
    packed = pack_x_y_sample_weight(*args)
    assert unpack_x_y_sample_weight(packed) == keras.utils.unpack_x_y_sample_weight(packed)


def test_get_source_inputs_of_a_two_input_graph():
    a, b = loom.Input((2,)), loom.Input((2,))
    out = loom.layers.Dense(1)(loom.layers.Concatenate()([a, loom.layers.Dense(2)(b)]))
    sources = get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is a and sources[1] is b
    assert get_source_inputs(a)[0] is a


def test_legacy_round_trip_and_keras_format():
    entry = legacy.serialize_keras_object(loom.layers.Dense(3, activation="relu"))
    keras_entry = keras.utils.legacy.serialize_keras_object(keras.layers.Dense(3, activation="relu"))
    assert set(entry) == set(keras_entry) == {"class_name", "config"}
    assert legacy.deserialize_keras_object(entry).units == 3
    layer = legacy.deserialize_keras_object({"class_name": "Dropout", "config": {"rate": 0.3, "name": "d"}})
    assert isinstance(layer, loom.layers.Dropout) and layer.rate == 0.3
    assert legacy.deserialize_keras_object("relu", module_objects={"relu": np.abs}) is np.abs
    assert legacy.serialize_keras_object(None) is None
    with pytest.raises(ConfigError, match="Unknown"):
        legacy.deserialize_keras_object("nope")


def test_progbar_is_public():
    bar = loom.utils.Progbar(3, verbose=0)
    bar.update(3)


@pytest.mark.parametrize("name, excluded", [("utils", {"FeatureSpace"}), ("utils.bounding_boxes", set()),
                                            ("utils.legacy", set()), ("datasets", set())])
def test_every_keras_name_exists(name, excluded):
    import importlib
    theirs = importlib.import_module(f"keras.{name}")
    ours = importlib.import_module(f"loom.{name}")
    missing = {n for n in dir(theirs) if not n.startswith("_") and not hasattr(ours, n)} - excluded
    assert not missing, f"loom.{name} lacks {sorted(missing)}"
