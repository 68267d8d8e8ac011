"""name_scope, StatelessScope and SymbolicScope against Keras 3's."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from loom.symbolic_scope import in_symbolic_scope
from tests.keras_oracle import keras


def _paths(lib):
    out = []
    with lib.name_scope("outer"):
        out.append(lib.Variable(np.ones(2, "float32"), name="v").path)
        with lib.name_scope("outer"):
            out.append(lib.Variable(np.ones(2, "float32"), name="w").path)
        with lib.name_scope("inner", override_parent="x/y"):
            out.append(lib.Variable(np.ones(2, "float32"), name="w").path)
        dense = lib.layers.Dense(2, name="dense_in_scope")
        dense.build((None, 3))
        out.append(dense.kernel.path)
    return out


def test_name_scope_paths_match_keras():
    assert _paths(loom) == _paths(keras)


def test_name_scope_rejects_slashes():
    with pytest.raises(ConfigError, match="name"):
        loom.name_scope("a/b")


def test_same_caller_is_deduplicated():
    owner = object()
    with loom.name_scope("a", caller=owner), loom.name_scope("a", caller=owner):
        assert loom.Variable(1.0, name="v").path == "a/v"
    with loom.name_scope("a", caller=owner), loom.name_scope("a", caller=owner, deduplicate=False):
        assert loom.Variable(1.0, name="v").path == "a/a/v"


def _stateless(lib):
    v = lib.Variable(np.ones(2, "float32"), name="v")
    w = lib.Variable(np.ones(2, "float32"), name="w")
    with lib.StatelessScope(state_mapping=[(v, np.full(2, 5.0, "float32"))]) as scope:
        read = np.asarray(lib.ops.convert_to_numpy(v.value))
        v.assign(v + 1)
        w.assign_add(np.full(2, 2.0, "float32"))
        after = np.asarray(lib.ops.convert_to_numpy(v.value))
        current = [np.asarray(lib.ops.convert_to_numpy(scope.get_current_value(x))) for x in (v, w)]
    return read, after, current, v.numpy(), w.numpy()


def test_stateless_scope_matches_keras():
    for ours, theirs in zip(_stateless(loom), _stateless(keras)):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_stateless_scope_restores_after_an_error():
    v = loom.Variable([1.0])
    with pytest.raises(RuntimeError):
        with loom.StatelessScope(state_mapping=[(v, [3.0])]):
            raise RuntimeError("boom")
    assert v.tolist() == [1.0]


def test_stateless_scope_bad_mapping_names_the_variable():
    v = loom.Variable([1.0, 2.0], name="v")
    with pytest.raises(loom.LoomError, match="'v'.*shape"):
        loom.StatelessScope(state_mapping=[(v, [1.0, 2.0, 3.0])])
    with pytest.raises(ConfigError, match="pairs"):
        loom.StatelessScope(state_mapping=[v])


def test_symbolic_scope_is_open_while_shapes_are_inferred():
    seen = []

    class Probe(loom.Layer):
        def call(self, x):
            seen.append(in_symbolic_scope())
            return x

    layer = Probe()
    layer(loom.Input((3,)))
    layer(torch.ones(1, 3))
    assert seen[0] is True and seen[-1] is False
    with loom.SymbolicScope():
        assert in_symbolic_scope()
    assert not in_symbolic_scope()


def test_compute_output_shape_matches_keras():
    for cls, kwargs, shape in [("Dense", {"units": 5}, (None, 3)), ("Conv2D", {"filters": 4, "kernel_size": 3},
                                                                     (None, 8, 8, 2)),
                               ("Concatenate", {}, [(None, 2), (None, 3)])]:
        ours = getattr(loom.layers, cls)(**kwargs).compute_output_shape(shape)
        theirs = getattr(keras.layers, cls)(**kwargs).compute_output_shape(shape)
        assert tuple(ours) == tuple(theirs), cls


class _Penalized(object):
    """A layer (built for either library) adding 0.1 * mean(x^2) with add_loss, as Keras's guides write it."""

    @staticmethod
    def make(lib):
        class Penalized(lib.layers.Layer):
            def call(self, x):
                self.add_loss(0.1 * lib.ops.mean(lib.ops.square(x)))
                return x
        return Penalized()


def _fit_with_add_loss(lib):
    layer = _Penalized.make(lib)
    inputs = lib.Input((3,))
    model = lib.Model(inputs, lib.layers.Dense(1, kernel_initializer="ones")(layer(inputs)))
    model.compile(optimizer=lib.optimizers.SGD(0.01), loss="mse")
    x = np.linspace(-1, 1, 24, dtype="float32").reshape(8, 3)
    y = np.ones((8, 1), "float32")
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0, shuffle=False).history["loss"]
    return history, len(model.losses)


def test_add_loss_trains_as_in_keras():
    (ours, n_ours), (theirs, n_theirs) = _fit_with_add_loss(loom), _fit_with_add_loss(keras)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    assert n_ours == n_theirs == 1


def test_add_loss_collected_by_a_stateless_scope():
    layer = _Penalized.make(loom)
    with loom.StatelessScope(collect_losses=True) as scope:
        layer(torch.full((2, 3), 2.0))
    assert [round(float(t), 4) for t in scope.losses] == [0.4]


def test_input_spec_matches_keras_and_checks_shapes():
    for kwargs in ({"shape": (None, 3)}, {"ndim": 4, "axes": {-1: 2}}, {"min_ndim": 2, "dtype": "float32"}):
        assert loom.InputSpec(**kwargs).get_config() == keras.InputSpec(**kwargs).get_config()
    spec = loom.InputSpec(shape=(None, 3))
    spec.check("layer", (5, 3))
    with pytest.raises(loom.errors.ShapeError, match=r"shape \(None, 3\)"):
        spec.check("layer", (5, 4))
