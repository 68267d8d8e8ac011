"""Reuters, Boston and California housing from small files in Keras's formats, with Keras's loaders as oracle."""

import json

import numpy as np
import pytest

import loom
from loom.datasets import boston_housing, california_housing, reuters
from loom.errors import ConfigError, DatasetNotFoundError
from tests.keras_oracle import keras  # noqa: F401


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def _ragged(rng, n):
    out = np.empty(n, dtype=object)
    out[:] = [rng.randint(1, 60, size=rng.randint(2, 12)).tolist() for _ in range(n)]
    return out


def _keras_with_file(monkeypatch, module_name, path):
    import importlib
    module = importlib.import_module(f"keras.src.datasets.{module_name}")
    monkeypatch.setattr(module, "get_file", lambda *a, **k: str(path))
    return module


@pytest.mark.parametrize("kwargs", [dict(), dict(num_words=30, skip_top=2, maxlen=8, test_split=0.3, seed=1),
                                    dict(start_char=None, oov_char=None, index_from=0, num_words=20)])
def test_reuters_matches_keras(tmp_path, monkeypatch, kwargs):
    rng = np.random.RandomState(0)
    path = tmp_path / "reuters.npz"
    np.savez(path, x=_ragged(rng, 25), y=rng.randint(0, 46, 25))
    keras_reuters = _keras_with_file(monkeypatch, "reuters", path)
    ours, theirs = reuters.load_data(str(path), **kwargs), keras_reuters.load_data(**kwargs)
    for a, b in zip(sum(ours, ()), sum(theirs, ())):
        assert [list(v) if isinstance(v, list) else v for v in a.tolist()] == b.tolist()


def test_reuters_word_index_labels_and_cache_lookup(tmp_path):
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "reuters_word_index.json").write_text(json.dumps({"the": 1, "of": 2}))
    assert reuters.get_word_index() == {"the": 1, "of": 2}
    assert reuters.get_label_names() == keras.datasets.reuters.get_label_names()
    with pytest.raises(DatasetNotFoundError, match="reuters.npz not found"):
        reuters.load_data()


@pytest.mark.parametrize("module, name, features, kwargs", [
    (boston_housing, "boston_housing", 13, dict(test_split=0.25, seed=7)),
    (california_housing, "california_housing", 8, dict(version="small", seed=3)),
    (california_housing, "california_housing", 8, dict())])
def test_housing_matches_keras(tmp_path, monkeypatch, module, name, features, kwargs):
    rng = np.random.RandomState(1)
    path = tmp_path / f"{name}.npz"
    np.savez(path, x=rng.rand(650, features), y=rng.rand(650) * 50)
    keras_module = _keras_with_file(monkeypatch, name, path)
    ours, theirs = module.load_data(path=str(path), **kwargs), keras_module.load_data(**kwargs)
    for a, b in zip(sum(ours, ()), sum(theirs, ())):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_housing_fit_end_to_end_and_errors(tmp_path):
    rng = np.random.RandomState(2)
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    np.savez(cache / "boston_housing.npz", x=rng.rand(40, 13), y=rng.rand(40))
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data()  # found in Keras's cache by name
    model = loom.Sequential([loom.Input((13,)), loom.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(x_train, y_train, validation_data=(x_test, y_test), epochs=1, verbose=0)
    with pytest.raises(ConfigError, match="test_split"):
        boston_housing.load_data(test_split=1.0)
    with pytest.raises(ConfigError, match="version"):
        california_housing.load_data(version="tiny")
    with pytest.raises(DatasetNotFoundError, match="california_housing.npz"):
        california_housing.load_data()
