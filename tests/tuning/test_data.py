"""Search data: the validation split, k folds and fingerprints."""

import numpy as np
import pytest
import torch

from loom.errors import ConfigError, InputError
from loom.tuning.data import check_in_memory, fingerprint, kfold_indices, num_samples, split_validation, take


def test_split_validation_keeps_the_last_fraction_of_every_input():
    x = {"a": np.arange(20.0).reshape(10, 2), "b": torch.arange(10)}
    y = np.arange(10)
    x_train, y_train, (x_val, y_val) = split_validation(x, y, 0.3)
    assert x_train["a"].shape == (7, 2) and x_val["b"].tolist() == [7, 8, 9] and y_val.tolist() == [7, 8, 9]
    with pytest.raises(ConfigError, match="between 0 and 1"):
        split_validation(x, y, 1.0)
    with pytest.raises(ConfigError, match="cannot be split"):
        split_validation(np.zeros((2, 1)), np.zeros(2), 0.9)


def test_kfold_indices_partition_the_samples():
    folds = kfold_indices(10, 3, seed=1)
    assert len(folds) == 3
    validation = np.concatenate([val for _, val in folds])
    assert sorted(validation.tolist()) == list(range(10))
    for train, val in folds:
        assert set(train.tolist()).isdisjoint(val.tolist()) and len(train) + len(val) == 10
    assert [v.tolist() for _, v in kfold_indices(10, 3, seed=1)] == [v.tolist() for _, v in folds]
    with pytest.raises(ConfigError, match="cv must be"):
        kfold_indices(10, 1)


def test_fingerprint_depends_on_values_shapes_and_dtypes():
    x = np.arange(6, dtype="float32").reshape(3, 2)
    assert fingerprint((x, [1, 2, 3])) == fingerprint((x.copy(), [1, 2, 3]))
    assert fingerprint(x) == fingerprint(torch.from_numpy(x))
    assert fingerprint(x) != fingerprint(x.reshape(2, 3))
    assert fingerprint(x) != fingerprint(x.astype("float64"))
    assert fingerprint(x) != fingerprint(x + 1)


def test_in_memory_checks():
    assert num_samples([np.zeros(4), torch.zeros(4, 2)], np.zeros(4)) == 4
    with pytest.raises(InputError, match=r"\[3, 4\]"):
        num_samples(np.zeros(4), np.zeros(3))
    assert take({"a": np.arange(5)}, slice(1, 3))["a"].tolist() == [1, 2]
    with pytest.raises(InputError, match="NumPy arrays or torch tensors"):
        check_in_memory("x", (i for i in range(3)))
