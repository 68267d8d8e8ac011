"""``loom.ops`` offers every public name of ``keras.ops``: the top level and each submodule."""

import types

import pytest

from loom import ops
from tests.keras_oracle import keras

SUBMODULES = ["numpy", "nn", "linalg", "image"]


def _public(module) -> set:
    return {n for n in dir(module) if not n.startswith("_")}


def test_keras_ops_has_the_submodules_loom_mirrors():
    keras_subs = {n for n in _public(keras.ops) if isinstance(getattr(keras.ops, n), types.ModuleType)}
    assert keras_subs == set(SUBMODULES)


def test_top_level_names():
    keras_names = {n for n in _public(keras.ops) if not isinstance(getattr(keras.ops, n), types.ModuleType)}
    missing = sorted(keras_names - _public(ops))
    assert not missing, f"loom.ops lacks {len(missing)} keras.ops names: {missing}"
    for name in keras_names:
        assert callable(getattr(ops, name)), name


@pytest.mark.parametrize("sub", SUBMODULES)
def test_submodule_names(sub):
    keras_names = _public(getattr(keras.ops, sub))
    missing = sorted(keras_names - _public(getattr(ops, sub)))
    assert not missing, f"loom.ops.{sub} lacks {len(missing)} keras.ops.{sub} names: {missing}"


@pytest.mark.parametrize("sub", SUBMODULES)
def test_top_level_shares_the_submodule_functions(sub):
    """``ops.relu is ops.nn.relu``, as in Keras: one function per name, whichever way it is reached."""
    for name in _public(getattr(keras.ops, sub)):
        if hasattr(keras.ops, name) and getattr(keras.ops, name) is getattr(getattr(keras.ops, sub), name):
            assert getattr(ops, name) is getattr(getattr(ops, sub), name), f"ops.{name} vs ops.{sub}.{name}"


@pytest.mark.parametrize("sub", ["numpy"])
def test_numpy_argument_names_and_defaults(sub):
    """Same parameter names, kinds and defaults as Keras for every function of the submodule."""
    import inspect

    for name in sorted(_public(getattr(keras.ops, sub))):
        want = inspect.signature(getattr(getattr(keras.ops, sub), name))
        got = inspect.signature(getattr(getattr(ops, sub), name))
        assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in want.parameters.values()], f"{sub}.{name}: {got} vs {want}"
