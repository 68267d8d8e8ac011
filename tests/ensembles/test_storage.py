import json
import zipfile

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import loom
from loom.ensembles import Ensemble, SklearnMember, TorchMember, load, tree_member
from loom.ensembles.storage import allowed_type
from loom.errors import ConfigError, ModelFileError, UnsafeLoadError


@loom.saving.register_loom_serializable(package="ensemble_tests")
class TinyNet(torch.nn.Module):
    def __init__(self, hidden: int = 4):
        super().__init__()
        self.hidden = hidden
        self.body = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(6, hidden), torch.nn.ReLU(),
                                        torch.nn.Linear(hidden, 3))

    def get_config(self):
        return {"hidden": self.hidden}

    def forward(self, x):
        return self.body(x)


class Unregistered(torch.nn.Module):
    def forward(self, x):
        return x


def _data():
    rng = np.random.RandomState(0)
    x = rng.rand(60, 2, 3).astype("float32")
    return x, rng.randint(0, 3, 60)


def _loom_model():
    inputs = loom.Input((2, 3))
    h = loom.layers.Flatten()(inputs)
    return loom.Model(inputs, loom.layers.Dense(3, activation="softmax")(h), name="loom_net")


def _mixed(method="weighted"):
    x, y = _data()
    torch.manual_seed(0)
    members = {"loom": _loom_model(), "torch": TorchMember(TinyNet(5), outputs="logits"),
               "forest": tree_member(x, y, kind="random_forest", n_estimators=5, n_threads=1)}
    ens = Ensemble(members, method=method, task="classification")
    return ens.fit(x, y) if method != "weighted" else ens.fit_weights(x, y)


@pytest.mark.parametrize("method", ["weighted", "caruana", "stack", "vote"])
def test_round_trip_gives_identical_predictions(tmp_path, method):
    x, _ = _data()
    ens = _mixed(method)
    path = tmp_path / "ensemble.zip"
    ens.save(path)
    restored = load(path)
    assert restored.names == ens.names and restored.method == method and restored.task == "classification"
    assert np.array_equal(restored.predict(x), ens.predict(x))
    assert restored.fit_info == json.loads(json.dumps(ens.fit_info))
    assert isinstance(restored.members[1].module, TinyNet) and restored.members[1].module.hidden == 5
    assert restored.members[2].n_threads == 1
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary file


def test_unsavable_members_are_refused_and_the_old_file_is_kept(tmp_path):
    path = tmp_path / "ensemble.zip"
    _mixed().save(path)
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="cannot be saved"):
        Ensemble([lambda x: x]).save(path)
    with pytest.raises(ConfigError, match="not registered"):
        Ensemble([Unregistered()]).save(path)
    x, y = _data()
    custom = SklearnMember(LogisticRegression().fit(x[:, 0], y), features=lambda x: x[:, 0])
    with pytest.raises(ConfigError, match="features"):
        Ensemble([custom]).save(path)
    with pytest.raises(FileExistsError):
        _mixed().save(path, overwrite=False)
    assert path.read_bytes() == before


def _rewrite(source, target, change):
    """Copy an ensemble zip, letting ``change(entries)`` edit its ``{name: bytes}``."""
    with zipfile.ZipFile(source) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    change(entries)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return target


def _manifest_edit(fn):
    def change(entries):
        doc = json.loads(entries["ensemble.json"])
        fn(doc)
        entries["ensemble.json"] = json.dumps(doc).encode()
    return change


def test_hostile_and_garbled_files_raise_model_file_error(tmp_path):
    good = tmp_path / "good.zip"
    _mixed().save(good)
    data = good.read_bytes()
    cases = {
        "missing": None,
        "not_zip": b"\x80\x04K\x01." * 10,
        "truncated": data[: len(data) // 2],
        "traversal": lambda e: e.__setitem__("../evil.py", b"print(1)"),
        "not_json": lambda e: e.__setitem__("ensemble.json", b"{nope"),
        "wrong_format": _manifest_edit(lambda d: d.__setitem__("format", "pickle")),
        "future_version": _manifest_edit(lambda d: d.__setitem__("format_version", 99)),
        "bad_method": _manifest_edit(lambda d: d.__setitem__("method", "exec")),
        "nan_weights": _manifest_edit(lambda d: d.__setitem__("weights", [float("nan")] * 3)),
        "short_weights": _manifest_edit(lambda d: d.__setitem__("weights", [1.0])),
        "member_kind": _manifest_edit(lambda d: d["members"][0].__setitem__("kind", "pickle")),
        "member_file": _manifest_edit(lambda d: d["members"][0].__setitem__("file", "members/2.skops")),
        "missing_member": lambda e: e.pop("members/2.skops"),
        "torch_shapes": _manifest_edit(lambda d: d["members"][1]["config"].__setitem__("hidden", 7)),
        "torch_config": _manifest_edit(lambda d: d["members"][1]["config"].__setitem__("evil", 1)),
        "loom_bytes": lambda e: e.__setitem__("members/0.loom", b"PK\x03\x04garbage"),
        "safetensors_bytes": lambda e: e.__setitem__("members/1.safetensors", b"\xff" * 64),
        "skops_bytes": lambda e: e.__setitem__("members/2.skops", b"not a skops file"),
    }
    for name, case in cases.items():
        path = tmp_path / f"{name}.zip"
        if isinstance(case, bytes):
            path.write_bytes(case)
        elif case is not None:
            _rewrite(good, path, case)
        with pytest.raises(ModelFileError):
            load(path)


def test_unregistered_classes_and_untrusted_types_are_refused(tmp_path):
    good = tmp_path / "good.zip"
    _mixed().save(good)
    unregistered = _rewrite(good, tmp_path / "class.zip",
                            _manifest_edit(lambda d: d["members"][1].__setitem__("class", "os>system")))
    with pytest.raises(UnsafeLoadError, match="os>system"):
        load(unregistered)
    import skops.io
    x, y = _data()
    odd = make_pipeline(FunctionTransformer(func=abs), LogisticRegression()).fit(x.reshape(60, 6), y)
    swapped = _rewrite(good, tmp_path / "types.zip",
                       lambda e: e.__setitem__("members/2.skops", skops.io.dumps(odd)))
    with pytest.raises(UnsafeLoadError, match="builtins.abs"):
        load(swapped)
    trusted = load(swapped, trusted=["builtins.abs"])  # explicit trust only
    assert trusted.members[2].estimator.steps[0][1].func is abs


def test_zip_bomb_is_refused(tmp_path):
    good = tmp_path / "good.zip"
    _mixed().save(good)

    def bomb(entries):
        doc = json.loads(entries["ensemble.json"])
        doc["padding"] = " " * (20 * 1024 * 1024)
        entries["ensemble.json"] = json.dumps(doc).encode()

    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(good) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    bomb(entries)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="zip bomb"):
        load(path)


def test_allow_list():
    assert allowed_type("sklearn.tree._tree.Tree")
    assert allowed_type("sklearn.ensemble._forest.RandomForestClassifier")
    assert allowed_type("numpy.float64")
    assert not allowed_type("builtins.eval")
    assert not allowed_type("sklearn.utils.deprecated")  # a function-ish helper, not an estimator class
    assert not allowed_type("numpy.load")
    assert not allowed_type("os.system")
    assert not allowed_type("sklearn.tests.test_base.MyEstimator")  # never import test modules
    assert not allowed_type("sklearn.base.__import__('os')")
