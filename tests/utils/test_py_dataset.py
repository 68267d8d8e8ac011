import threading

import numpy as np
import pytest

import loom
from loom.errors import ConfigError
from loom.utils import PyDataset, Sequence


class Batches(PyDataset):
    def __init__(self, n=4, **kwargs):
        super().__init__(**kwargs)
        self.n, self.epochs_begun, self.epochs_ended = n, 0, 0
        self.threads = set()

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        self.threads.add(threading.get_ident())
        x = np.full((2, 3), float(i), "float32")
        return x, x.sum(1, keepdims=True)

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


class Endless(PyDataset):
    @property
    def num_batches(self):
        return None

    def __getitem__(self, i):
        if i >= 3:
            raise IndexError(i)
        return np.full((1, 1), float(i), "float32")


def test_sequence_alias_and_in_order_with_threads():
    assert Sequence is PyDataset
    ds = Batches(n=6, workers=3, max_queue_size=2)
    assert [float(y[0, 0]) for _, y in ds] == [0.0, 3.0, 6.0, 9.0, 12.0, 15.0]
    assert ds.epochs_begun == ds.epochs_ended == 1


def test_processes_keep_order():
    ds = Batches(n=5, workers=2, use_multiprocessing=True)
    assert [float(x[0, 0]) for x, _ in ds] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_endless_dataset_stops_on_index_error():
    assert [float(x[0, 0]) for x in Endless()] == [0.0, 1.0, 2.0]


def test_fit_evaluate_predict_consume_it_with_workers():
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(1)])
    model.compile("sgd", "mse")
    ds = Batches(workers=2)
    model.fit(ds, epochs=2, verbose=0)
    assert ds.epochs_ended >= 2 and ds.epochs_begun >= 2
    assert np.isfinite(model.evaluate(ds, verbose=0))
    assert model.predict(Batches(n=3), verbose=0).shape == (6, 1)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="workers"):
        Batches(workers=0)
    with pytest.raises(ConfigError, match="max_queue_size"):
        Batches(max_queue_size=-1)


def test_fit_shuffles_the_batch_order_each_epoch_as_keras_and_evaluate_keeps_it():
    class Recording(Batches):
        def __init__(self, **kwargs):
            super().__init__(n=6, **kwargs)
            self.seen = []

        def __getitem__(self, i):
            self.seen.append(i)
            return super().__getitem__(i)

    inputs = loom.Input((3,))
    model = loom.Model(inputs, loom.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mse")
    data = Recording()
    model.fit(data, epochs=4, verbose=0)  # shuffle=True by default
    epochs = [data.seen[-24:][6 * e:6 * (e + 1)] for e in range(4)]
    assert all(sorted(e) == list(range(6)) for e in epochs)
    assert any(e != list(range(6)) for e in epochs)
    data.seen.clear()
    model.fit(data, epochs=2, shuffle=False, verbose=0)
    assert data.seen[-12:] == list(range(6)) * 2
    data.seen.clear()
    model.evaluate(data, verbose=0)
    assert data.seen[-6:] == list(range(6))
class Recorded(Batches):
    def __getitem__(self, i):
        self.seen.append(i)
        return super().__getitem__(i)


@pytest.mark.parametrize("workers", [1, 2])
def test_fit_shuffles_the_batch_order_each_epoch_as_keras(workers):
    """Keras's fit(shuffle=True) (the default) visits a finite PyDataset's batches in a random order."""
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(1)])
    model.compile("sgd", "mse")
    ds = Recorded(n=8, workers=workers)
    ds.seen = []
    model.fit(ds, epochs=3, verbose=0)
    epochs = [ds.seen[-24:][k * 8:(k + 1) * 8] for k in range(3)]
    assert all(sorted(e) == list(range(8)) for e in epochs)
    assert any(e != list(range(8)) for e in epochs) and epochs[0] != epochs[1]
    ds.seen = []
    model.fit(ds, epochs=2, shuffle=False, verbose=0)
    assert ds.seen[-16:] == list(range(8)) * 2
    for run in (model.evaluate, model.predict):
        ds.seen = []
        run(ds, verbose=0)
        assert ds.seen[-8:] == list(range(8))


def test_stand_ins_for_keras_tf_data_datasets_keep_their_order_in_fit(monkeypatch):
    from loom.utils.file_dataset import FileDataset
    from loom.utils.timeseries_dataset import TimeseriesDataset
    assert PyDataset.fit_shuffles_batches and not FileDataset.fit_shuffles_batches
    series = np.arange(20, dtype="float32")[:, None]
    ds = loom.utils.timeseries_dataset_from_array(series, series[2:, 0], sequence_length=2, batch_size=4)
    assert isinstance(ds, TimeseriesDataset)
    seen = []
    original = TimeseriesDataset.__getitem__
    monkeypatch.setattr(TimeseriesDataset, "__getitem__", lambda self, i: (seen.append(i), original(self, i))[1])
    model = loom.Sequential([loom.Input((2, 1)), loom.layers.Flatten(), loom.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(ds, epochs=2, verbose=0)
    assert seen[-10:] == list(range(5)) * 2  # 18 windows: 5 batches, in order both epochs
