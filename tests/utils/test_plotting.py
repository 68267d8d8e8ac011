import re

import pytest

import loom
from loom import layers
from loom.errors import ConfigError
from loom.utils import plotting
from loom.utils.plotting import GraphvizNotFoundError, model_to_dot, plot_model


def _ticket_classifier():
    title = loom.Input((100,), name="title")
    body = loom.Input((100,), name="text_body")
    tags = loom.Input((10,), name="tags")
    features = layers.Dense(64, activation="relu", name="features")(layers.Concatenate(name="concat")(
        [title, body, tags]))
    priority = layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = layers.Dense(4, activation="softmax", name="department")(features)
    return loom.Model([title, body, tags], [priority, department], name="ticket_classifier")


def _edges(dot):
    ids = dict(re.findall(r'"(\w+)" \[label=<.*?<b>([^<]+)</b>', dot))
    return sorted((ids.get(a, a), ids.get(b, b)) for a, b in re.findall(r'"(\w+)" -> "(\w+)";', dot))


def test_multi_input_multi_output_graph_and_labels():
    dot = model_to_dot(_ticket_classifier(), show_shapes=True, show_dtype=True, show_layer_activations=True,
                       show_trainable=True, rankdir="LR", dpi=72)
    assert dot.startswith('digraph "ticket_classifier" {') and 'rankdir="LR", dpi=72' in dot
    assert _edges(dot) == [("concat", "features"), ("features", "department"), ("features", "priority"),
                           ("tags", "concat"), ("text_body", "concat"), ("title", "concat")]
    assert "(None, 100)<br/>(None, 100)<br/>(None, 10)" in dot and "(None, 210)" in dot
    assert "activation: softmax" in dot and "dtype: float32" in dot and "trainable" in dot
    assert dot.to_string() == str(dot)
    plain = model_to_dot(_ticket_classifier(), show_layer_names=False)
    assert "<b>Dense</b>" in plain and "priority" not in plain and "Input shape" not in plain


def test_shared_layer_is_one_box_with_an_edge_per_call():
    shared = layers.Dense(16, name="shared")
    a, b = loom.Input((8,), name="a"), loom.Input((8,), name="b")
    model = loom.Model([a, b], layers.concatenate([shared(a), shared(b)], name="joined"))
    dot = model_to_dot(model, show_shapes=True)
    assert dot.count("<b>shared</b>") == 1 and "shared: 2 calls" in dot
    assert _edges(dot) == [("a", "shared"), ("b", "shared"), ("shared", "joined"), ("shared", "joined")]


def test_nested_models_collapsed_or_expanded_as_clusters():
    inner_in = loom.Input((4,), name="inner_in")
    inner = loom.Model(inner_in, layers.Dense(2, name="inner_dense")(inner_in), name="encoder")
    x = loom.Input((4,), name="x")
    model = loom.Model(x, layers.Dense(1, name="head")(inner(x)), name="outer")
    collapsed = model_to_dot(model)
    assert "<b>encoder</b> (Functional)" in collapsed and "cluster" not in collapsed
    assert _edges(collapsed) == [("encoder", "head"), ("x", "encoder")]
    expanded = model_to_dot(model, expand_nested=True)
    assert 'subgraph "cluster_' in expanded and "<b>encoder</b> (Functional)" in expanded
    assert _edges(expanded) == [("inner_dense", "head"), ("inner_in", "inner_dense"), ("x", "inner_in")]


def test_sequential_and_subclassed():
    seq = loom.Sequential([layers.Dense(3, input_shape=(2,), name="d1"), layers.Dense(1, name="d2")], name="seq")
    assert _edges(model_to_dot(seq)) == [("d1", "d2"), ("input_layer", "d1")]
    assert "(InputLayer)" in model_to_dot(seq)

    class Custom(loom.Model):
        def call(self, x):
            return x

    dot = model_to_dot(Custom(name="custom"))
    assert "<b>custom</b> (Custom)" in dot and "->" not in dot


@pytest.mark.parametrize("extension, magic", [("png", b"\x89PNG\r\n\x1a\n"), ("svg", b"<?xml"), ("pdf", b"%PDF-"),
                                              ("dot", b"digraph")])
def test_plot_model_writes_each_format(tmp_path, extension, magic):
    path = tmp_path / "sub" / f"model.{extension}"
    shown = plot_model(_ticket_classifier(), to_file=path, show_shapes=True, expand_nested=True, dpi=50)
    assert shown is None or extension == "png"  # an IPython Image of PNGs, for notebooks, as Keras
    data = path.read_bytes()
    assert data.startswith(magic) and len(data) > 500
    if extension == "svg":
        assert b"ticket_classifier" in data and b"department" in data


def test_errors(tmp_path, monkeypatch):
    model = _ticket_classifier()
    with pytest.raises(ConfigError, match="rankdir"):
        model_to_dot(model, rankdir="XY")
    with pytest.raises(ConfigError, match="'.txt'"):
        plot_model(model, tmp_path / "model.txt")
    monkeypatch.setattr(plotting.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as info:
        plot_model(model, tmp_path / "model.png")
    assert isinstance(info.value, ImportError) and not (tmp_path / "model.png").exists()
