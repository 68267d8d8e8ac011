"""``model.export``: ONNX (checked with onnxruntime) and ``torch.export`` programs equal ``predict``."""

import os
import warnings

import numpy as np
import pytest
import torch

import loom
from tests.models.test_keras_archive import _dag, _text
from tests.tolerance import assert_allclose_scaled

ort = pytest.importorskip("onnxruntime")


def _conv(L):
    x = L.Input((8, 8, 3))
    y = L.layers.Conv2D(4, 3, activation="relu")(x)
    y = L.layers.BatchNormalization()(y)
    y = L.layers.SeparableConv2D(4, 3, padding="same")(y)
    y = L.layers.GlobalAveragePooling2D()(y)
    return L.Model(x, L.layers.Dense(3, activation="softmax")(y))


def _inputs(model, batch, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for spec in model.inputs:
        shape = (batch,) + tuple(spec.shape[1:])
        if "int" in str(spec.dtype):
            out.append(rng.integers(1, 20, shape).astype("int32"))
        else:
            out.append(rng.normal(size=shape).astype("float32"))
    return out


def _predict(model, xs):
    y = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    return y if isinstance(y, list) else [y]


MODELS = {"conv": _conv, "dag": _dag, "text": _text}


def _export_quietly(model, path, fmt):
    """Export, and return the warnings raised from loom's own code (there must be none)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.export(path, format=fmt, verbose=False)
    root = os.path.dirname(loom.__file__)
    return [f"{w.filename}:{w.lineno}: {w.message}" for w in caught if w.filename.startswith(root)]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_export_matches_predict(name, tmp_path):
    loom.utils.set_random_seed(0)
    model = MODELS[name](loom)
    path = str(tmp_path / "m.onnx")
    assert _export_quietly(model, path, "onnx") == []
    session = ort.InferenceSession(path)
    names = [i.name for i in session.get_inputs()]
    for batch in (1, 5):  # the batch dimension is dynamic
        xs = _inputs(model, batch)
        got = session.run(None, dict(zip(names, xs)))
        for g, want in zip(got, _predict(model, xs)):
            assert_allclose_scaled(g, want, rel=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_export_matches_predict(name, tmp_path):
    loom.utils.set_random_seed(0)
    model = MODELS[name](loom)
    path = str(tmp_path / "m.pt2")
    assert _export_quietly(model, path, "torch") == []
    program = torch.export.load(path).module()
    for batch in (3, 6):
        xs = _inputs(model, batch)
        got = program(*[torch.from_numpy(x) for x in xs])
        for g, want in zip(got, _predict(model, xs)):
            assert_allclose_scaled(g.detach().numpy(), want, rel=1e-5)


def test_unknown_format_is_a_clear_error(tmp_path):
    model = _conv(loom)
    with pytest.raises(loom.errors.ConfigError, match="onnx"):
        model.export(tmp_path / "m", format="tf_saved_model")
    assert not os.path.exists(tmp_path / "m")


@pytest.mark.parametrize("name", sorted(MODELS))
def test_torch_jit_trace_records_no_warnings_from_loom(name):
    model = MODELS[name](loom)
    model.eval()
    xs = [torch.from_numpy(x) for x in _inputs(model, 4)]
    args = (xs[0],) if len(xs) == 1 else (xs,)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traced = torch.jit.trace(model, args, strict=False)
    root = os.path.dirname(loom.__file__)
    assert [f"{w.filename}:{w.lineno}" for w in caught if w.filename.startswith(root)] == []
    want = _predict(model, [x.numpy() for x in xs])
    got = traced(*args)
    got = [got] if isinstance(got, torch.Tensor) else list(got)
    for g, w in zip(got, want):
        assert_allclose_scaled(g.detach().numpy(), w, rel=1e-5)
