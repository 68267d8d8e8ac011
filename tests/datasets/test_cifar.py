"""CIFAR-10 / CIFAR-100 from small files in CIFAR's python-batch format (directories and the .tar.gz)."""

import os
import pickle
import tarfile

import numpy as np
import pytest

import loom
from loom.datasets import cifar10, cifar100
from loom.errors import ConfigError, DatasetNotFoundError, InputError


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch, tmp_path):
    for var in (cifar10.ENV_VAR, cifar100.ENV_VAR):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def _batch(path, n, seed, label_keys=("labels",), protocol=4):
    rng = np.random.RandomState(seed)
    entry = {b"data": rng.randint(0, 256, (n, 3072)).astype("uint8"), b"batch_label": b"x",
             b"filenames": [b"f%d" % i for i in range(n)]}
    for key in label_keys:
        entry[key.encode()] = rng.randint(0, 100 if "fine" in key else 10, n).tolist()
    with open(path, "wb") as f:
        pickle.dump(entry, f, protocol=protocol)
    return entry


def make_cifar10(root, n=3):
    folder = os.path.join(root, "cifar-10-batches-py")
    os.makedirs(folder)
    batches = [_batch(os.path.join(folder, f"data_batch_{i}"), n, i, protocol=2) for i in range(1, 6)]
    return batches, _batch(os.path.join(folder, "test_batch"), n, 9)


def test_cifar10_from_directory_and_archive(tmp_path):
    batches, test = make_cifar10(str(tmp_path / "d"))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data(tmp_path / "d")
    assert x_train.shape == (15, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (15, 1) and y_train.dtype == np.uint8 and y_test.shape == (3, 1)
    first = batches[0][b"data"][0].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(x_train[0], first)
    assert y_train[:, 0].tolist() == sum((b[b"labels"] for b in batches), [])
    archive = str(tmp_path / "cifar-10-python.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(str(tmp_path / "d" / "cifar-10-batches-py"), arcname="cifar-10-batches-py")
    (x2, y2), (xt2, yt2) = cifar10.load_data(archive)
    np.testing.assert_array_equal(x2, x_train)
    np.testing.assert_array_equal(yt2, y_test)


def test_cifar10_fit_end_to_end(tmp_path):
    make_cifar10(str(tmp_path))
    (x_train, y_train), _ = cifar10.load_data(str(tmp_path))
    model = loom.Sequential([loom.Input((32, 32, 3)), loom.layers.Flatten(), loom.layers.Dense(10)])
    model.compile("adam", loom.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train.astype("float32") / 255, y_train, epochs=1, batch_size=5, verbose=0)


def test_cifar100_matches_keras(tmp_path, monkeypatch):
    from tests.keras_oracle import keras  # noqa: F401 (Keras's loader, pointed at the test files)
    import keras.src.datasets.cifar100 as keras_cifar100
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for name, seed in (("train", 0), ("test", 1)):
        _batch(str(folder / name), 4, seed, label_keys=("fine_labels", "coarse_labels"))
    monkeypatch.setattr(keras_cifar100, "get_file", lambda *a, **k: str(tmp_path))
    for mode in ("fine", "coarse"):
        ours, theirs = cifar100.load_data(mode, path=str(tmp_path)), keras_cifar100.load_data(mode)
        for a, b in zip(sum(ours, ()), sum(theirs, ())):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def test_refusals_and_not_found(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="(?s)cifar-10-batches-py not found.*keras_home"):
        cifar10.load_data()
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    with open(folder / "train", "wb") as f:
        pickle.dump({b"data": os.system}, f)
    _batch(str(folder / "test"), 2, 0, label_keys=("fine_labels",))
    with pytest.raises(InputError, match="Refusing to unpickle"):
        cifar100.load_data(path=str(tmp_path))
    with pytest.raises(ConfigError, match="label_mode"):
        cifar100.load_data("medium", path=str(tmp_path))
