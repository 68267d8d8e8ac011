"""Merge layers and their function forms against Keras 3: values, broadcasting, masks, shape errors."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_merge_layers(name):
    run_layer_test(getattr(loom.layers, name), {}, input_shape=[(2, 3, 4), (2, 3, 4)],
                   expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0, supports_masking=True,
                   keras_cls=getattr(keras.layers, name))


@pytest.mark.parametrize("name", ["Add", "Multiply", "Average", "Maximum", "Minimum"])
def test_elementwise_merge_of_three_inputs(name):
    run_layer_test(getattr(loom.layers, name), {}, input_shape=[(2, 5), (2, 5), (2, 5)],
                   expected_output_shape=(2, 5), keras_cls=getattr(keras.layers, name))


@pytest.mark.parametrize("shapes,expected", [([(2, 3), (2, 4, 3)], (2, 4, 3)), ([(2, 4, 1), (2, 3)], (2, 4, 3)),
                                             ([(2, 1, 5), (2, 3, 5)], (2, 3, 5)), ([(2, 1), (2, 4, 3)], (2, 4, 3))])
@pytest.mark.parametrize("name", ["Add", "Multiply", "Maximum"])
def test_keras_broadcasting(name, shapes, expected):
    run_layer_test(getattr(loom.layers, name), {}, input_shape=shapes, expected_output_shape=expected,
                   keras_cls=getattr(keras.layers, name))


@pytest.mark.parametrize("axis,expected", [(-1, (2, 3, 9)), (1, (2, 6, 4)), (2, (2, 3, 9))])
def test_concatenate(axis, expected):
    shapes = [(2, 3, 4), (2, 3, 5)] if axis != 1 else [(2, 2, 4), (2, 4, 4)]
    run_layer_test(loom.layers.Concatenate, {"axis": axis}, input_shape=shapes, expected_output_shape=expected,
                   keras_cls=keras.layers.Concatenate)


@pytest.mark.parametrize("axes,normalize,shapes,expected", [
    (1, False, [(2, 4), (2, 4)], (2, 1)),
    (-1, True, [(2, 4), (2, 4)], (2, 1)),
    (2, False, [(2, 3, 4), (2, 5, 4)], (2, 3, 5)),
    ((1, 2), False, [(2, 3, 4), (2, 5, 3)], (2, 4, 5)),
    ([2, 1], True, [(2, 3, 4), (2, 4, 6)], (2, 3, 6)),
    (1, False, [(2, 4), (2, 4, 5)], (2, 5)),
    ((2, 1), False, [(2, 3, 4), (2, 4)], (2, 3)),
    ((3, 2), True, [(2, 2, 3, 4), (2, 5, 4)], (2, 2, 3, 5)),
])
def test_dot(axes, normalize, shapes, expected):
    run_layer_test(loom.layers.Dot, {"axes": axes, "normalize": normalize}, input_shape=shapes,
                   expected_output_shape=expected, keras_cls=keras.layers.Dot)


def _mixed_model(lib):
    a, b, c = lib.Input((8,), name="a"), lib.Input((8,), name="b"), lib.Input((3, 8), name="c")
    da, db = lib.layers.Dense(8, activation="tanh")(a), lib.layers.Dense(8)(b)
    merged = [lib.layers.add([da, db]), lib.layers.subtract([da, db]), lib.layers.multiply([da, db]),
              lib.layers.average([da, db, a]), lib.layers.maximum([da, db]), lib.layers.minimum([da, b]),
              lib.layers.dot([da, db], axes=1, normalize=True), lib.layers.dot([c, da], axes=(2, 1))]
    x = lib.layers.concatenate(merged, axis=-1)
    x = lib.layers.Dense(4, activation="relu")(x)
    seq = lib.layers.Dense(8)(c)
    y = lib.layers.Concatenate(axis=1)([seq, lib.layers.Reshape((1, 8))(da)])
    y = lib.layers.Flatten()(lib.layers.Dot(axes=2)([y, seq]))
    return lib.Model([a, b, c], [lib.layers.Dense(2, activation="softmax")(x), y])


def test_functional_model_mixing_merges_matches_keras():
    keras_model, model = _mixed_model(keras), _mixed_model(loom)
    assert [w.shape for w in model.get_weights()] == [w.shape for w in keras_model.get_weights()]
    model.set_weights(keras_model.get_weights())
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(4, 8)).astype("float32"), rng.normal(size=(4, 8)).astype("float32"),
            rng.normal(size=(4, 3, 8)).astype("float32")]
    expected = [keras.ops.convert_to_numpy(t) for t in keras_model(data)]
    got = model(data)
    assert [tuple(t.shape) for t in got] == [e.shape for e in expected]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.detach().numpy(), e, atol=1e-5, rtol=1e-5)


def _masked_model(lib, merge):
    ids1, ids2 = lib.Input((5,), dtype="int32"), lib.Input((5,), dtype="int32")
    e1 = lib.layers.Embedding(10, 4, mask_zero=True)(ids1)
    e2 = lib.layers.Embedding(10, 4, mask_zero=True)(ids2)
    return lib.Model([ids1, ids2], merge(lib)([e1, e2]))


MERGES = {
    "Add": lambda lib: lib.layers.Add(), "Subtract": lambda lib: lib.layers.Subtract(),
    "Multiply": lambda lib: lib.layers.Multiply(), "Average": lambda lib: lib.layers.Average(),
    "Maximum": lambda lib: lib.layers.Maximum(), "Minimum": lambda lib: lib.layers.Minimum(),
    "Concatenate": lambda lib: lib.layers.Concatenate(), "Concatenate1": lambda lib: lib.layers.Concatenate(axis=1),
}
IDS = [np.array([[1, 2, 0, 0, 3], [0, 4, 5, 0, 0]], dtype="int32"),
       np.array([[0, 2, 0, 7, 3], [0, 0, 5, 6, 0]], dtype="int32")]


@pytest.mark.parametrize("name", sorted(MERGES))
def test_masked_merges_match_keras_values_and_masks(name):
    keras_model, model = _masked_model(keras, MERGES[name]), _masked_model(loom, MERGES[name])
    model.set_weights(keras_model.get_weights())
    keras_out = keras_model(IDS)
    np.testing.assert_allclose(model(IDS).detach().numpy(), keras.ops.convert_to_numpy(keras_out), atol=1e-6)
    assert model.outputs[0].has_mask
    emb = [torch.from_numpy(i) != 0 for i in IDS]
    keras_merge, merge = keras_model.layers[-1], model.layers[-1]
    inputs = [torch.zeros(2, 5, 4), torch.zeros(2, 5, 4)]
    expected_mask = keras.ops.convert_to_numpy(keras_merge.compute_mask(inputs, emb))
    np.testing.assert_array_equal(merge.compute_mask(inputs, emb).numpy(), expected_mask)


def test_merge_mask_is_none_when_an_input_has_no_mask():
    ids = loom.Input((5,), dtype="int32")
    masked = loom.layers.Embedding(10, 4, mask_zero=True)(ids)
    plain = loom.layers.Embedding(10, 4)(ids)
    assert not loom.layers.add([masked, plain]).has_mask
    assert loom.layers.concatenate([masked, plain]).has_mask
    assert not loom.layers.dot([masked, plain], axes=2).has_mask


def test_concatenate_of_mismatched_feature_maps_names_both_shapes():
    a, b = loom.Input((16, 16, 3)), loom.Input((15, 15, 3))
    with pytest.raises(ShapeError) as err:
        loom.layers.concatenate([a, b], name="merge_maps")
    message = str(err.value)
    assert "'merge_maps'" in message and "(None, 16, 16, 3)" in message and "(None, 15, 15, 3)" in message


def test_concatenate_of_different_ranks_and_bad_axis():
    with pytest.raises(ShapeError, match="different ranks.*\\(None, 4\\).*\\(None, 2, 4\\)"):
        loom.layers.concatenate([loom.Input((4,)), loom.Input((2, 4))])
    with pytest.raises(ShapeError, match="out of range"):
        loom.layers.concatenate([loom.Input((4,)), loom.Input((4,))], axis=3)


def test_incompatible_elementwise_shapes_name_all_inputs():
    shapes = [(4, 3), (4, 3), (5, 3)]
    with pytest.raises(ShapeError) as err:
        loom.layers.add([loom.Input(s) for s in shapes])
    assert "'add'" in str(err.value)
    for s in shapes:
        assert str((None,) + s) in str(err.value)


def test_reused_merge_layer_is_checked_on_every_call():
    layer = loom.layers.Add(name="shared_add")
    layer([loom.Input((3,)), loom.Input((3,))])
    with pytest.raises(ShapeError, match="'shared_add'.*\\(None, 4\\)"):
        layer([loom.Input((3,)), loom.Input((4,))])


def test_subtract_and_dot_need_exactly_two_inputs():
    three = [loom.Input((3,)) for _ in range(3)]
    with pytest.raises(ShapeError, match="needs 2 inputs, got 3"):
        loom.layers.subtract(three)
    with pytest.raises(ShapeError, match="needs 2 inputs"):
        loom.layers.Dot(axes=1)(three)


def test_merge_on_a_single_tensor_is_a_shape_error():
    with pytest.raises(ShapeError, match="list of tensors"):
        loom.layers.Add()(loom.Input((3,)))


def test_dot_shape_errors():
    with pytest.raises(ShapeError, match=r"'dot'.*4 at axis 1 vs 5 at axis 1.*\(None, 4\), \(None, 5\)"):
        loom.layers.dot([loom.Input((4,)), loom.Input((5,))], axes=1)
    with pytest.raises(ShapeError, match="batch axis"):
        loom.layers.dot([loom.Input((4,)), loom.Input((4,))], axes=0)


@pytest.mark.parametrize("axes", ["1", (1,), (1, 2, 3), (1.0, 2), True])
def test_dot_invalid_axes(axes):
    with pytest.raises(ConfigError, match="axes"):
        loom.layers.Dot(axes=axes)


def test_eager_merges_on_arrays():
    a, b = np.ones((2, 3), dtype="float32"), np.full((2, 3), 2.0, dtype="float32")
    assert torch.equal(loom.layers.Add()([a, b]), torch.full((2, 3), 3.0))
    assert loom.layers.Concatenate(axis=0)([a, b]).shape == (4, 3)


def test_merge_configs_round_trip():
    for layer in (loom.layers.Concatenate(axis=1, name="c"), loom.layers.Dot(axes=(1, 2), normalize=True),
                  loom.layers.Add(name="plus")):
        config = layer.get_config()
        assert type(layer).from_config(config).get_config() == config
    assert loom.layers.Dot(axes=(1, 2)).get_config()["axes"] == [1, 2]
