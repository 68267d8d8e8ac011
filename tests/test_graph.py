"""Graph nodes, ordering and the runner (loom/graph.py)."""

import pytest
import torch

import loom
from loom import layers
from loom.errors import GraphError
from loom.graph import GraphRunner, Node, build_graph, map_graph
from tests.keras_oracle import keras


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    keras.backend.clear_session(free_memory=False)
    yield


def _diamond(lib):
    """x -> (left, right) -> add -> out, with a second input feeding out."""
    L = lib.layers
    x = lib.Input((4,), name="x")
    z = lib.Input((4,), name="z")
    left = L.Dense(4, name="left")(x)
    right = L.Dense(4, name="right")(L.Dense(4, name="pre_right")(x))
    merged = L.add([left, right, z])
    out = L.Dense(2, name="out")(merged)
    return [x, z], out


def test_node_records_call():
    x = loom.Input((3,))
    dense = layers.Dense(2)
    y = dense(x)
    node = dense._inbound_nodes[0]
    assert isinstance(node, Node) and node.layer is dense
    assert node.input_tensors == [x] and node.output_tensors == [y]
    assert node.parent_nodes == [x.node] and not node.is_input and x.node.is_input
    assert node.index == 0 and y.node is node
    assert repr(node) == "<Node dense[0]>"


def test_map_graph_orders_layers_like_keras():
    inputs, out = _diamond(loom)
    nodes, loom_layers = map_graph(inputs, [out])
    k_inputs, k_out = _diamond(keras)
    k_model = keras.Model(k_inputs, k_out)
    assert [l.name for l in loom_layers] == [l.name for l in k_model.layers]
    assert nodes[0].is_input and nodes[-1].layer.name == "out"


def test_nodes_by_depth_counts_from_outputs():
    inputs, out = _diamond(loom)
    graph = build_graph(inputs, [out])
    depths = {d: sorted(n.layer.name for n in group) for d, group in graph.nodes_by_depth.items()}
    assert depths[0] == ["out"]
    assert depths[1] == ["add"]
    assert max(depths) == 4 and depths[4] == ["x"]
    assert list(graph.nodes_by_depth) == sorted(graph.nodes_by_depth, reverse=True)


def test_disconnected_graph_names_the_missing_input():
    inputs, out = _diamond(loom)
    with pytest.raises(GraphError, match="Input 'z'"):
        map_graph([inputs[0]], [out])


def test_unreachable_tensor_is_reported():
    x = loom.Input((3,), name="x")
    h = layers.Dense(3, name="h")(x)
    other = loom.Input((3,), name="other")
    y = layers.Dense(1, name="y")(layers.add([h, other]))
    with pytest.raises(GraphError, match="Graph disconnected.*'other'"):
        map_graph([x], [y])


def test_duplicate_layer_names_are_refused():
    x = loom.Input((3,))
    y = layers.Dense(3, name="same")(layers.Dense(3, name="same")(x))
    with pytest.raises(GraphError, match=r"\['same'\]"):
        map_graph([x], [y])


def test_intermediate_tensor_can_start_a_graph():
    x = loom.Input((3,))
    h = layers.Dense(4, name="h")(x)
    y = layers.Dense(2, name="y")(h)
    nodes, graph_layers = map_graph([h], [y])
    assert [l.name for l in graph_layers] == ["y"]
    runner = GraphRunner([h], [y], nodes)
    out = runner.run([torch.ones(2, 4)])[0]
    expected = torch.ones(2, 4) @ y.node.layer.kernel + y.node.layer.bias
    torch.testing.assert_close(out, expected)


def test_unused_input_is_kept_like_keras():
    def build(lib):
        a = lib.Input((2,), name="a")
        unused = lib.Input((2,), name="unused")
        return [a, unused], lib.layers.Dense(1, name="y")(a)
    inputs, y = build(loom)
    _, graph_layers = map_graph(inputs, [y])
    k_inputs, k_y = build(keras)
    assert [l.name for l in graph_layers] == [l.name for l in keras.Model(k_inputs, k_y).layers]
    assert {l.name for l in graph_layers} == {"a", "unused", "y"}


def test_deep_chain_has_no_recursion_limit():
    x = loom.Input((2,))
    y = x
    lin = layers.Dense(2)
    for _ in range(1500):
        y = lin(y)
    nodes, graph_layers = map_graph([x], [y])
    assert len(nodes) == 1501 and len(graph_layers) == 2


def test_runner_step_kinds_and_results():
    x = loom.Input((3,))
    a = layers.Dense(3, name="a")(x)
    b = layers.Dense(3, name="b")(x)
    s = layers.add([a, b])

    class TwoOut(loom.layers.Layer):
        def call(self, t, scale=1.0):
            return t * scale, t - 1

    p, q = TwoOut(name="two")(s, scale=2.0)
    nodes, _ = map_graph([x], [p, q])
    runner = GraphRunner([x], [p, q], nodes)
    kinds = {step[0].name: step[1] for step in runner.steps}
    assert kinds == {"a": 0, "b": 0, "add": 1, "two": 2}  # the runner calls layers as written
    data = torch.randn(4, 3)
    la, lb = a.node.layer, b.node.layer
    ref = data @ la.kernel + la.bias + data @ lb.kernel + lb.bias
    out_p, out_q = runner.run([data])
    torch.testing.assert_close(out_p, ref * 2)
    torch.testing.assert_close(out_q, ref - 1)


class _MakeMask(loom.layers.Layer):
    """Masks out time steps whose first feature is 0."""

    def call(self, x):
        return x

    def compute_mask(self, inputs, mask=None):
        return inputs[..., 0] != 0


class _MaskedSum(loom.layers.Layer):
    """Sums time steps where the mask is True (all when there is no mask)."""

    def call(self, x, mask=None):
        if mask is None:
            return x.sum(dim=1)
        return (x * mask.unsqueeze(-1).to(x.dtype)).sum(dim=1)


def test_masks_flow_to_layers_that_take_mask():
    x = loom.Input((None, 2))
    masked = _MakeMask()(x)
    assert masked.has_mask
    y = _MaskedSum()(masked)
    assert not y.has_mask
    model = loom.Model(x, y)
    data = torch.tensor([[[1.0, 1.0], [0.0, 5.0], [2.0, 2.0]]])
    torch.testing.assert_close(model(data), torch.tensor([[3.0, 3.0]]))
    unmasked = loom.Model(x, _MaskedSum()(x))
    torch.testing.assert_close(unmasked(data), torch.tensor([[3.0, 8.0]]))


def test_masks_pass_through_supports_masking_layers():
    class PassThrough(loom.layers.Layer):
        supports_masking = True

        def call(self, x):
            return x * 1.0
    x = loom.Input((None, 2))
    y = _MaskedSum()(PassThrough()(_MakeMask()(x)))
    model = loom.Model(x, y)
    data = torch.tensor([[[1.0, 1.0], [0.0, 5.0]]])
    torch.testing.assert_close(model(data), torch.tensor([[1.0, 1.0]]))


def test_explicit_training_argument_is_replayed():
    class Mode(loom.layers.Layer):
        def call(self, x):
            return x + (1.0 if self.training else 0.0)
    x = loom.Input((1,))
    always = Mode(name="always")(x, training=True)
    model = loom.Model(x, Mode(name="follow")(always))
    ones = torch.zeros(1, 1)
    assert float(model(ones)) == 1.0  # eval: only the node built with training=True adds 1
    assert not model.get_layer("always").training  # the replay restores the mode
    model.train()
    assert float(model(ones)) == 2.0


def test_runner_frees_intermediate_tensors_as_it_goes():
    import weakref
    x = loom.Input((4,))
    h1 = loom.layers.Dense(4, name="h1")(x)
    h2 = loom.layers.Dense(4, name="h2")(h1)
    out = loom.layers.add([loom.layers.Dense(4, name="h3")(h2), h2])
    model = loom.Model(x, out)
    seen = {}
    for name in ("h1", "h2"):
        model.get_layer(name).register_forward_hook(
            lambda mod, inp, o, name=name: seen.__setitem__(name, weakref.ref(o)))
    alive_during = []
    model.get_layer("h3").register_forward_hook(
        lambda mod, inp, o: alive_during.append((seen["h1"]() is None, seen["h2"]() is not None)))
    with torch.no_grad():
        result = model.run_flat([torch.ones(2, 4)])
    assert alive_during == [(True, True)]  # h1 dropped once h2 consumed it; h2 kept for the add
    assert seen["h2"]() is None and result[0].shape == (2, 4)
