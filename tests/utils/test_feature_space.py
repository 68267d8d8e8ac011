"""FeatureSpace: every feature type, crosses, concat/dict output, single samples; parity with Keras 3's
FeatureSpace (which needs TensorFlow, imported only here)."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError, GraphError, InputError
from loom.utils import FeatureSpace
from tests.keras_oracle import keras

tf = pytest.importorskip("tensorflow")

RNG = np.random.default_rng(0)
DATA = {"age": RNG.normal(40, 10, 50).astype("float32"), "city": RNG.choice(["Paris", "Oslo", "Rome", "Lima"], 50),
        "kids": RNG.integers(0, 4, 50), "income": RNG.random(50).astype("float32"),
        "tag": RNG.choice(["a", "b", "c"], 50), "x": RNG.random(50).astype("float32")}


def _spec(space_cls, **extra):
    features = {"age": "float_normalized", "city": "string_categorical", "kids": "integer_categorical",
                "income": space_cls.float_discretized(num_bins=4), "tag": space_cls.string_hashed(num_bins=5),
                "x": space_cls.float_rescaled(scale=2.0, offset=1.0)}
    return {"features": features, "crosses": [("city", "kids")], "crossing_dim": 8, **extra}


def test_concat_matches_keras():
    ours, theirs = FeatureSpace(**_spec(FeatureSpace)), keras.utils.FeatureSpace(**_spec(keras.utils.FeatureSpace))
    ours.adapt(DATA)
    theirs.adapt(DATA)
    np.testing.assert_allclose(ours(DATA).numpy(), np.asarray(theirs(DATA)), atol=1e-5)
    one = {k: v[0] for k, v in DATA.items()}
    np.testing.assert_allclose(ours(one).numpy(), np.asarray(theirs(one)), atol=1e-5)
    assert sorted(ours.get_config()) == sorted(theirs.get_config())


def test_dict_output_matches_keras():
    ours = FeatureSpace(**_spec(FeatureSpace, output_mode="dict"))
    theirs = keras.utils.FeatureSpace(**_spec(keras.utils.FeatureSpace, output_mode="dict"))
    ours.adapt(DATA)
    theirs.adapt(DATA)
    got, want = ours(DATA), theirs(DATA)
    assert sorted(got) == sorted(want)
    for name in want:
        np.testing.assert_allclose(got[name].numpy(), np.asarray(want[name]), atol=1e-5)


def test_adapt_on_batches_and_config_round_trip():
    features = {"city": "string_categorical", "kids": "integer_hashed", "income": "float_discretized"}
    space = FeatureSpace(features, num_discretization_bins=3, hashing_dim=6)
    space.adapt([{k: DATA[k][:25] for k in features}, {k: DATA[k][25:] for k in features}])
    copy = FeatureSpace.from_config(space.get_config())
    inputs = {k: DATA[k] for k in features}
    np.testing.assert_allclose(copy(inputs).numpy(), space(inputs).numpy())
    assert space(inputs).shape == (50, 5 + 6 + 3)


def test_feeds_a_model():
    space = FeatureSpace({"age": "float_normalized", "city": "string_categorical"})
    space.adapt(DATA)
    x = space(DATA)
    model = loom.Sequential([loom.Input((x.shape[1],)), loom.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, DATA["x"], epochs=1, verbose=0)


def test_bad_input():
    with pytest.raises(ConfigError, match="non-empty"):
        FeatureSpace({})
    with pytest.raises(ConfigError, match="unknown type"):
        FeatureSpace({"a": "float_magic"})
    with pytest.raises(ConfigError, match="unknown features"):
        FeatureSpace({"a": "float"}, crosses=[("a", "b")])
    with pytest.raises(ConfigError, match="output_mode"):
        FeatureSpace({"a": "float"}, output_mode="list")
    space = FeatureSpace({"a": "float_normalized"})
    with pytest.raises(InputError, match="adapt"):
        space({"a": [1.0]})
    with pytest.raises(InputError, match="dict"):
        space.adapt(3)
    space.adapt({"a": [1.0, 2.0]})
    with pytest.raises(InputError, match="misses"):
        space({"b": [1.0]})
    ints = FeatureSpace({"a": FeatureSpace.integer_categorical(output_mode="int")})
    ints.adapt({"a": [1, 2]})
    with pytest.raises(InputError, match="concatenated"):
        ints({"a": [1]})


def test_get_encoded_features_are_model_inputs_shaped_like_the_output():
    """Keras's training-model pattern: Model(inputs=space.get_encoded_features(), ...) fed space(raw)."""
    space = FeatureSpace(**_spec(FeatureSpace))
    theirs = keras.utils.FeatureSpace(**_spec(keras.utils.FeatureSpace))
    with pytest.raises(InputError, match="adapt"):
        space.get_encoded_features()
    space.adapt(DATA)
    theirs.adapt(DATA)
    encoded = space.get_encoded_features()
    assert encoded is space.get_encoded_features()
    assert encoded.shape == tuple(theirs.get_encoded_features().shape) and encoded.dtype == "float32"
    model = loom.Model(encoded, loom.layers.Dense(1)(encoded))
    assert model.predict(space(DATA), verbose=0).shape == (50, 1)
    as_dict = FeatureSpace(**_spec(FeatureSpace, output_mode="dict"))
    as_dict.adapt(DATA)
    inputs = as_dict.get_encoded_features()
    assert {n: t.shape[1:] for n, t in inputs.items()} == {n: tuple(v.shape[1:]) for n, v in as_dict(DATA).items()}


def test_get_inputs_explains_that_strings_stay_outside_the_graph():
    space = FeatureSpace({"city": "string_categorical"})
    with pytest.raises(GraphError, match="get_encoded_features"):
        space.get_inputs()


def test_config_round_trip_carries_adapted_normalization_statistics():
    space = FeatureSpace({"age": "float_normalized", "city": "string_categorical"})
    assert space.get_config()["features"]["age"]["config"]["preprocessor"]["config"]["mean"] is None
    space.adapt(DATA)
    copy = FeatureSpace.from_config(space.get_config())
    data = {k: DATA[k] for k in ("age", "city")}
    np.testing.assert_array_equal(copy(data).numpy(), space(data).numpy())  # no adapt() needed
    copy.adapt(data)  # adapting again is harmless: the statistics are fixed
    np.testing.assert_array_equal(copy(data).numpy(), space(data).numpy())
