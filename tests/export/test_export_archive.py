"""ExportArchive: endpoints as torch.export programs that run without loom and match the model."""

import json
import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import loom
from loom.errors import ConfigError


def _model():
    loom.utils.set_random_seed(0)
    a, b = loom.Input((4,), name="a"), loom.Input((2,), name="b")
    x = loom.layers.Concatenate()([loom.layers.Dense(3, activation="relu")(a), b])
    return loom.Model([a, b], loom.layers.Dense(2, name="head")(x))


def test_endpoints_match_the_model_with_a_dynamic_batch(tmp_path):
    model = _model()
    archive = loom.export.ExportArchive(format="torch")
    archive.track(model)
    archive.add_endpoint("serve", lambda a, b: model([a, b]),
                         input_signature=[loom.InputSpec(shape=(None, 4)), loom.InputSpec(shape=(None, 2))])
    archive.track_and_add_endpoint("head_only", model.get_layer("head"), [loom.InputSpec(shape=(None, 5))])
    archive.add_variable_collection("head_weights", model.get_layer("head").weights)
    path = tmp_path / "archive"
    archive.write_out(path, verbose=False)
    manifest = json.loads((path / "manifest.json").read_text())
    assert sorted(manifest["endpoints"]) == ["head_only", "serve"]
    serve = torch.export.load(str(path / "serve.pt2")).module()
    for batch in (1, 7):
        a, b = torch.randn(batch, 4), torch.randn(batch, 2)
        np.testing.assert_allclose(serve(a, b).detach().numpy(), model([a, b]).detach().numpy(), rtol=1e-6)
    head = torch.export.load(str(path / "head_only.pt2")).module()
    z = torch.randn(3, 5)
    np.testing.assert_allclose(head(z).detach().numpy(), model.get_layer("head")(z).detach().numpy(), rtol=1e-6)
    saved = load_file(str(path / "variables.safetensors"))
    torch.testing.assert_close(saved["head_weights/0"], model.get_layer("head").weights[0].detach())


def test_rewriting_replaces_the_directory_whole(tmp_path):
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(1)])
    path = tmp_path / "out"
    for name in ("first", "second"):
        archive = loom.export.ExportArchive(format="torch")
        archive.track_and_add_endpoint(name, model, [loom.InputSpec(shape=(None, 3))])
        archive.write_out(path, verbose=False)
    assert sorted(os.listdir(path)) == ["manifest.json", "second.pt2"]
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".export-")]


def test_bad_use_is_named(tmp_path):
    with pytest.raises(ConfigError, match="TensorFlow"):
        loom.export.ExportArchive()
    archive = loom.export.ExportArchive(format="torch")
    with pytest.raises(ConfigError, match="not built"):
        archive.track(loom.layers.Dense(2))
    with pytest.raises(ConfigError, match="input_signature"):
        archive.add_endpoint("serve", torch.relu)
    archive.add_endpoint("serve", torch.relu, [loom.InputSpec(shape=(None, 2))])
    with pytest.raises(ConfigError, match="already taken"):
        archive.add_endpoint("serve", torch.relu, [loom.InputSpec(shape=(None, 2))])
    with pytest.raises(ConfigError, match="endpoint"):
        loom.export.ExportArchive(format="torch").write_out(tmp_path / "x", verbose=False)
