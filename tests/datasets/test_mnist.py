"""MNIST loading from a fake Keras ``mnist.npz`` and from fake IDX files; refusals and the not-found message."""

import os

import numpy as np
import pytest

from loom.datasets import mnist
from loom.errors import DatasetNotFoundError, InputError
from tests.datasets.test_fashion_mnist import assert_splits_equal, make_fake


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch, tmp_path):
    monkeypatch.delenv(mnist.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def make_npz(path, num_train=9, num_test=4, seed=0, **overrides):
    rng = np.random.RandomState(seed)
    arrays = {
        "x_train": rng.randint(0, 256, size=(num_train, 28, 28)).astype("uint8"),
        "y_train": rng.randint(0, 10, size=num_train).astype("uint8"),
        "x_test": rng.randint(0, 256, size=(num_test, 28, 28)).astype("uint8"),
        "y_test": rng.randint(0, 10, size=num_test).astype("uint8"),
    }
    arrays.update(overrides)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **arrays)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def test_loads_npz_file(tmp_path):
    expected = make_npz(tmp_path / "mnist.npz")
    loaded = mnist.load_data(tmp_path / "mnist.npz")
    assert loaded[0][0].shape == (9, 28, 28) and loaded[1][1].shape == (4,)
    assert_splits_equal(loaded, expected)


def test_loads_npz_inside_a_directory(tmp_path):
    expected = make_npz(tmp_path / "data" / "mnist.npz")
    assert_splits_equal(mnist.load_data(str(tmp_path / "data")), expected)


@pytest.mark.parametrize("compressed", [True, False])
def test_loads_idx_directory(tmp_path, compressed):
    expected = make_fake(tmp_path, compressed=compressed)
    assert_splits_equal(mnist.load_data(tmp_path), expected)


def test_environment_variable_and_keras_cache(tmp_path, monkeypatch):
    cached = make_npz(tmp_path / "keras_home" / "datasets" / "mnist.npz", seed=1)
    assert_splits_equal(mnist.load_data(), cached)
    from_env = make_npz(tmp_path / "env" / "mnist.npz", seed=2)
    monkeypatch.setenv(mnist.ENV_VAR, str(tmp_path / "env" / "mnist.npz"))
    assert_splits_equal(mnist.load_data(), from_env)


def test_pickled_npz_is_refused(tmp_path):
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1, 2], [3]
    make_npz(tmp_path / "mnist.npz", x_train=ragged)
    with pytest.raises(InputError, match="pickle"):
        mnist.load_data(tmp_path / "mnist.npz")


def test_npz_missing_a_key(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((1, 28, 28), "uint8"))
    with pytest.raises(InputError, match="lacks"):
        mnist.load_data(tmp_path / "mnist.npz")


def test_garbage_npz(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(InputError, match="mnist.npz"):
        mnist.load_data(tmp_path / "mnist.npz")


def test_npz_with_wrong_shapes(tmp_path):
    make_npz(tmp_path / "mnist.npz", x_test=np.zeros((4, 784), "uint8"))
    with pytest.raises(InputError, match=r"x_test.*\(n, height, width\)"):
        mnist.load_data(tmp_path / "mnist.npz")


def test_not_found_says_how_to_get_the_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert str(tmp_path / "keras_home" / "datasets" / "mnist.npz") in message
    assert "mnist.npz" in message and "train-images-idx3-ubyte.gz" in message
    assert "path=" in message and mnist.ENV_VAR in message
