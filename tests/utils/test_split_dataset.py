import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from loom.utils import split_dataset


def test_sizes_and_contiguous_without_shuffle():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    left, right = split_dataset((x, y), left_size=0.6)
    assert len(left) == 6 and len(right) == 4
    assert int(right[0][1]) == 6
    left, right = split_dataset({"a": x}, left_size=3, right_size=2)
    assert len(left) == 3 and len(right) == 2 and float(right[1]["a"][0]) == 8.0


def test_shuffle_matches_keras_on_torch():
    from tests.keras_oracle import keras
    data = np.arange(30.0)
    ours = split_dataset(data, right_size=0.3, shuffle=True, seed=4)
    theirs = keras.utils.split_dataset(data, right_size=0.3, shuffle=True, seed=4)
    for o, t in zip(ours, theirs):
        assert [float(s[0]) for s in o] == [float(s[0]) for s in t]


def test_fit_takes_the_parts():
    x, y = np.random.RandomState(0).rand(12, 3).astype("float32"), np.zeros((12, 1), "float32")
    train, val = split_dataset((x, y), left_size=0.75)
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(train, validation_data=val, batch_size=4, epochs=1, verbose=0)
    assert "val_loss" in history.history


def test_errors():
    with pytest.raises(ConfigError, match="at least one"):
        split_dataset(np.zeros(4))
    with pytest.raises(ConfigError, match="smaller than 4"):
        split_dataset(np.zeros(4), left_size=4)
    with pytest.raises(ConfigError, match="more than the dataset length"):
        split_dataset(np.zeros(4), left_size=3, right_size=2)
    with pytest.raises(InputError, match="same"):
        split_dataset((np.zeros(4), np.zeros(3)), left_size=1)
    with pytest.raises(InputError, match="torch Dataset"):
        split_dataset("abc", left_size=1)
