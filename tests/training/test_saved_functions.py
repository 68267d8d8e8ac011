"""Plain loss / metric functions in saved compile configs (loom/training/saved_functions.py): found again
through custom_objects or the registry, or refused at load_model as Keras 3 refuses them."""

import numpy as np
import pytest

import loom
from loom.errors import ModelFileError, UnknownObjectError
from tests.keras_oracle import keras

X, Y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")


def sq_loss(y_true, y_pred):
    return loom.ops.mean(loom.ops.square(y_true - y_pred), axis=-1)


def k_sq_loss(y_true, y_pred):
    return keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)


def half_err(y_true, y_pred):
    return 0.5 * loom.ops.mean(loom.ops.abs(y_true - y_pred), axis=-1)


def _saved(lib, path, loss, metrics=("mae",)):
    model = lib.Sequential([lib.Input((2,)), lib.layers.Dense(1)])
    model.compile("adam", loss, metrics=list(metrics))
    model.fit(X, Y, verbose=0)
    model.save(str(path))
    return model


@pytest.mark.parametrize("writer", ["loom", "keras"])
def test_an_unknown_loss_function_fails_at_load_model_as_in_keras(writer, tmp_path):
    path = tmp_path / "m.keras"
    if writer == "loom":
        _saved(loom, path, sq_loss)
    else:
        _saved(keras, path, k_sq_loss)
    name = "sq_loss" if writer == "loom" else "k_sq_loss"
    with pytest.raises(TypeError, match=f"Could not locate function '{name}'"):
        keras.models.load_model(str(path))
    with pytest.raises(UnknownObjectError, match=f"loss function '{name}'.*custom_objects=\\{{'{name}': {name}\\}}"):
        loom.models.load_model(path)
    assert issubclass(UnknownObjectError, TypeError) and issubclass(UnknownObjectError, ModelFileError)
    assert not loom.models.load_model(path, compile=False).compiled


@pytest.mark.parametrize("writer", ["loom", "keras"])
def test_custom_objects_bring_the_function_back(writer, tmp_path):
    path = tmp_path / "m.keras"
    fn = sq_loss if writer == "loom" else k_sq_loss
    _saved(loom if writer == "loom" else keras, path, fn)
    loaded = loom.models.load_model(path, custom_objects={fn.__name__: sq_loss})
    assert loaded.loss is sq_loss
    loaded.fit(X, Y, verbose=0)
    k_loaded = keras.models.load_model(str(path), custom_objects={fn.__name__: k_sq_loss})
    assert k_loaded.loss is k_sq_loss
    with loom.saving.custom_object_scope({fn.__name__: sq_loss}):
        assert loom.models.load_model(path).loss is sq_loss


def test_loom_files_need_the_function_too_and_take_custom_objects(tmp_path):
    path = tmp_path / "m.loom"
    _saved(loom, path, sq_loss, metrics=(half_err,))
    with pytest.raises(UnknownObjectError, match="'sq_loss'"):
        loom.models.load_model(path)
    with pytest.raises(UnknownObjectError, match="metric function 'half_err'"):
        loom.models.load_model(path, custom_objects={"sq_loss": sq_loss})
    loaded = loom.models.load_model(path, custom_objects={"sq_loss": sq_loss, "half_err": half_err})
    assert loaded.loss is sq_loss
    assert set(loaded.fit(X, Y, verbose=0).history) == {"loss", "half_err"}


def test_registered_functions_are_saved_by_registered_name_and_need_nothing(tmp_path):
    @loom.saving.register_keras_serializable(package="s10")
    def reg_loss(y_true, y_pred):
        return loom.ops.mean(loom.ops.abs(y_true - y_pred), axis=-1)

    try:
        for suffix in ("keras", "loom"):
            model = _saved(loom, tmp_path / f"m.{suffix}", reg_loss)
            assert model.get_compile_config()["loss"] == "s10>reg_loss"
            assert loom.models.load_model(tmp_path / f"m.{suffix}").loss is reg_loss
    finally:
        loom.saving.get_custom_objects().pop("s10>reg_loss", None)
        loom.registry._REGISTRY.pop("s10>reg_loss", None)


def test_built_in_names_stay_names():
    from loom.training.saved_functions import resolve_saved, to_keras_entry
    for name, kind in [("mse", "loss"), ("crossentropy", "loss"), ("accuracy", "metric"), ("AUC", "metric"),
                       ("mae", "metric")]:
        assert resolve_saved(name, kind) == name and to_keras_entry(name, kind) == name
    assert to_keras_entry("sq_loss", "loss") == {"module": "builtins", "class_name": "function",
                                                 "config": "sq_loss", "registered_name": "function"}
