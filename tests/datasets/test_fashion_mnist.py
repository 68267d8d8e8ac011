"""Fashion-MNIST loading from small fake IDX files, the not-found message, and the real files when installed."""

import gzip
import os

import numpy as np
import pytest

from loom.datasets import fashion_mnist
from loom.datasets.idx import write_idx
from loom.errors import DatasetNotFoundError, InputError, LoomError

REAL_DIR = "/usr/share/datasets/fashion-mnist"


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch, tmp_path):
    monkeypatch.delenv(fashion_mnist.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def make_fake(directory, num_train=12, num_test=5, compressed=True, seed=0):
    """Writes four small IDX files and returns the arrays they hold."""
    rng = np.random.RandomState(seed)
    os.makedirs(directory, exist_ok=True)
    suffix = ".gz" if compressed else ""
    arrays = {}
    for split, n in [("train", num_train), ("t10k", num_test)]:
        images = rng.randint(0, 256, size=(n, 28, 28)).astype("uint8")
        labels = rng.randint(0, 10, size=n).astype("uint8")
        write_idx(os.path.join(directory, f"{split}-images-idx3-ubyte{suffix}"), images)
        write_idx(os.path.join(directory, f"{split}-labels-idx1-ubyte{suffix}"), labels)
        arrays[split] = (images, labels)
    return (arrays["train"], arrays["t10k"])


def assert_splits_equal(loaded, expected):
    for (x, y), (x_ref, y_ref) in zip(loaded, expected):
        assert x.dtype == np.uint8 and y.dtype == np.uint8
        np.testing.assert_array_equal(x, x_ref)
        np.testing.assert_array_equal(y, y_ref)


@pytest.mark.parametrize("compressed", [True, False])
def test_loads_fake_files(tmp_path, compressed):
    expected = make_fake(tmp_path / "fm", compressed=compressed)
    loaded = fashion_mnist.load_data(path=tmp_path / "fm")
    (x_train, y_train), (x_test, y_test) = loaded
    assert x_train.shape == (12, 28, 28) and y_train.shape == (12,)
    assert x_test.shape == (5, 28, 28) and y_test.shape == (5,)
    assert_splits_equal(loaded, expected)


def test_accepts_dotted_names_some_unzip_tools_write(tmp_path):
    expected = make_fake(tmp_path, compressed=False)
    os.replace(tmp_path / "train-images-idx3-ubyte", tmp_path / "train-images.idx3-ubyte")
    assert_splits_equal(fashion_mnist.load_data(str(tmp_path)), expected)


def test_environment_variable_and_path_precedence(tmp_path, monkeypatch):
    from_env = make_fake(tmp_path / "env", seed=1)
    from_path = make_fake(tmp_path / "arg", seed=2)
    monkeypatch.setenv(fashion_mnist.ENV_VAR, str(tmp_path / "env"))
    assert_splits_equal(fashion_mnist.load_data(), from_env)
    assert_splits_equal(fashion_mnist.load_data(tmp_path / "arg"), from_path)


def test_keras_cache_is_a_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(tmp_path / "not_installed"))
    expected = make_fake(tmp_path / "keras_home" / "datasets" / "fashion-mnist")
    assert_splits_equal(fashion_mnist.load_data(), expected)


def test_missing_files_say_how_to_get_them(tmp_path):
    make_fake(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data(tmp_path)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, LoomError)
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(tmp_path) in message and "path=" in message
    assert "t10k-labels-idx1-ubyte.gz" in message and fashion_mnist.ENV_VAR in message


def test_missing_everywhere_lists_each_default_place(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist, "DEFAULT_DIR", str(tmp_path / "not_installed"))
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist") as info:
        fashion_mnist.load_data()
    assert str(tmp_path / "not_installed") in str(info.value)
    assert str(tmp_path / "keras_home" / "datasets" / "fashion-mnist") in str(info.value)


def test_mismatched_files_raise_input_error(tmp_path):
    make_fake(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11, dtype="uint8"))
    with pytest.raises(InputError, match="12 images but .* 11 labels"):
        fashion_mnist.load_data(tmp_path)


def test_wrong_dtype_raises_input_error(tmp_path):
    make_fake(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(5, dtype="int32"))
    with pytest.raises(InputError, match="t10k-labels.*expected uint8 labels"):
        fashion_mnist.load_data(tmp_path)


def test_truncated_file_raises_input_error(tmp_path):
    make_fake(tmp_path, compressed=False)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(InputError, match="truncated"):
        fashion_mnist.load_data(tmp_path)


def test_class_names():
    assert fashion_mnist.class_names == [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"
    ]


@pytest.mark.skipif(not os.path.isdir(REAL_DIR), reason="apt-get install dataset-fashion-mnist for this test")
def test_real_fashion_mnist():
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data(REAL_DIR)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert y_train.min() == 0 and y_train.max() == 9 and y_test.min() == 0 and y_test.max() == 9
    np.testing.assert_array_equal(np.bincount(y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test), [1000] * 10)
    with gzip.open(os.path.join(REAL_DIR, "t10k-images-idx3-ubyte.gz")) as f:
        independent = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(x_test, independent)
    assert fashion_mnist.class_names[y_train[0]] == "Ankle boot"
