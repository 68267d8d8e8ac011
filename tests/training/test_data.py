import numpy as np
import pytest
import torch

from loom.errors import ConfigError, InputError
from loom.training.data import (ArrayData, EpochIterator, IterableData, check_cardinality, flatten_named,
                                is_iterable_source, unpack_x_y_sample_weight)


def arrays(n=10):
    return ArrayData.from_arrays(np.arange(n * 2, dtype="float64").reshape(n, 2), np.arange(n),
                                 input_names=["x"], output_names=["y"])


def test_conversion_float64_becomes_float32_and_ints_stay():
    data = arrays()
    assert data.xs[0].dtype == torch.float32 and data.ys[0].dtype == torch.int64
    assert data.num_samples == 10 and data.sws is None


def test_batches_are_contiguous_views_without_shuffle():
    data = arrays()
    batches = list(data.batches(batch_size=4, shuffle=False))
    assert [b[0][0].shape[0] for b in batches] == [4, 4, 2]
    assert batches[0][0][0].data_ptr() == data.xs[0].data_ptr()  # a view, no copy
    assert torch.equal(torch.cat([b[1][0] for b in batches]), data.ys[0])


def test_shuffle_permutes_consistently_and_follows_the_torch_seed():
    data = arrays(50)
    torch.manual_seed(0)
    first = [b for b in data.batches(batch_size=50, shuffle=True)][0]
    xs, ys = first[0][0], first[1][0]
    assert not torch.equal(ys, data.ys[0])
    assert torch.equal(xs[:, 0], ys.float() * 2)  # rows stay paired with their targets
    torch.manual_seed(0)
    again = [b for b in data.batches(batch_size=50, shuffle=True)][0]
    assert torch.equal(again[1][0], ys)


def test_split_takes_the_last_fraction():
    train, val = arrays(10).split(0.3)
    assert train.num_samples == 7 and val.num_samples == 3
    assert val.ys[0].tolist() == [7, 8, 9]
    with pytest.raises(ConfigError):
        arrays(1).split(0.5)
    with pytest.raises(ConfigError):
        arrays().split(1.5)


def test_dicts_lists_and_errors():
    flat = flatten_named({"b": 2, "a": 1}, ["a", "b"], "x")
    assert flat == [1, 2]
    with pytest.raises(InputError, match=r"missing \['b'\]"):
        flatten_named({"a": 1}, ["a", "b"], "x")
    with pytest.raises(InputError, match="2 inputs"):
        flatten_named(np.zeros(3), ["a", "b"], "x")
    with pytest.raises(InputError, match="list of 3"):
        flatten_named([np.zeros(2)] * 3, ["a", "b"], "x")
    assert len(flatten_named([[1.0, 2.0], [3.0, 4.0]], ["a"], "x")) == 1  # nested numbers are one array


def test_cardinality_error_names_every_count():
    with pytest.raises(InputError, match="x has 3 samples; y has 4 samples"):
        check_cardinality({"x": [torch.zeros(3)], "y": [torch.zeros(4)]})


def test_sample_weight_replicated_over_outputs_and_validated():
    data = ArrayData.from_arrays(np.zeros((4, 2)), [np.zeros(4), np.zeros(4)], np.ones(4),
                                 input_names=["x"], output_names=["a", "b"])
    assert len(data.sws) == 2 and data.sws[0] is data.sws[1]
    with pytest.raises(InputError, match="one weight per sample"):
        ArrayData.from_arrays(np.zeros((4, 2)), [np.zeros(4), np.zeros(4)], np.ones((4, 3)),
                              input_names=["x"], output_names=["a", "b"])
    with pytest.raises(InputError, match="without targets"):
        ArrayData.from_arrays(np.zeros((4, 2)), None, np.ones(4))


def test_unpack_and_source_detection():
    assert unpack_x_y_sample_weight((1, 2)) == (1, 2, None)
    assert unpack_x_y_sample_weight(5) == (5, None, None)
    with pytest.raises(InputError):
        unpack_x_y_sample_weight((1, 2, 3, 4))
    assert is_iterable_source(iter([]))
    assert is_iterable_source(torch.utils.data.TensorDataset(torch.zeros(2)))
    assert not is_iterable_source(np.zeros(3)) and not is_iterable_source([np.zeros(3)])


def identity(x, y, sw):
    return [torch.as_tensor(x)], [torch.as_tensor(y)], None


def test_iterable_data_peek_keeps_the_first_batch_of_a_generator():
    gen = ((np.full((2, 1), i), np.full(2, i)) for i in range(3))
    data = IterableData(gen, None, False, identity)
    assert data.peek()[1].tolist() == [0, 0]
    assert [int(b[1][0][0]) for b in data.batches()] == [0, 1, 2]
    assert list(data.batches()) == []


def test_epoch_iterator_steps_per_epoch_continues_across_epochs():
    data = arrays(10)
    epochs = EpochIterator(data, batch_size=2, shuffle=False, steps_per_epoch=3)
    with pytest.warns(UserWarning, match="ran out of data"):
        seen = [[int(b[1][0][0]) for b in epochs] for _ in range(3)]
    assert seen == [[0, 2, 4], [6, 8], [0, 2, 4]]  # the pass ends early at the data's end, as Keras


def test_epoch_iterator_marks_an_exhausted_generator():
    gen = ((np.zeros((2, 1)), np.zeros(2)) for _ in range(2))
    epochs = EpochIterator(IterableData(gen, None, False, identity), None, False)
    assert len(list(epochs)) == 2
    with pytest.warns(UserWarning, match="ran out of data"):
        assert list(epochs) == []
    assert epochs.exhausted
