"""Model configs (loom/models/config.py) and object (de)serialization (loom/saving.py)."""

import json

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, UnsafeLoadError
from loom.saving import deserialize_loom_object, serialize_loom_object
from tests.keras_oracle import keras


@loom.saving.register_loom_serializable(package="tests")
class ScaleBy(loom.layers.Layer):
    """A custom layer with a constructor argument and non-tensor / tuple call arguments."""

    def __init__(self, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.offset = offset

    def call(self, x, factor=1.0, pair=None):
        out = x * factor + self.offset
        if pair is not None:
            out = out + pair[0] * pair[1]
        return out

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


class Unregistered(loom.layers.Layer):
    def call(self, x):
        return x + 1


def double(t):
    return 2 * t


def _json_round_trip(config):
    return json.loads(json.dumps(config))


def _copy_and_compare(model, rebuilt, inputs):
    rebuilt.set_weights(model.get_weights())
    expected, actual = model(inputs), rebuilt(inputs)
    if isinstance(expected, dict):
        assert sorted(expected) == sorted(actual)
        pairs = [(expected[k], actual[k]) for k in expected]
    elif isinstance(expected, list):
        pairs = list(zip(expected, actual))
    else:
        pairs = [(expected, actual)]
    for e, a in pairs:
        torch.testing.assert_close(a, e)


def _round_trip(model, inputs, **kwargs):
    config = _json_round_trip(model.get_config())
    rebuilt = type(model).from_config(config, **kwargs)
    assert _json_round_trip(rebuilt.get_config()) == config
    _copy_and_compare(model, rebuilt, inputs)
    return config, rebuilt


def _x(*shape):
    return np.random.default_rng(0).normal(size=shape).astype("float32")


def test_dense_layer_config_round_trip():
    layer = loom.layers.Dense(3, activation="relu", use_bias=False, name="d", kernel_initializer="he_normal")
    entry = _json_round_trip(serialize_loom_object(layer))
    assert entry["class_name"] == "Dense" and entry["config"]["units"] == 3
    rebuilt = deserialize_loom_object(entry)
    assert type(rebuilt) is loom.layers.Dense and rebuilt.get_config() == layer.get_config()


def test_functional_single_io():
    x = loom.Input((4,), name="x")
    h = loom.layers.Dense(8, activation="relu", name="h")(x)
    model = loom.Model(x, loom.layers.Dense(2, name="out")(h), name="simple")
    config, rebuilt = _round_trip(model, _x(3, 4))
    assert config["input_layers"] == ["x", 0, 0] and config["output_layers"] == ["out", 0, 0]
    assert rebuilt.name == "simple" and [l.name for l in rebuilt.layers] == ["x", "h", "out"]


def test_sequential_with_input_and_with_input_shape():
    for first in ([loom.Input((5,))], []):
        kwargs = {} if first else {"input_shape": (5,)}
        model = loom.Sequential(first + [loom.layers.Dense(3, **kwargs), loom.layers.Dropout(0.5),
                                         loom.layers.Dense(1)])
        config, rebuilt = _round_trip(model, _x(2, 5))
        assert config["layers"][0]["class_name"] == "InputLayer"
        assert config["build_input_shape"] == [None, 5]
        assert [type(l).__name__ for l in rebuilt.layers] == ["Dense", "Dropout", "Dense"]


def test_unbuilt_sequential_round_trip_then_builds():
    model = loom.Sequential([loom.layers.Dense(3), loom.layers.Dense(1)])
    config = _json_round_trip(model.get_config())
    assert "build_input_shape" not in config
    rebuilt = loom.Sequential.from_config(config)
    assert not rebuilt.built
    assert rebuilt(_x(2, 7)).shape == (2, 1)


def test_integer_input_sequential_keeps_dtype():
    model = loom.Sequential([loom.layers.Embedding(20, 4, input_shape=(6,)), loom.layers.Flatten(),
                             loom.layers.Dense(1)])
    ids = np.random.default_rng(0).integers(0, 20, (2, 6))
    config, rebuilt = _round_trip(model, ids)
    assert rebuilt.inputs[0].dtype == model.inputs[0].dtype


def test_multi_input_multi_output_lists():
    a, b = loom.Input((4,), name="a"), loom.Input((3,), name="b")
    merged = loom.layers.Concatenate(name="cat")([a, loom.layers.Dense(4, name="proj")(b)])
    out1 = loom.layers.Dense(1, name="o1")(merged)
    out2 = loom.layers.Dense(2, name="o2")(merged)
    model = loom.Model([a, b], [out1, out2])
    config, rebuilt = _round_trip(model, [_x(2, 4), _x(2, 3)])
    assert config["input_layers"] == [["a", 0, 0], ["b", 0, 0]]
    assert config["output_layers"] == [["o1", 0, 0], ["o2", 0, 0]]
    cat_node = next(l for l in config["layers"] if l["name"] == "cat")["inbound_nodes"][0]
    assert [t["config"]["keras_history"] for t in cat_node["args"][0]] == [["a", 0, 0], ["proj", 0, 0]]


def test_dict_inputs_and_outputs():
    a, b = loom.Input((4,), name="a"), loom.Input((3,), name="b")
    model = loom.Model({"a": a, "b": b}, {"score": loom.layers.Dense(1, name="score")(a), "echo": b})
    config, rebuilt = _round_trip(model, {"a": _x(2, 4), "b": _x(2, 3)})
    assert config["input_layers"] == {"a": ["a", 0, 0], "b": ["b", 0, 0]}
    assert config["output_layers"]["echo"] == ["b", 0, 0]
    assert rebuilt.output_names == model.output_names


def test_shared_layer_two_calls():
    a, b = loom.Input((4,), name="a"), loom.Input((4,), name="b")
    shared = loom.layers.Dense(3, name="shared")
    model = loom.Model([a, b], loom.layers.Add(name="sum")([shared(a), shared(b)]))
    config, rebuilt = _round_trip(model, [_x(2, 4), _x(2, 4) + 1])
    entry = next(l for l in config["layers"] if l["name"] == "shared")
    assert len(entry["inbound_nodes"]) == 2
    add_args = next(l for l in config["layers"] if l["name"] == "sum")["inbound_nodes"][0]["args"][0]
    assert [t["config"]["keras_history"] for t in add_args] == [["shared", 0, 0], ["shared", 1, 0]]
    assert len(rebuilt.get_layer("shared")._inbound_nodes) == 2
    assert rebuilt.count_params() == model.count_params()


def test_node_indices_count_only_calls_inside_the_model():
    shared = loom.layers.Dense(2, name="shared")
    other = loom.Input((4,), name="other")
    shared(other)  # a call outside the model below
    x = loom.Input((4,), name="x")
    model = loom.Model(x, shared(x))
    config, _ = _round_trip(model, _x(2, 4))
    assert config["output_layers"] == ["shared", 0, 0]


def test_nested_functional_and_sequential():
    inner_in = loom.Input((4,), name="inner_in")
    inner = loom.Model(inner_in, loom.layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    stack = loom.Sequential([loom.layers.Dense(2, input_shape=(3,), name="stack_dense")], name="stack")
    x = loom.Input((4,), name="x")
    model = loom.Model(x, stack(inner(x)), name="outer")
    config, rebuilt = _round_trip(model, _x(2, 4))
    classes = {l["name"]: l["class_name"] for l in config["layers"]}
    assert classes == {"x": "InputLayer", "inner": "Model", "stack": "Sequential"}
    assert isinstance(rebuilt.get_layer("inner"), loom.Model)
    assert isinstance(rebuilt.get_layer("stack"), loom.Sequential)
    wrapped = loom.Sequential([rebuilt, loom.layers.Dense(1)])
    _round_trip(wrapped, _x(2, 4))


def test_custom_layer_with_call_kwargs_and_tuples():
    x, y = loom.Input((3,), name="x"), loom.Input((3,), name="y")
    out = ScaleBy(offset=0.5, name="scale")(x, factor=3.0, pair=(x, y))
    model = loom.Model([x, y], out)
    config, rebuilt = _round_trip(model, [_x(2, 3), _x(2, 3) - 1])
    entry = next(l for l in config["layers"] if l["name"] == "scale")
    assert entry["registered_name"] == "tests>ScaleBy"
    kwargs = entry["inbound_nodes"][0]["kwargs"]
    assert kwargs["factor"] == 3.0 and kwargs["pair"]["class_name"] == "__tuple__"
    assert type(rebuilt.get_layer("scale")) is ScaleBy and rebuilt.get_layer("scale").offset == 0.5


def test_config_layout_matches_keras():
    def build(L, M):
        a, b = L.Input((4,), name="a"), L.Input((3,), name="b")
        shared = L.layers.Dense(4, name="shared")
        h = L.layers.Concatenate(name="cat")([shared(a), shared(L.layers.Dense(4, name="proj")(b))])
        return M({"a": a, "b": b}, [L.layers.Dense(1, name="o1")(h), L.layers.Dense(2, name="o2")(h)])

    ours = build(loom, loom.Model).get_config()
    theirs = build(keras, keras.Model).get_config()

    def refs(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return [value["config"]["keras_history"]]
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
        return [r for v in items for r in refs(v)]

    def histories(config):
        return {l["name"]: [refs(n["args"]) for n in l["inbound_nodes"]] for l in config["layers"]}

    assert [l["name"] for l in ours["layers"]] == [l["name"] for l in theirs["layers"]]
    assert [l["class_name"] for l in ours["layers"]] == [l["class_name"] for l in theirs["layers"]]
    assert _json_round_trip(ours["input_layers"]) == _json_round_trip(theirs["input_layers"])
    assert _json_round_trip(ours["output_layers"]) == _json_round_trip(theirs["output_layers"])
    assert histories(_json_round_trip(ours)) == histories(_json_round_trip(theirs))
    assert histories(ours)["cat"] == [[["shared", 0, 0], ["shared", 1, 0]]]


def test_unregistered_class_is_refused_then_allowed_explicitly():
    x = loom.Input((2,), name="x")
    model = loom.Model(x, Unregistered(name="plus")(x))
    config = _json_round_trip(model.get_config())
    with pytest.raises(UnsafeLoadError, match="Unregistered"):
        loom.Model.from_config(config)
    for kwargs in ({"custom_objects": {"Unregistered": Unregistered}}, {"safe_mode": False}):
        rebuilt = loom.Model.from_config(config, **kwargs)
        assert type(rebuilt.get_layer("plus")) is Unregistered


def test_lambda_needs_safe_mode_off_or_custom_objects():
    x = loom.Input((3,), name="x")
    h = loom.layers.Lambda(lambda t: t * 3 + 1, name="lam")(x)
    model = loom.Model(x, loom.layers.Lambda(double, name="dbl")(h))
    config = _json_round_trip(model.get_config())
    with pytest.raises(UnsafeLoadError, match="safe_mode"):
        loom.Model.from_config(config)
    rebuilt = loom.Model.from_config(config, safe_mode=False)
    _copy_and_compare(model, rebuilt, _x(2, 3))
    only_lambda = loom.Sequential([loom.Input((3,)), loom.layers.Lambda(double)])
    rebuilt = loom.Sequential.from_config(_json_round_trip(only_lambda.get_config()),
                                          custom_objects={"double": double})
    _copy_and_compare(only_lambda, rebuilt, _x(2, 3))


def test_subclassed_model_without_graph_has_no_automatic_config():
    class Sub(loom.Model):
        def __init__(self):
            super().__init__()
            self.dense = loom.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ConfigError, match="subclassed"):
        Sub().get_config()


def test_unsaveable_values_are_reported():
    x = loom.Input((2,), name="x")
    weight = torch.nn.Parameter(torch.tensor(2.0))  # saved as a value it would be frozen
    model = loom.Model(x, ScaleBy(offset=np.float32(2.0), name="s")(x, factor=weight))
    with pytest.raises(ConfigError, match="layer 's'"):
        model.get_config()


def test_constant_slice_and_array_arguments_round_trip():
    """Slices, ``...`` and constant arrays in calls are written as Keras writes them (``__slice__``...)."""
    x = loom.Input((3,), name="x")
    out = ScaleBy(name="s")(x, factor=torch.tensor([1.0, 2.0, 3.0]), pair=(torch.tensor([2.0, 0.0, 1.0]), 3))
    out = loom.ops.multiply(out, np.array([2, 1, 3], "int32"))
    model = loom.Model(x, loom.ops.get_item(out, (Ellipsis, slice(None, None, 2))))
    config = _json_round_trip(model.get_config())
    calls = [node for layer in config["layers"] for node in layer["inbound_nodes"]]
    assert calls[0]["kwargs"]["factor"] == {"class_name": "__tensor__",
                                            "config": {"value": [1.0, 2.0, 3.0], "dtype": "float32"}}
    assert calls[1]["args"][1] == {"class_name": "__numpy__", "config": {"value": [2, 1, 3], "dtype": "int32"}}
    assert calls[2]["args"][1]["config"]["value"] == [{"class_name": "__ellipsis__", "config": {}}, {
        "class_name": "__slice__", "config": {"start": None, "stop": None, "step": 2}}]
    rebuilt = loom.Model.from_config(config, custom_objects={"ScaleBy": ScaleBy})
    _copy_and_compare(model, rebuilt, _x(2, 3))
    calls[2]["args"][1]["config"]["value"][1]["config"]["step"] = "2"
    with pytest.raises(ConfigError, match="slice"):
        loom.Model.from_config(config, custom_objects={"ScaleBy": ScaleBy})
    calls[1]["args"][1]["config"]["dtype"] = "float99"
    with pytest.raises(ConfigError, match="array"):
        loom.Model.from_config(config, custom_objects={"ScaleBy": ScaleBy})


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.update(layers="nope"), "layers"),
    (lambda c: c["layers"].append(7), "layers"),
    (lambda c: c["layers"][1].update(class_name="NoSuchLayer", registered_name=None), "NoSuchLayer"),
    (lambda c: c["layers"][1]["inbound_nodes"][0]["args"][0]["config"].update(keras_history=["ghost", 0, 0]),
     "ghost"),
    (lambda c: c["layers"][1]["inbound_nodes"][0]["args"][0]["config"].update(keras_history=["x", 5, 0]),
     "cannot be connected"),
    (lambda c: c["layers"][1]["inbound_nodes"][0]["args"][0]["config"].update(keras_history="x"),
     "keras_history"),
    (lambda c: c.update(output_layers=["h", 0, 9]), "does not exist"),
    (lambda c: c.update(output_layers=[]), "output_layers"),
    (lambda c: c["layers"][1]["config"].update(units="many"), "units"),
    (lambda c: c["layers"][1]["config"].update(bogus=1), "bogus"),
    (lambda c: c["layers"][1].update(config=[1, 2]), "config"),
    (lambda c: c["layers"].append(dict(c["layers"][1])), "Two layers"),
])
def test_malformed_functional_configs_raise_loom_errors(mutate, message):
    x = loom.Input((4,), name="x")
    model = loom.Model(x, loom.layers.Dense(2, name="h")(x))
    config = _json_round_trip(model.get_config())
    mutate(config)
    with pytest.raises(loom.LoomError, match=message):
        loom.Model.from_config(config)


def _frozen_statistics_model(lib):
    """The transfer-learning pattern: an inner model called with an explicit ``training=False``."""
    inner_input = lib.Input((3,))
    inner = lib.Model(inner_input, lib.layers.BatchNormalization()(inner_input), name="base")
    inputs = lib.Input((3,))
    return lib.Model(inputs, lib.layers.Dense(1)(inner(inputs, training=False)))


def test_explicit_training_argument_survives_config_clone_and_files(tmp_path):
    model = _frozen_statistics_model(loom)
    node_kwargs = model.get_config()["layers"][1]["inbound_nodes"][0]["kwargs"]
    k_node_kwargs = _frozen_statistics_model(keras).get_config()["layers"][1]["inbound_nodes"][0]["kwargs"]
    assert node_kwargs == {"training": False} and k_node_kwargs["training"] is False
    model.save(tmp_path / "m.loom")
    model.save(tmp_path / "m.keras")
    copies = [loom.Model.from_config(model.get_config()), loom.models.clone_model(model),
              loom.models.load_model(tmp_path / "m.loom"), loom.models.load_model(tmp_path / "m.keras")]
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(8, 3)).astype("float32")
    for copy in copies:
        copy.compile(optimizer="sgd", loss="mse")
        copy.fit(data, np.zeros((8, 1), "float32"), verbose=0)
        moving_mean = copy.get_layer("base").layers[1].moving_mean
        np.testing.assert_array_equal(np.asarray(moving_mean), np.zeros(3))  # inference mode: never updated
