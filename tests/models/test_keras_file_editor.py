"""KerasFileEditor on loom against Keras's: same weight tree, edits that Keras and loom models load."""

import numpy as np
import pytest

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras


def _model(lib, names=("dense", "dense_1")):
    return lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, name=names[0]), lib.layers.Dense(2, name=names[1])])


def _flat(tree, path=""):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{path}/{key}"))
        else:
            out[f"{path}/{key}"] = np.asarray(value)
    return out


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_same_tree_as_keras(tmp_path, suffix):
    model = _model(keras)
    path = str(tmp_path / f"m{suffix}")
    model.save(path) if suffix == ".keras" else model.save_weights(path)
    ours = _flat(loom.saving.KerasFileEditor(path, verbose=False).weights_dict)
    theirs = _flat(keras.saving.KerasFileEditor(path).weights_dict)
    assert sorted(ours) == sorted(theirs)
    for key in theirs:
        np.testing.assert_array_equal(ours[key], theirs[key])


def test_edited_file_loads_in_keras_and_loom(tmp_path):
    source = _model(keras)
    path = str(tmp_path / "m.weights.h5")
    source.save_weights(path)
    editor = loom.saving.KerasFileEditor(path, verbose=False)
    editor.rename_object("dense_1", "head")  # the target model names its layers differently
    out = str(tmp_path / "edited.weights.h5")
    editor.save(out)
    # Keras matches .weights.h5 groups by class-name order, so both models load it; loom checks shapes.
    target = _model(loom, names=("dense", "dense_1"))
    assert loom.saving.KerasFileEditor(out, verbose=False).compare(target, verbose=False)["error_count"] > 0
    editor.rename_object("head", "dense_1")
    editor.save(out)
    target.load_weights(out)
    keras_target = _model(keras)
    keras_target.load_weights(out)
    for a, b, c in zip(target.get_weights(), keras_target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)


def test_add_delete_and_compare(tmp_path, capsys):
    model = _model(loom)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    editor = loom.saving.KerasFileEditor(path, verbose=False)
    assert editor.compare(model, verbose=False) == {"status": "success", "error_count": 0, "match_count": 4}
    editor.delete_weight("dense_1", "1")
    assert editor.compare(model, verbose=False)["error_count"] == 1
    editor.add_weights("dense_1", {"1": np.zeros(2, "float32")})
    editor.add_object("layers/extra", {"0": np.ones((2, 2), "float32")})
    assert editor.compare(model, verbose=False)["error_count"] == 1
    editor.delete_object("layers/extra")
    assert editor.compare(model, verbose=True)["status"] == "success"
    editor.summary()
    printed = capsys.readouterr().out
    assert "dense_1" in printed and "shape=(4, 2)" in printed


def test_bad_use_is_named(tmp_path):
    model = _model(loom)
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)
    editor = loom.saving.KerasFileEditor(path, verbose=False)
    with pytest.raises(ConfigError, match="not found"):
        editor.rename_object("nope", "x")
    with pytest.raises(ConfigError, match="leaf name"):
        editor.rename_object("dense", "a/b")
    with pytest.raises(ConfigError, match="weights.h5"):
        editor.save(tmp_path / "out.h5")
    with pytest.raises(ConfigError, match=".keras or .weights.h5"):
        loom.saving.KerasFileEditor(str(tmp_path / "m.txt"))
    with pytest.raises(ConfigError, match="weight '9' not found"):
        editor.delete_weight("dense", "9")
