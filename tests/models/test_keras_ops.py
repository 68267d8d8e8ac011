"""Keras's recorded operations (``x[:, 0]``, ``x ** 2``, ``ops.mean(x, axis=1)``...) in functional graphs.

The oracle is Keras 3 itself: the same model built with ``keras.ops`` on KerasTensors computes the same, writes
the same ``.keras`` config, and each library loads the other's file (Keras in safe mode) with the same outputs.
"""

import importlib
import inspect
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from loom.models.keras_ops import MODULES, OPS
from tests.keras_oracle import keras


def _operators(K, ops):
    """Python operators and indexing on placeholders, and the common ops: one output each."""
    x, y = K.Input((3, 4), name="x"), K.Input((3, 4), name="y")
    return [x, y], [
        x[:, 0], x[..., 1:3], x[:, None], x[:, ::2, -1], x[:, 1:, None],
        x + y, x - 1, 2.0 * x, x / (y + 10.0), 1.0 / (x + 4.0), x != y, x < y,
        x ** 2, 2 ** x, x % 3, 7.5 % (x + 4.0), x // 2, 2.0 // (x + 4.0),
        (x > 0) & (y > 0), (x > 0) | (y > 0), (x > 0) ^ (y > 0), ~(x > 0), x <= y, x >= 1.0, abs(x), -x,
        x @ ops.transpose(y, (0, 2, 1)), ops.matmul(x, ops.transpose(y, (0, 2, 1))),
        ops.maximum(x, y), ops.minimum(x, 1.0), ops.power(x, 3), ops.mod(x, y), ops.floor_divide(x, y),
        ops.sin(x), ops.cos(x), ops.sigmoid(x), ops.relu(x), ops.softmax(x, axis=1), ops.clip(x, -0.5, 0.5),
        ops.reshape(x, (-1, 12)), ops.cast(x, "int32"), ops.mean(x, axis=1, keepdims=True), ops.sum(x, axis=(1, 2)),
        ops.max(x, axis=-1), ops.argmax(x, axis=1), ops.concatenate([x, y], axis=1), ops.stack([x, y], axis=-1),
        ops.expand_dims(x, 1), ops.squeeze(x[:, :1], 1), ops.where(x > 0, x, y), ops.pad(x, ((0, 0), (1, 1), (0, 0))),
        ops.einsum("bij,bkj->bik", x, y), x + np.array([1.0, 2.0, 3.0, 4.0], "float32"), x * np.float32(2.0),
        ops.take(x, np.array([0, 2]), axis=1), x - torch.tensor([0.5, 1.0, 1.5, 2.0])]


def _several_outputs(K, ops):
    x = K.Input((4, 6), name="x")
    a, b = ops.split(x, 2, axis=2)
    values, indices = ops.top_k(x, 2)
    mean, variance = ops.moments(x, axes=(1,))
    rows = ops.unstack(x, axis=1)
    return [x], [a, b * 2, values, indices, mean, variance, rows[0], rows[3]]


def _images_and_signals(K, ops):
    """Image, normalization, search, signal and decomposition operations."""
    x, v = K.Input((8, 8, 3), name="x"), K.Input((6,), name="v")
    image, unit = ops.image, ops.sigmoid(x)
    corners = np.array([[0, 0], [7, 0], [7, 7], [0, 7]], "float32")
    pairs = ops.reshape(v, (-1, 2, 3))
    return [x, v], [
        image.resize(x, (4, 4)), image.resize(x, (5, 7), interpolation="nearest"), image.rgb_to_grayscale(x),
        image.rgb_to_hsv(unit), image.hsv_to_rgb(unit), image.crop_images(x, 1, 2, target_height=4, target_width=5),
        image.pad_images(x, 1, 2, target_height=10, target_width=12), image.extract_patches(x, 2),
        image.gaussian_blur(x), image.sobel_edges(x),
        image.affine_transform(x, ops.ones_like(v[:, :1]) * np.array([1, 0.1, 0.5, 0, 1, -0.5, 0, 0], "float32")),
        image.perspective_transform(x, corners, corners + np.array([1.0, 0.5], "float32")),
        ops.isin(ops.round(v), np.array([0.0, 1.0], "float32")),
        ops.searchsorted(np.array([-1.0, 0.0, 0.5, 2.0], "float32"), v), ops.trapezoid(v, dx=0.5),
        *ops.unravel_index(ops.cast(ops.abs(v) * 3, "int32"), (4, 5)), ops.view(v, "int32"),
        ops.batch_normalization(v, np.zeros(6, "float32"), np.ones(6, "float32"), axis=-1,
                                offset=np.full(6, 0.5, "float32"), scale=np.full(6, 2.0, "float32")),
        ops.rms_normalization(v, np.full(6, 2.0, "float32")), ops.multi_hot(ops.cast(ops.abs(v), "int32"), 5),
        *ops.fft((v, ops.zeros_like(v))), *ops.rfft(v), ops.irfft(ops.rfft(v)),
        *ops.stft(v, sequence_length=4, sequence_stride=2, fft_length=4), ops.cdist(pairs, pairs),
        ops.svd(pairs, compute_uv=False), ops.layer_normalization(v), v * ops.psnr(v, ops.zeros_like(v), 4.0),
        v * image.ssim(unit, ops.sigmoid(x * 0.9), filter_size=3)[:, None], ops.where(ops.allclose(v, v * 1.0), v, 0.0)]


def _data(shapes):
    rng = np.random.default_rng(0)
    return [rng.normal(size=(2,) + shape).astype("float32") for shape in shapes]


def _same(got, want, exact=False):
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        assert a.shape == b.shape and a.dtype == b.dtype, (i, a.shape, b.shape, a.dtype, b.dtype)
        if exact:
            np.testing.assert_array_equal(a, b, err_msg=f"output {i}")
        else:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6, err_msg=f"output {i}")


def _op_entries(path):
    """The operation layers of a ``.keras`` file: identity, config and non-tensor arguments, names left out."""
    config = json.loads(zipfile.ZipFile(path).read("config.json"))["config"]

    def strip(value):
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            return "tensor"
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()}
        return [strip(v) for v in value] if isinstance(value, list) else value
    return sorted(json.dumps([layer["module"], layer["class_name"], layer["registered_name"],
                              {k: v for k, v in layer["config"].items() if k != "name"},
                              strip(layer["inbound_nodes"])], sort_keys=True)
                  for layer in config["layers"] if layer["class_name"] != "InputLayer")


@pytest.mark.parametrize("build, shapes", [(_operators, [(3, 4)] * 2), (_several_outputs, [(4, 6)]),
                                           (_images_and_signals, [(8, 8, 3), (6,)])])
def test_operations_save_and_load_both_ways(tmp_path, build, shapes):
    inputs, outputs = build(loom, loom.ops)
    model = loom.Model(inputs, outputs)
    assert not [layer.name for layer in model.layers if isinstance(layer, loom.layers.Lambda)]
    k_inputs, k_outputs = build(keras, keras.ops)
    k_model = keras.Model(k_inputs, k_outputs)
    data = _data(shapes)
    expected = k_model.predict(data, verbose=0)
    _same(model.predict(data, verbose=0), expected)

    model.save(tmp_path / "loom.keras")
    k_model.save(tmp_path / "keras.keras")
    assert _op_entries(tmp_path / "loom.keras") == _op_entries(tmp_path / "keras.keras")
    for path in ("loom.keras", "keras.keras"):
        _same(loom.saving.load_model(tmp_path / path).predict(data, verbose=0), expected)
        _same(keras.saving.load_model(tmp_path / path).predict(data, verbose=0), expected)
    model.save(tmp_path / "model.loom")
    _same(loom.saving.load_model(tmp_path / "model.loom").predict(data, verbose=0),
          model.predict(data, verbose=0), exact=True)


def test_a_loom_file_with_operations_loads_in_a_fresh_process(tmp_path):
    x = loom.Input((3, 4))
    loom.Model(x, x[:, 0] ** 2).save(tmp_path / "m.loom")
    code = f"import loom; print(type(loom.saving.load_model({str(tmp_path / 'm.loom')!r}).layers[1]).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.stdout.split()[-1] == "GetItem"


def test_every_operation_takes_what_keras_takes():
    """Each class is Keras's of that name, with the op's parameters split as Keras's call and config."""
    for name, cls in OPS.items():
        k_cls = getattr(importlib.import_module(MODULES[name]), name)
        init = [p.name for p in inspect.signature(k_cls.__init__).parameters.values()
                if p.name not in ("self", "name") and p.kind is not p.VAR_KEYWORD]
        call = [p.name for p in list(inspect.signature(k_cls.call).parameters.values())[1:]
                if p.kind is not p.VAR_KEYWORD]
        split = cls.split()
        assert (list(split.options), list(split.calls + split.keywords)) == (init, call), name


def test_get_item_reads_a_saved_list_key_as_a_tuple():
    x = torch.arange(24.0).reshape(2, 3, 4)
    op = OPS["GetItem"]()
    assert torch.equal(op(x, [slice(None), 0]), x[:, 0])
    assert torch.equal(op(x, (Ellipsis, slice(1, 3))), x[..., 1:3])


def test_ops_without_a_keras_operation_run_but_refuse_to_save(tmp_path):
    x = loom.Input((3,), name="x")
    dense = loom.layers.Dense(3)
    h = dense(x)
    weighted = x * dense.kernel[0]  # a weight as a constant would be saved frozen: a Lambda, as any closure
    model = loom.Model(x, [loom.ops.angle(h), weighted])  # Keras's Angle (of complex numbers): not one loom records
    assert model.predict(_data([(3,)])[0], verbose=0)[0].shape == (2, 3)
    with pytest.raises(ConfigError, match=r"ops\.angle on functional-graph placeholders"):
        model.save(tmp_path / "m.keras")
    with pytest.raises(ConfigError, match=r"ops\.multiply .* Multiply operation: its argument a tensor computed fr"):
        loom.Model(x, weighted).save(tmp_path / "m.keras")
    y = loom.ops.clip(x, x_min=x, x_max=1.0)
    with pytest.raises(ConfigError, match=r"Clip operation: its x_min=a placeholder"):
        loom.Model(x, y).save(tmp_path / "m.keras")


def test_unknown_keras_operation_is_named_on_load(tmp_path):
    x = keras.Input((4,))
    keras.Model(x, keras.ops.logsumexp(x, axis=-1)).save(tmp_path / "k.keras")
    with zipfile.ZipFile(tmp_path / "k.keras") as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    layer = config["config"]["layers"][1]
    layer["class_name"] = layer["registered_name"] = "Fancy"
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "edited.keras", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    with pytest.raises(loom.LoomError, match="Keras operation Fancy .*loom.models.keras_ops.OPS"):
        loom.saving.load_model(tmp_path / "edited.keras")


def test_a_keyword_the_operation_has_no_option_for_makes_a_lambda():
    """``multi_hot``'s legacy ``num_tokens`` reaches the op through ``**kwargs``: no MultiHot option holds it, so
    the call stays a Lambda (which runs) instead of an operation that would drop it."""
    x = loom.Input((4,), dtype="int32")
    model = loom.Model(x, [loom.ops.multi_hot(x, num_tokens=5), loom.ops.multi_hot(x, num_classes=5)])
    assert [type(layer).__name__ for layer in model.layers[1:]] == ["Lambda", "MultiHot"]
    first, second = model.predict(np.array([[0, 1, 4, 4]]), verbose=0)
    np.testing.assert_array_equal(first, [[1, 1, 0, 0, 1]])
    np.testing.assert_array_equal(first, second)
