"""Model and weight files (loom/models/saving.py, weight_map.py, keras_h5.py, safetensors_io.py)."""

import json
import os
import warnings
import zipfile

import numpy as np
import pytest
import torch

import loom
from loom.errors import ModelFileError, UnsafeLoadError
from loom.models import safetensors_io
from loom.models.weight_map import weight_slots
from tests.keras_oracle import keras


@loom.saving.register_loom_serializable(package="tests_saving")
class Shift(loom.layers.Layer):
    def __init__(self, amount=1.0, **kwargs):
        super().__init__(**kwargs)
        self.amount = amount

    def build(self, input_shape):
        self.add_weight("bias", (input_shape[-1],), initializer="random_normal")

    def call(self, x):
        return x + self.bias + self.amount

    def get_config(self):
        return {**super().get_config(), "amount": self.amount}


class NotRegistered(loom.layers.Layer):
    def call(self, x):
        return -x


def _x(*shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _assert_same_outputs(a, b):
    if isinstance(a, dict):
        for k in a:
            torch.testing.assert_close(b[k], a[k], rtol=0, atol=0)
    elif isinstance(a, list):
        for u, v in zip(a, b):
            torch.testing.assert_close(v, u, rtol=0, atol=0)
    else:
        torch.testing.assert_close(b, a, rtol=0, atol=0)


def _multi_io_model():
    a, b = loom.Input((4,), name="a"), loom.Input((6,), dtype="int32", name="b")
    emb = loom.layers.Flatten()(loom.layers.Embedding(10, 2, name="emb")(b))
    shared = loom.layers.Dense(4, activation="tanh", name="shared")
    h = loom.layers.Concatenate()([shared(a), shared(loom.layers.Dense(4)(emb))])
    inner_in = loom.Input((8,))
    inner = loom.Model(inner_in, loom.layers.Dense(3)(inner_in), name="inner")
    return loom.Model({"a": a, "b": b}, {"y": Shift(0.5, name="shift")(inner(h)), "z": loom.layers.Dense(1)(h)})


def _multi_io_data():
    return {"a": _x(3, 4), "b": np.random.default_rng(1).integers(0, 10, (3, 6))}


def _conv_model():
    from loom.layers.normalization import BatchNormalization
    model = loom.Sequential([loom.Input((8, 8, 3)), loom.layers.Conv2D(4, 3, activation="relu"),
                             BatchNormalization(), loom.layers.MaxPooling2D(), loom.layers.Flatten(),
                             loom.layers.Dropout(0.3), loom.layers.Dense(2, activation="softmax")])
    with torch.no_grad():
        model.layers[1].moving_mean.uniform_(-1, 1)  # non-trainable state must round-trip too
    return model


def test_save_load_functional_gives_identical_predictions(tmp_path):
    model = _multi_io_model()
    path = tmp_path / "model.loom"
    model.save(path)
    restored = loom.models.load_model(path)
    _assert_same_outputs(model(_multi_io_data()), restored(_multi_io_data()))
    assert restored.get_config() == json.loads(json.dumps(model.get_config()))
    assert [w.shape for w in restored.get_weights()] == [w.shape for w in model.get_weights()]


def test_save_load_sequential_conv_batchnorm(tmp_path):
    model = _conv_model()
    model.save(tmp_path / "conv.keras")  # any file name works; the content is a .loom archive
    restored = loom.saving.load_model(tmp_path / "conv.keras")
    x = _x(2, 8, 8, 3)
    _assert_same_outputs(model(x), restored(x))
    for a, b in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_archive_layout(tmp_path):
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(2,)), loom.layers.Dense(1)])
    model.save(tmp_path / "m.loom")
    with zipfile.ZipFile(tmp_path / "m.loom") as archive:
        assert sorted(archive.namelist()) == ["config.json", "model.safetensors"]
        document = json.loads(archive.read("config.json"))
        tensors, metadata = safetensors_io.decode(archive.read("model.safetensors"), "test")
    assert document["format"] == "loom" and document["format_version"] == 1
    assert document["loom_version"] == loom.__version__ and document["class_name"] == "Sequential"
    assert document["compile_config"] is None
    assert sorted(tensors) == ["dense/bias", "dense/kernel", "dense_1/bias", "dense_1/kernel"]
    np.testing.assert_array_equal(tensors["dense/kernel"].numpy(), model.layers[0].get_weights()[0])
    assert metadata["format"] == "pt"


def test_saving_is_deterministic(tmp_path):
    model = _multi_io_model()
    model.save(tmp_path / "a.loom")
    model.save(tmp_path / "b.loom")
    assert (tmp_path / "a.loom").read_bytes() == (tmp_path / "b.loom").read_bytes()


def test_overwrite_false(tmp_path):
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    (tmp_path / "m.loom").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.loom", overwrite=False)
    assert (tmp_path / "m.loom").read_bytes() == b"old"


def test_failed_save_leaves_old_file(tmp_path):
    x = loom.Input((2,))
    good = loom.Model(x, loom.layers.Dense(1)(x))
    good.save(tmp_path / "m.loom")
    before = (tmp_path / "m.loom").read_bytes()
    y = loom.Input((3,))
    bad = loom.Model(y, loom.layers.TorchModuleWrapper(torch.nn.Linear(3, 1))(y))
    with pytest.raises(loom.LoomError):
        bad.save(tmp_path / "m.loom")
    assert (tmp_path / "m.loom").read_bytes() == before
    assert os.listdir(tmp_path) == ["m.loom"]


def test_weights_round_trip_into_a_fresh_model(tmp_path):
    model = _multi_io_model()
    model.save_weights(tmp_path / "w.weights.safetensors")
    fresh = _multi_io_model()  # same architecture, different automatic layer names
    assert [l.name for l in fresh.layers] != [l.name for l in model.layers]
    fresh.load_weights(tmp_path / "w.weights.safetensors")
    _assert_same_outputs(model(_multi_io_data()), fresh(_multi_io_data()))
    other = _multi_io_model()
    model.save(tmp_path / "full.loom")
    other.load_weights(tmp_path / "full.loom")  # weights of a whole-model file
    _assert_same_outputs(model(_multi_io_data()), other(_multi_io_data()))


def test_weight_keys_are_stable_keras_style_paths():
    keys = [s.key for s in weight_slots(_multi_io_model())]
    assert keys[:3] == ["embedding/embeddings", "dense/kernel", "dense/bias"]
    assert "functional/dense/kernel" in keys and "shift/bias" in keys
    assert len(keys) == len(set(keys)) == len(_multi_io_model().weights)


def test_load_weights_mismatches(tmp_path):
    small = loom.Sequential([loom.layers.Dense(3, input_shape=(2,)), loom.layers.Dense(1)])
    small.save_weights(tmp_path / "w.safetensors")
    wide = loom.Sequential([loom.layers.Dense(4, input_shape=(2,)), loom.layers.Dense(1)])
    before = wide.get_weights()
    with pytest.raises(ModelFileError, match="wrong shapes.*dense/kernel"):
        wide.load_weights(tmp_path / "w.safetensors")
    for a, b in zip(before, wide.get_weights()):  # nothing changed on failure
        np.testing.assert_array_equal(a, b)
    deeper = loom.Sequential([loom.layers.Dense(3, input_shape=(2,)), loom.layers.Dense(1), loom.layers.Dense(1)])
    with pytest.raises(ModelFileError, match="missing from the file.*dense_2/kernel"):
        deeper.load_weights(tmp_path / "w.safetensors")
    shallow = loom.Sequential([loom.layers.Dense(3, input_shape=(2,))])
    with pytest.raises(ModelFileError, match="not in the model.*dense_1/kernel"):
        shallow.load_weights(tmp_path / "w.safetensors")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deeper.load_weights(tmp_path / "w.safetensors", skip_mismatch=True)
    assert any("skipped" in str(w.message) for w in caught)
    np.testing.assert_array_equal(deeper.layers[0].get_weights()[0], small.layers[0].get_weights()[0])


def test_custom_layers_registered_and_not(tmp_path):
    x = loom.Input((3,))
    model = loom.Model(x, Shift(2.0)(x))
    model.save(tmp_path / "shift.loom")
    restored = loom.models.load_model(tmp_path / "shift.loom")
    assert type(restored.layers[1]) is Shift and restored.layers[1].amount == 2.0
    _assert_same_outputs(model(_x(2, 3)), restored(_x(2, 3)))

    model = loom.Sequential([loom.Input((3,)), NotRegistered()])
    model.save(tmp_path / "neg.loom")
    with pytest.raises(UnsafeLoadError, match="NotRegistered"):
        loom.models.load_model(tmp_path / "neg.loom")
    for kwargs in ({"custom_objects": {"NotRegistered": NotRegistered}}, {"safe_mode": False}):
        restored = loom.models.load_model(tmp_path / "neg.loom", **kwargs)
        _assert_same_outputs(model(_x(2, 3)), restored(_x(2, 3)))


def test_class_defined_in_a_function_loads_with_its_bare_name(tmp_path):
    """Keras programs define layers inside functions and load with custom_objects={"Name": cls}."""
    def make_layer():
        class Scale(loom.layers.Layer):
            def call(self, x):
                return 3 * x
        return Scale

    scale = make_layer()
    model = loom.Sequential([loom.Input((3,)), scale()])
    model.save(tmp_path / "scale.keras")
    with pytest.raises(UnsafeLoadError, match="custom_objects=\\{'Scale': cls\\}"):
        loom.models.load_model(tmp_path / "scale.keras")
    restored = loom.models.load_model(tmp_path / "scale.keras", custom_objects={"Scale": scale})
    assert type(restored.layers[0]) is scale
    _assert_same_outputs(model(_x(2, 3)), restored(_x(2, 3)))


def test_a_class_made_under_a_loom_module_name_is_not_a_builtin(tmp_path):
    """A doctest's class gets its module's ``__name__`` ('loom.layers.layer') and registers as loom's own; it must
    not answer for a user's class of the same name in a file (it did when layer.py's doctests ran first)."""
    from loom.registry import builtin, get_registered
    namespace = {"__name__": "loom.layers.layer", "loom": loom}
    exec("class Doubler(loom.layers.Layer):\n    def call(self, x):\n        return 2 * x\n", namespace)
    assert builtin("Doubler") is None and builtin("Dense") is loom.layers.Dense
    with pytest.raises(UnsafeLoadError, match="custom_objects=\\{'Doubler': cls\\}"):
        get_registered("Doubler")
    assert get_registered("Doubler", {"Doubler": namespace["Doubler"]}) is namespace["Doubler"]


def test_lambda_model_requires_safe_mode_off(tmp_path):
    x = loom.Input((3,))
    model = loom.Model(x, loom.layers.Dense(2)(loom.layers.Lambda(lambda t: torch.sin(t) * 2)(x)))
    model.save(tmp_path / "lambda.loom")
    with pytest.raises(UnsafeLoadError, match="safe_mode=False"):
        loom.models.load_model(tmp_path / "lambda.loom")
    restored = loom.models.load_model(tmp_path / "lambda.loom", safe_mode=False)
    _assert_same_outputs(model(_x(2, 3)), restored(_x(2, 3)))


def test_trainable_flags_survive(tmp_path):
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(2,)), loom.layers.Dense(1)])
    model.layers[0].trainable = False
    model.save(tmp_path / "m.loom")
    restored = loom.models.load_model(tmp_path / "m.loom")
    assert [l.trainable for l in restored.layers] == [False, True]
    assert len(restored.trainable_weights) == 2


class _FakeOptimizer:
    def __init__(self):
        self.received = None

    def get_state_tensors(self):
        return {"iterations": torch.tensor(7), "0.momentum": torch.ones(2, 3)}

    def set_state_tensors(self, tensors):
        self.received = tensors


def test_compile_config_and_optimizer_state_are_saved(tmp_path):
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(2,))])
    model._compile_config = {"optimizer": "sgd", "loss": "mse", "metrics": ["mae"]}
    model.optimizer = _FakeOptimizer()
    model.save(tmp_path / "m.loom")
    with zipfile.ZipFile(tmp_path / "m.loom") as archive:
        document = json.loads(archive.read("config.json"))
        tensors, _ = safetensors_io.decode(archive.read("model.safetensors"), "test")
    assert document["compile_config"] == model._compile_config
    assert tensors["optimizer/iterations"].item() == 7 and "optimizer/0.momentum" in tensors
    model.save(tmp_path / "plain.loom", include_optimizer=False)
    with zipfile.ZipFile(tmp_path / "plain.loom") as archive:
        assert json.loads(archive.read("config.json"))["compile_config"] is None
    restored = loom.models.load_model(tmp_path / "m.loom")  # optimizer keys are not weights
    _assert_same_outputs(model(_x(2, 2)), restored(_x(2, 2)))
    restored.load_weights(tmp_path / "m.loom")


def test_recompile_hook_restores_optimizer_state(tmp_path, monkeypatch):
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(2,))])
    model._compile_config = {"optimizer": "sgd"}
    model.optimizer = _FakeOptimizer()
    model.save(tmp_path / "m.loom")
    calls = []

    def compile_from_config(self, config):
        calls.append(config)
        self.optimizer = _FakeOptimizer()

    monkeypatch.setattr(loom.Sequential, "compile_from_config", compile_from_config, raising=False)
    restored = loom.models.load_model(tmp_path / "m.loom")
    assert calls == [{"optimizer": "sgd"}]
    assert sorted(restored.optimizer.received) == ["0.momentum", "iterations"]
    calls.clear()
    loom.models.load_model(tmp_path / "m.loom", compile=False)
    assert calls == []


def test_keras_weights_h5_both_ways(tmp_path):
    def build(L, M, S):
        x = L.Input((6,))
        inner = S([L.Input((4,)), L.layers.Dense(3, activation="relu"), L.layers.Dense(2)])
        return M(x, inner(L.layers.Dense(4, activation="tanh")(x)))

    k_model, l_model = build(keras, keras.Model, keras.Sequential), build(loom, loom.Model, loom.Sequential)
    x = _x(5, 6)
    k_model.save_weights(str(tmp_path / "k.weights.h5"))
    l_model.load_weights(tmp_path / "k.weights.h5")
    np.testing.assert_allclose(l_model(x).detach().numpy(), k_model.predict(x, verbose=0), atol=1e-6)

    l_other = build(loom, loom.Model, loom.Sequential)
    l_other.save_weights(tmp_path / "l.weights.h5")
    k_other = build(keras, keras.Model, keras.Sequential)
    k_other.load_weights(str(tmp_path / "l.weights.h5"))
    np.testing.assert_allclose(l_other(x).detach().numpy(), k_other.predict(x, verbose=0), atol=1e-6)

    k_model.save(str(tmp_path / "k.keras"))  # Keras archives: their weights load, and the whole model
    l_third = build(loom, loom.Model, loom.Sequential)
    l_third.load_weights(tmp_path / "k.keras")
    np.testing.assert_allclose(l_third(x).detach().numpy(), k_model.predict(x, verbose=0), atol=1e-6)
    whole = loom.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(whole(x).detach().numpy(), k_model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ModelFileError, match="HDF5"):
        loom.models.load_model(tmp_path / "k.weights.h5")


def test_keras_conv_weights_h5(tmp_path):
    def build(L):
        return L.Sequential([L.Input((8, 8, 3)), L.layers.Conv2D(4, 3), L.layers.Flatten(), L.layers.Dense(2)])

    k_model, l_model = build(keras), build(loom)
    k_model.save_weights(str(tmp_path / "k.weights.h5"))
    l_model.load_weights(tmp_path / "k.weights.h5")
    x = _x(2, 8, 8, 3)
    np.testing.assert_allclose(l_model(x).detach().numpy(), k_model.predict(x, verbose=0), atol=1e-5)


def test_missing_and_wrong_files(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        loom.models.load_model(tmp_path / "missing.loom")
    with pytest.raises(ModelFileError):
        loom.models.load_model(tmp_path)
    model = loom.Sequential([loom.layers.Dense(1, input_shape=(2,))])
    model.save_weights(tmp_path / "w.safetensors")
    with pytest.raises(ModelFileError, match="load_weights"):
        loom.models.load_model(tmp_path / "w.safetensors")


class _Subclassed(loom.Model):
    def __init__(self):
        super().__init__()
        self.hidden = loom.layers.Dense(4, activation="relu")
        self.head = loom.layers.Dense(1)

    def call(self, x):
        return self.head(self.hidden(x))


def test_subclassed_model_weights_round_trip(tmp_path):
    model = _Subclassed()
    x = _x(3, 5)
    expected = model(x)
    assert [s.key for s in weight_slots(model)] == ["hidden/kernel", "hidden/bias", "head/kernel", "head/bias"]
    model.save_weights(tmp_path / "sub.weights.safetensors")
    fresh = _Subclassed()
    fresh(x)  # build
    fresh.load_weights(tmp_path / "sub.weights.safetensors")
    _assert_same_outputs(expected, fresh(x))
    with pytest.raises(loom.LoomError, match="subclassed"):
        model.save(tmp_path / "sub.loom")


def test_torch_module_weights_round_trip(tmp_path):
    def build():
        x = loom.Input((3,))
        return loom.Model(x, loom.layers.TorchModuleWrapper(torch.nn.Linear(3, 2))(x))

    model, fresh = build(), build()
    model.save_weights(tmp_path / "t.safetensors")
    fresh.load_weights(tmp_path / "t.safetensors")
    _assert_same_outputs(model(_x(2, 3)), fresh(_x(2, 3)))
    assert [s.key for s in weight_slots(model)] == ["torch_module_wrapper/module.weight",
                                                   "torch_module_wrapper/module.bias"]


@pytest.mark.parametrize("extension", ["keras", "loom"])
def test_a_layer_class_defined_in_a_function_loads_with_custom_objects_by_its_name(tmp_path, extension):
    """Saved as 'module>f.<locals>.Name', it is found in custom_objects under 'Name', as in Keras."""
    def make_layer_class():
        class Doubled(loom.layers.Layer):
            def call(self, x):
                return 2 * x
        return Doubled

    doubled = make_layer_class()
    inputs = loom.Input((3,))
    model = loom.Model(inputs, loom.layers.Dense(2)(doubled()(inputs)))
    path = str(tmp_path / f"model.{extension}")
    model.save(path)
    if extension == "keras":
        with zipfile.ZipFile(path) as archive:
            assert '"class_name": "Doubled"' in archive.read("config.json").decode()
    with pytest.raises(UnsafeLoadError, match="Doubled"):
        loom.models.load_model(path)
    restored = loom.models.load_model(path, custom_objects={"Doubled": doubled})
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
