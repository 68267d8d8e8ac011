"""Hostile ``.keras`` archives and ``.h5`` models raise ``loom.LoomError`` and execute nothing."""

import io
import json
import zipfile

import h5py
import numpy as np
import pytest

import loom
from loom.errors import LoomError, UnsafeLoadError

_SENTINEL = []


def run_me(*args, **kwargs):
    """Never called: every test checks that loading a file naming it does not call it."""
    _SENTINEL.append(args)
    return lambda x: x


def _dense_archive(tmp_path):
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as z:
        return {name: z.read(name) for name in z.namelist()}


def _write(path, entries, compress=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return path


def _with_config(tmp_path, mutate):
    entries = _dense_archive(tmp_path)
    config = json.loads(entries["config.json"])
    mutate(config)
    entries["config.json"] = json.dumps(config).encode()
    return _write(tmp_path / "bad.keras", entries)


def _load_fails(path, **kwargs):
    with pytest.raises(LoomError) as info:
        loom.models.load_model(path, **kwargs)
    assert _SENTINEL == []
    return info.value


@pytest.mark.parametrize("forged", [
    {"module": "tests.models.test_keras_files_hostile", "class_name": "run_me", "registered_name": None},
    {"module": "os", "class_name": "system", "registered_name": "os>system"},
    {"module": "builtins", "class_name": "eval", "registered_name": "builtins>eval"},
])
def test_forged_layer_classes_are_refused(forged, tmp_path):
    def mutate(config):
        config["config"]["layers"][1].update(forged)
    error = _load_fails(_with_config(tmp_path, mutate))
    assert isinstance(error, UnsafeLoadError)


def test_forged_initializer_and_activation_names_are_refused(tmp_path):
    def mutate(config):
        dense = config["config"]["layers"][1]["config"]
        dense["kernel_initializer"] = {"module": "tests.models.test_keras_files_hostile", "class_name": "run_me",
                                       "config": {}, "registered_name": None}
        dense["activation"] = "tests.models.test_keras_files_hostile.run_me"
    _load_fails(_with_config(tmp_path, mutate))


def test_keras_lambda_bytecode_is_never_run(tmp_path):
    def mutate(config):
        dense = config["config"]["layers"][1]
        dense.update({"class_name": "Lambda", "module": "keras.layers", "registered_name": None})
        dense["config"] = {"name": dense["config"]["name"], "function": {
            "class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}},
            "arguments": {}}
    path = _with_config(tmp_path, mutate)
    assert isinstance(_load_fails(path), UnsafeLoadError)
    _load_fails(path, safe_mode=False)  # even then, Keras's marshalled bytecode is not loom's to run


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("extra", ["../evil.json", "/abs/config.json", "assets/../../x", "config.json"])
def test_unexpected_or_traversal_entries_are_refused(extra, tmp_path):
    entries = list(_dense_archive(tmp_path).items())
    with zipfile.ZipFile(tmp_path / "bad.keras", "w") as z:
        for name, data in entries + [(extra, b"{}")]:
            z.writestr(name, data)
    _load_fails(tmp_path / "bad.keras")


def test_oversized_entries_are_refused_before_decompression(tmp_path):
    entries = _dense_archive(tmp_path)
    entries["metadata.json"] = b" " * (8 << 20)  # deflates ~1000:1
    _load_fails(_write(tmp_path / "bomb.keras", entries, compress=zipfile.ZIP_DEFLATED))


def _huge_h5() -> bytes:
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:  # declared 4 TiB, stored as nothing (chunked, never written)
        f.create_dataset("layers/dense/vars/0", shape=(1 << 20, 1 << 20), dtype="float32", chunks=(64, 64))
        f.create_dataset("layers/dense/vars/1", data=np.zeros(2, "float32"))
    return buffer.getvalue()


def test_hdf5_with_huge_declared_shapes_is_refused(tmp_path):
    entries = _dense_archive(tmp_path)
    entries["model.weights.h5"] = _huge_h5()
    error = _load_fails(_write(tmp_path / "huge.keras", entries))
    assert "declare" in str(error)


def test_legacy_h5_with_huge_declared_shapes_is_refused(tmp_path):
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "d", "units": 1 << 20, "batch_input_shape": [None, 1 << 20]}}]}}
    with h5py.File(tmp_path / "huge.h5", "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"d"]
        layer = group.create_group("d")
        layer.attrs["weight_names"] = [b"d/kernel:0", b"d/bias:0"]
        layer.create_dataset("d/kernel:0", shape=(1 << 20, 1 << 20), dtype="float32", chunks=(64, 64))
        layer.create_dataset("d/bias:0", shape=(1 << 20,), dtype="float32", chunks=(64,))
    _load_fails(tmp_path / "huge.h5")


@pytest.mark.parametrize("document", [b"[]", b"{", b'{"class_name": "Functional", "config": 7}',
                                      b'{"class_name": "Dense", "config": {"units": 2}}',
                                      b'{"class_name": "Functional", "config": {"layers": [], "input_layers": [], '
                                      b'"output_layers": []}}'])
def test_malformed_configs_are_model_file_errors(document, tmp_path):
    entries = _dense_archive(tmp_path)
    entries["config.json"] = document
    _load_fails(_write(tmp_path / "bad.keras", entries))


def test_deeply_nested_config_is_refused(tmp_path):
    def mutate(config):
        value = {}
        for _ in range(200):
            value = {"class_name": "X", "config": {"v": value}}
        config["config"]["layers"][1]["config"]["kernel_initializer"] = value
    _load_fails(_with_config(tmp_path, mutate))


def test_keras_builtins_loom_lacks_are_named(tmp_path):
    from tests.keras_oracle import keras
    x = keras.Input((4, 8))

    def mutate(config):  # a keras.layers class loom has no counterpart for (loom keeps gaining Keras's layers)
        config["config"]["layers"][1]["class_name"] = "MultiHeadLatentAttention"
    error = _load_fails(_with_config(tmp_path, mutate))
    assert "MultiHeadLatentAttention" in str(error) and "loom does not have" in str(error)
    y = keras.ops.angle(x)  # a Keras operation loom does not record (loom keeps gaining those too)
    keras.Model(x, y).save(str(tmp_path / "op.keras"))
    assert "Keras operation Angle" in str(_load_fails(tmp_path / "op.keras"))
