import numpy as np
import pytest

import loom
from loom.errors import ConfigError
from loom.utils import timeseries_dataset_from_array


def test_windows_targets_rate_and_indices():
    data = np.arange(20)
    ds = timeseries_dataset_from_array(data, data * 10, sequence_length=3, sampling_rate=2, sequence_stride=2,
                                       start_index=2, end_index=15, batch_size=3)
    x, y = ds[0]
    assert x.tolist() == [[2, 4, 6], [4, 6, 8], [6, 8, 10]] and y.tolist() == [20, 40, 60]
    assert sum(len(b[0]) for b in ds) == 5  # windows start at 2, 4, ..., 10 (the last ends at 14 < 15)


def test_shuffle_is_a_seeded_permutation():
    data = np.arange(30, dtype="float32").reshape(15, 2)
    ds = timeseries_dataset_from_array(data, None, 4, shuffle=True, seed=5, batch_size=None)
    firsts = sorted(float(w[0, 0]) for w in ds)
    assert firsts == [float(2 * i) for i in range(12)]


def test_fit_end_to_end():
    series = np.sin(np.arange(100, dtype="float32") / 5)[:, None]
    ds = timeseries_dataset_from_array(series[:-5], series[5:, 0], sequence_length=5, batch_size=16)
    model = loom.Sequential([loom.Input((5, 1)), loom.layers.Flatten(), loom.layers.Dense(1)])
    model.compile("adam", "mse")
    assert len(model.fit(ds, epochs=2, verbose=0).history["loss"]) == 2


def test_errors():
    with pytest.raises(ConfigError, match="sampling_rate"):
        timeseries_dataset_from_array(np.arange(5), None, 2, sampling_rate=0)
    with pytest.raises(ConfigError, match="start_index"):
        timeseries_dataset_from_array(np.arange(5), None, 2, start_index=7)


@pytest.mark.parametrize("kwargs", [dict(), dict(sampling_rate=2, sequence_stride=3, start_index=1, end_index=18)])
def test_matches_keras_with_tensorflow(kwargs):
    pytest.importorskip("tensorflow")
    from tests.keras_oracle import keras
    data = np.arange(40, dtype="float32").reshape(20, 2)
    targets = np.arange(20) * 3
    ours = [(x.numpy(), y.numpy()) for x, y in timeseries_dataset_from_array(data, targets, 4, batch_size=5,
                                                                             **kwargs)]
    theirs = [(x.numpy(), y.numpy()) for x, y in keras.utils.timeseries_dataset_from_array(data, targets, 4,
                                                                                            batch_size=5, **kwargs)]
    for (ox, oy), (tx, ty) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(ox, tx)
        np.testing.assert_array_equal(oy, ty)
        assert ox.dtype == tx.dtype
