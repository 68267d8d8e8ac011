"""Damaged and hostile model files: every one raises ModelFileError (or UnsafeLoadError), nothing else.

Truncations, seeded random byte flips, and hand-made archives: wrong JSON, wrong types, unknown classes,
code injection through Lambda / module names, path-traversal entry names, zip bombs, lying sizes,
encryption flags, odd compression, and safetensors headers with huge sizes or wrong offsets.
"""

import io
import json
import struct
import warnings
import zipfile

import numpy as np
import pytest

import loom
from loom.errors import ModelFileError, UnsafeLoadError
from loom.models.safetensors_io import encode


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``(path, archive bytes, config document, weights bytes)`` of a small multi-layer model."""
    loom.backend.clear_session()
    a, b = loom.Input((4,), name="a"), loom.Input((3,), name="b")
    shared = loom.layers.Dense(3, name="shared")
    h = loom.layers.Concatenate(name="cat")([shared(a), shared(loom.layers.Dense(4, name="proj")(b))])
    model = loom.Model([a, b], loom.layers.Dense(2, activation="softmax", name="out")(h))
    path = tmp_path_factory.mktemp("fuzz") / "model.loom"
    model.save(path)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        return path, data, json.loads(archive.read("config.json")), archive.read("model.safetensors")


def _zip(entries, method=zipfile.ZIP_STORED):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names
        with zipfile.ZipFile(buffer, "w", compression=method) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return buffer.getvalue()


def _expect_model_file_error(tmp_path, data, name="bad.loom", match=None):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ModelFileError, match=match):
        loom.models.load_model(path)


def _archive(document, weights):
    config = document if isinstance(document, bytes) else json.dumps(document).encode()
    return _zip([("config.json", config), ("model.safetensors", weights)])


def _with_model_config(saved, mutate):
    document = json.loads(json.dumps(saved[2]))
    mutate(document)
    return _archive(document, saved[3])


def test_the_intact_file_loads(saved):
    model = loom.models.load_model(saved[0])
    assert model([np.ones((1, 4), "float32"), np.ones((1, 3), "float32")]).shape == (1, 2)


def test_truncated_files(saved, tmp_path):
    data = saved[1]
    offsets = sorted(set(np.linspace(0, len(data) - 1, 60).astype(int)) | {0, 1, 4, 30, len(data) - 22})
    for cut in offsets:
        _expect_model_file_error(tmp_path, data[:cut])


def test_random_byte_flips(saved, tmp_path):
    data = saved[1]
    rng = np.random.default_rng(1234)
    loaded = 0
    for trial in range(250):
        damaged = bytearray(data)
        for pos in rng.integers(0, len(data), rng.integers(1, 4)):
            damaged[pos] ^= int(rng.integers(1, 256))
        path = tmp_path / "flip.loom"
        path.write_bytes(bytes(damaged))
        try:
            loom.models.load_model(path)  # harmless flips (timestamps, padding) may still load
            loaded += 1
        except ModelFileError:
            pass
    assert loaded < 125  # most flips are detected (CRC, header and JSON checks)


def test_garbage_and_empty_files(tmp_path):
    rng = np.random.default_rng(0)
    _expect_model_file_error(tmp_path, b"")
    _expect_model_file_error(tmp_path, rng.bytes(5000))
    _expect_model_file_error(tmp_path, b"PK\x03\x04" + rng.bytes(5000))
    with pytest.raises(ModelFileError):
        loom.models.load_model(tmp_path)


@pytest.mark.parametrize("config, match", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b"[1, 2, 3]", "JSON object"),
    (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    (b'{"format": "keras"}', "not a loom model"),
    (b'{"format": "loom", "format_version": 99}', "format_version"),
    (b'{"format": "loom", "format_version": "1"}', "format_version"),
    (b'{"format": "loom", "format_version": true}', "format_version"),
    (b'{"format": "loom", "format_version": 1}', "class_name"),
    (b'{"format": "loom", "format_version": 1, "class_name": "Dense", "config": {"units": 2}}', "not a model"),
    (b'{"format": "loom", "format_version": 1, "class_name": "Model", "config": "oops"}', "config"),
    (b'{"format": "loom", "format_version": 1, "class_name": "Model", "config": {"layers": {}}}', "layers"),
    (b'{"format": "loom", "format_version": 1, "class_name": ["Model"]}', "class_name"),
], ids=lambda v: v[:40].decode("latin-1") if isinstance(v, bytes) else None)
def test_bad_config_documents(saved, tmp_path, config, match):
    _expect_model_file_error(tmp_path, _archive(config, saved[3]), match=match)


@pytest.mark.parametrize("mutate", [
    lambda d: d["config"].update(layers=[1, 2]),
    lambda d: d["config"]["layers"][2].update(inbound_nodes="x"),
    lambda d: d["config"]["layers"][2].update(inbound_nodes=[{"args": "x"}]),
    lambda d: d["config"]["layers"][2].update(inbound_nodes=[{"args": [], "kwargs": {}}]),
    lambda d: d["config"]["layers"][2].update(inbound_nodes=[[1, 2]]),
    lambda d: d["config"]["layers"][2]["inbound_nodes"][0]["args"][0].update(config=None),
    lambda d: d["config"]["layers"][2]["inbound_nodes"][0]["args"][0]["config"].update(
        keras_history=["proj", -1, 0]),
    lambda d: d["config"]["layers"][2]["inbound_nodes"][0]["args"][0]["config"].update(
        keras_history=["out", 0, 0]),
    lambda d: d["config"].update(input_layers=[["nowhere", 0, 0]]),
    lambda d: d["config"].update(input_layers=[["proj", 0, 0]]),
    lambda d: d["config"].update(output_layers=7),
    lambda d: d["config"].update(name=["x"]),
    lambda d: d["config"]["layers"][2]["config"].update(units=-3),
    lambda d: d["config"]["layers"][2]["config"].update(units=2 ** 62),
    lambda d: d["config"]["layers"][2]["config"].update(activation="no_such_activation"),
    lambda d: d["config"]["layers"][2]["config"].update(activation={"module": "os", "qualname": "system"}),
    lambda d: d["config"]["layers"][2]["config"].update(kernel_initializer={"class_name": "os.system"}),
    lambda d: d["config"]["layers"][2]["config"].update(name="has/slash"),
    lambda d: d["config"]["layers"][2]["config"].update(name="cat"),
    lambda d: d["config"]["layers"][2]["config"].update(name="layers"),
    lambda d: d["config"]["layers"][0]["config"].update(batch_shape=[None, -4]),
    lambda d: d["config"]["layers"][0]["config"].update(batch_shape="x"),
    lambda d: d["config"]["layers"][0]["config"].update(dtype="complex1024"),
    lambda d: d["config"]["layers"][3]["config"].update(units=5),  # weights of the wrong shape
    lambda d: d["config"]["layers"][5]["config"].update(use_bias=False),  # a file weight the model lacks
])
def test_hostile_layer_graphs(saved, tmp_path, mutate):
    _expect_model_file_error(tmp_path, _with_model_config(saved, mutate))


def test_unknown_and_dangerous_classes_are_refused(saved, tmp_path, monkeypatch):
    marker = tmp_path / "pwned"
    payload = f"lambda x: open({str(marker)!r}, 'w').write('x') or x"
    lambda_entry = {"class_name": "Lambda", "config": {"name": "evil", "function": {"module": None, "name":
                                                                                     "<lambda>", "source": payload}},
                    "name": "evil", "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
                        "keras_history": ["a", 0, 0]}}], "kwargs": {}}]}
    archive = _with_model_config(saved, lambda d: d["config"]["layers"].append(lambda_entry))
    path = tmp_path / "evil.loom"
    path.write_bytes(archive)
    with pytest.raises(UnsafeLoadError, match="safe_mode"):
        loom.models.load_model(path)
    assert not marker.exists()

    def os_system(d):
        d["config"]["layers"][2].update(module="os", class_name="system", registered_name="os>system")
    _expect_model_file_error(tmp_path, _with_model_config(saved, os_system), match="os>system")
    path.write_bytes(_with_model_config(saved, os_system))
    with pytest.raises(ModelFileError, match="not a loom layer"):
        loom.models.load_model(path, safe_mode=False)

    def bad_module(d):
        d["config"]["layers"][2].update(module="os; rm -rf /", class_name="X", registered_name=None)
    path.write_bytes(_with_model_config(saved, bad_module))
    with pytest.raises(ModelFileError, match="not valid Python names"):
        loom.models.load_model(path, safe_mode=False)


@pytest.mark.parametrize("names", [
    ["../config.json", "model.safetensors"],
    ["config.json", "../model.safetensors"],
    ["/etc/config.json", "model.safetensors"],
    ["config.json", "model.safetensors", "../../evil.py"],
    ["config.json"],
    ["config.json", "config.json", "model.safetensors"],
    ["config.json", "model.safetensors", "model.safetensors"],
])
def test_unexpected_entry_names(saved, tmp_path, names):
    content = {"config.json": json.dumps(saved[2]).encode(), "model.safetensors": saved[3]}
    entries = [(n, content.get(n.split("/")[-1], b"x")) for n in names]
    _expect_model_file_error(tmp_path, _zip(entries), match="unexpected archive entries")


def test_zip_bombs(saved, tmp_path):
    zeros = b"\x00" * (20 * 1024 * 1024)
    bomb = _zip([("config.json", json.dumps(saved[2]).encode()), ("model.safetensors", zeros)],
                method=zipfile.ZIP_DEFLATED)
    _expect_model_file_error(tmp_path, bomb, match="zip bomb")
    config_bomb = _zip([("config.json", b" " * (20 * 1024 * 1024) + json.dumps(saved[2]).encode()),
                        ("model.safetensors", saved[3])], method=zipfile.ZIP_DEFLATED)
    _expect_model_file_error(tmp_path, config_bomb, match="zip bomb")


def _patch_central(data, name, offset, fmt, value):
    """Overwrite a field of ``name``'s central-directory record."""
    end_record = data.rindex(b"PK\x05\x06")
    pos = struct.unpack("<I", data[end_record + 16:end_record + 20])[0]  # start of the central directory
    while True:
        name_len = struct.unpack("<H", data[pos + 28:pos + 30])[0]
        if data[pos + 46:pos + 46 + name_len] == name.encode():
            break
        pos = data.index(b"PK\x01\x02", pos + 4)
    return data[:pos + offset] + struct.pack(fmt, value) + data[pos + offset + struct.calcsize(fmt):]


def test_lying_sizes_and_flags(saved, tmp_path):
    data = saved[1]
    _expect_model_file_error(tmp_path, _patch_central(data, "model.safetensors", 24, "<I", 0xFFFFFFF0),
                             match="zip bomb")
    _expect_model_file_error(tmp_path, _patch_central(data, "model.safetensors", 24, "<I", 10))
    _expect_model_file_error(tmp_path, _patch_central(data, "config.json", 20, "<I", 3))
    _expect_model_file_error(tmp_path, _patch_central(data, "config.json", 8, "<H", 0x1), match="encrypted")
    odd = _zip([("config.json", json.dumps(saved[2]).encode()), ("model.safetensors", saved[3])],
               method=zipfile.ZIP_BZIP2)
    _expect_model_file_error(tmp_path, odd, match="compression method")


def _safetensors(header, body=b""):
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


@pytest.mark.parametrize("weights, match", [
    (b"", "at least 8 bytes"),
    (struct.pack("<Q", 2 ** 63), "claims"),
    (struct.pack("<Q", 1000) + b"{}", "claims"),
    (struct.pack("<Q", 4) + b"{{{{", "not valid JSON"),
    (struct.pack("<Q", 2) + b"[]", "JSON object"),
    (_safetensors({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\x00"), "dtype"),
    (_safetensors({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\x00" * 4), "shape"),
    (_safetensors({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"\x00" * 4), "shape"),
    (_safetensors({"a": {"dtype": "F32", "shape": [2 ** 60, 2 ** 60], "data_offsets": [0, 4]}}, b"\x00" * 4),
     "shape"),
    (_safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4000]}}, b"\x00" * 4), "offsets"),
    (_safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\x00" * 4), "offsets"),
    (_safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\x00" * 4), "needs 8 bytes"),
    (_safetensors({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                   "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\x00" * 4), "safetensors"),
    (_safetensors({"a": {"dtype": "F32", "shape": [1]}}, b"\x00" * 4), "exactly the keys"),
    (_safetensors({"__metadata__": {"a": 1}}), "__metadata__"),
    (_safetensors({}), "missing from the file"),
], ids=lambda v: v[:24].hex() if isinstance(v, bytes) else None)
def test_hostile_safetensors(saved, tmp_path, weights, match):
    _expect_model_file_error(tmp_path, _archive(saved[2], weights), match=match)


def test_weights_that_do_not_fit(saved, tmp_path):
    import torch
    from loom.models.safetensors_io import decode
    tensors, _ = decode(saved[3], "base")
    wrong_shape = dict(tensors, **{"dense_2/kernel": torch.zeros(5, 5)})  # the layer named "out"
    _expect_model_file_error(tmp_path, _archive(saved[2], encode(wrong_shape)), match="wrong shapes")
    extra = dict(tensors, **{"mystery/kernel": torch.zeros(1)})
    _expect_model_file_error(tmp_path, _archive(saved[2], encode(extra)), match="not in the model")


def test_truncated_weights_only_files(tmp_path):
    model = loom.Sequential([loom.layers.Dense(3, input_shape=(2,)), loom.layers.Dense(1)])
    model.save_weights(tmp_path / "w.safetensors")
    data = (tmp_path / "w.safetensors").read_bytes()
    for cut in np.linspace(0, len(data) - 1, 25).astype(int):
        (tmp_path / "cut.safetensors").write_bytes(data[:cut])
        with pytest.raises(ModelFileError):
            model.load_weights(tmp_path / "cut.safetensors")
