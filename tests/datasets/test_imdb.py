"""IMDB loading from small pickle-free files: Keras's num_words/skip_top/maxlen/oov semantics, and refusals."""

import itertools
import json
import os

import numpy as np
import pytest

from loom.datasets import imdb
from loom.errors import ConfigError, DatasetNotFoundError, InputError


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch, tmp_path):
    monkeypatch.delenv(imdb.ENV_VAR, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))


def make_reviews(num_reviews, seed, min_length=1, max_length=15, vocabulary=40):
    """Raw reviews as Keras's file stores them: lists of 1-based frequency ranks, small ranks most common."""
    rng = np.random.RandomState(seed)
    reviews = []
    for _ in range(num_reviews):
        length = rng.randint(min_length, max_length + 1)
        reviews.append([int(w) for w in np.minimum(rng.zipf(1.3, size=length), vocabulary)])
    return reviews, rng.randint(0, 2, size=num_reviews)


@pytest.fixture
def raw_data():
    x_train, y_train = make_reviews(30, seed=1)
    x_test, y_test = make_reviews(20, seed=2)
    return x_train, y_train, x_test, y_test


@pytest.fixture
def loom_file(tmp_path, raw_data):
    path = tmp_path / "imdb_loom.npz"
    imdb.save_npz(path, *raw_data)
    return path


def reference_load_data(x_train, labels_train, x_test, labels_test, num_words=None, skip_top=0, maxlen=None,
                        seed=113, start_char=1, oov_char=2, index_from=3):
    """Keras's algorithm (keras.datasets.imdb.load_data), step by step on Python lists."""
    rng = np.random.RandomState(seed)
    indices = np.arange(len(x_train))
    rng.shuffle(indices)
    x_train, labels_train = [x_train[i] for i in indices], np.asarray(labels_train)[indices]
    indices = np.arange(len(x_test))
    rng.shuffle(indices)
    x_test, labels_test = [x_test[i] for i in indices], np.asarray(labels_test)[indices]

    start = [] if start_char is None else [start_char]
    x_train = [start + [w + index_from for w in x] for x in x_train]
    x_test = [start + [w + index_from for w in x] for x in x_test]

    if maxlen:
        kept_train = [i for i, x in enumerate(x_train) if len(x) < maxlen]
        kept_test = [i for i, x in enumerate(x_test) if len(x) < maxlen]
        x_train, labels_train = [x_train[i] for i in kept_train], labels_train[kept_train]
        x_test, labels_test = [x_test[i] for i in kept_test], labels_test[kept_test]

    xs = x_train + x_test
    if not num_words:
        num_words = max(max(x) for x in xs)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    return (xs[: len(x_train)], labels_train), (xs[len(x_train):], labels_test)


def assert_same(loaded, expected):
    for (x, y), (x_ref, y_ref) in zip(loaded, expected):
        assert isinstance(x, np.ndarray) and x.dtype == object and x.ndim == 1
        assert list(x) == x_ref
        assert all(type(w) is int for review in x for w in review)
        np.testing.assert_array_equal(y, y_ref)


GRID = list(itertools.product([None, 10, 30], [0, 5], [None, 9], [(1, 2, 3), (None, None, 0), (1, None, 2)]))


@pytest.mark.parametrize("num_words, skip_top, maxlen, marks", GRID)
def test_matches_keras_algorithm(loom_file, raw_data, num_words, skip_top, maxlen, marks):
    start_char, oov_char, index_from = marks
    kwargs = dict(num_words=num_words, skip_top=skip_top, maxlen=maxlen, start_char=start_char,
                  oov_char=oov_char, index_from=index_from)
    assert_same(imdb.load_data(loom_file, **kwargs), reference_load_data(*raw_data, **kwargs))


@pytest.mark.parametrize("seed", [0, 7, 113])
def test_seed_fixes_the_shuffle(loom_file, raw_data, seed):
    assert_same(imdb.load_data(loom_file, seed=seed), reference_load_data(*raw_data, seed=seed))


def test_keras_semantics_spelled_out(tmp_path):
    path = tmp_path / "tiny.npz"
    imdb.save_npz(path, [[1, 2, 7], [3]], [1, 0], [[4, 9]], [0])
    (x_train, y_train), (x_test, _) = imdb.load_data(path, num_words=8, skip_top=4, seed=0)
    by_label = dict(zip(y_train.tolist(), x_train))
    # +3 (index_from), start mark 1, then kept only when 4 <= w < 8, else 2 (oov); note 1 itself is < skip_top.
    assert by_label[1] == [2, 4, 5, 2]
    assert by_label[0] == [2, 6]
    assert list(x_test) == [[2, 7, 2]]


def test_default_num_words_puts_the_largest_index_out_of_vocabulary(tmp_path):
    path = tmp_path / "tiny.npz"
    imdb.save_npz(path, [[1, 5]], [1], [[2]], [0])
    (x_train, _), _ = imdb.load_data(path)
    assert list(x_train) == [[1, 4, 2]]  # 5 + 3 = 8 is the maximum, so 8 < num_words=8 fails, as in Keras


def test_empty_reviews_are_kept(tmp_path):
    path = tmp_path / "tiny.npz"
    imdb.save_npz(path, [[], [4], []], [0, 1, 0], [[]], [1])
    (x_train, y_train), (x_test, y_test) = imdb.load_data(path, num_words=100, seed=0)
    assert sorted(map(len, x_train)) == [1, 1, 2] and list(x_test) == [[1]]


def test_reviews_of_equal_length_still_give_a_1d_array_of_lists(tmp_path):
    path = tmp_path / "tiny.npz"
    imdb.save_npz(path, [[4, 5], [6, 7]], [0, 1], [[8, 9]], [1])
    (x_train, _), _ = imdb.load_data(path, num_words=100)
    assert x_train.shape == (2,) and all(isinstance(review, list) for review in x_train)


def test_matches_keras_itself(tmp_path, monkeypatch, raw_data):
    """Keras reading its own (pickled) layout of the same data gives what loom gives from its layout."""
    from tests.keras_oracle import keras  # noqa: F401
    import keras.src.datasets.imdb as keras_imdb

    x_train, y_train, x_test, y_test = raw_data
    keras_file = tmp_path / "imdb.npz"
    as_objects = lambda reviews: np.array(reviews + [[]], dtype=object)[:-1]  # noqa: E731
    np.savez(keras_file, x_train=as_objects(x_train), y_train=y_train, x_test=as_objects(x_test), y_test=y_test)
    monkeypatch.setattr(keras_imdb, "get_file", lambda **kwargs: str(keras_file))
    imdb.save_npz(tmp_path / "loom.npz", *raw_data)
    for kwargs in [{}, {"num_words": 12, "skip_top": 3}, {"maxlen": 10, "oov_char": None}]:
        expected = keras_imdb.load_data(**kwargs)
        assert_same(imdb.load_data(tmp_path / "loom.npz", **kwargs), [(list(x), y) for x, y in expected])


def test_save_npz_layout(tmp_path):
    imdb.save_npz(tmp_path / "a.npz", [[5, 6], [], [7]], [1, 0, 1], [[8]], [0])
    with np.load(tmp_path / "a.npz", allow_pickle=False) as f:
        assert f["x_train_values"].dtype == np.int32
        np.testing.assert_array_equal(f["x_train_values"], [5, 6, 7])
        np.testing.assert_array_equal(f["x_train_offsets"], [0, 2, 2, 3])
        np.testing.assert_array_equal(f["x_test_offsets"], [0, 1])
        np.testing.assert_array_equal(f["y_train"], [1, 0, 1])
    assert os.listdir(tmp_path) == ["a.npz"]


@pytest.mark.parametrize(
    "x_train, y_train, match",
    [([[1.5, 2]], [1], "non-negative integers"), ([[-1]], [1], "non-negative integers"), ([[1]], [1, 0], "y_train")],
)
def test_save_npz_refuses_bad_reviews(tmp_path, x_train, y_train, match):
    with pytest.raises(InputError, match=match):
        imdb.save_npz(tmp_path / "a.npz", x_train, y_train, [[1]], [0])
    assert not os.listdir(tmp_path)


def test_keras_pickled_layout_is_refused(tmp_path):
    ragged = np.array([[1, 2], [3]] + [[]], dtype=object)[:-1]
    np.savez(tmp_path / "imdb.npz", x_train=ragged, y_train=np.ones(2), x_test=ragged, y_test=np.ones(2))
    with pytest.raises(InputError, match="Keras's imdb.npz layout.*save_npz"):
        imdb.load_data(tmp_path / "imdb.npz")


def test_inconsistent_offsets_are_refused(tmp_path, loom_file):
    with np.load(loom_file) as f:
        arrays = dict(f)
    arrays["x_test_offsets"] = arrays["x_test_offsets"][::-1]
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(InputError, match="inconsistent test split"):
        imdb.load_data(tmp_path / "bad.npz")


def test_garbage_file_is_refused(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not an archive")
    with pytest.raises(InputError, match="bad.npz"):
        imdb.load_data(tmp_path / "bad.npz")


def test_maxlen_that_keeps_nothing(loom_file):
    with pytest.raises(ConfigError, match="Increase maxlen"):
        imdb.load_data(loom_file, maxlen=1)


def test_path_from_environment(loom_file, raw_data, monkeypatch):
    monkeypatch.setenv(imdb.ENV_VAR, str(loom_file))
    assert_same(imdb.load_data(num_words=20), reference_load_data(*raw_data, num_words=20))


def test_not_found_explains_the_conversion(tmp_path):
    for path in [None, tmp_path / "absent.npz"]:
        with pytest.raises(DatasetNotFoundError, match="save_npz") as info:
            imdb.load_data(path)
        assert isinstance(info.value, FileNotFoundError) and imdb.ENV_VAR in str(info.value)


def test_get_word_index(tmp_path):
    words = {"the": 1, "and": 2, "a": 3}
    (tmp_path / "index.json").write_text(json.dumps(words))
    assert imdb.get_word_index(tmp_path / "index.json") == words
    cache = tmp_path / "keras_home" / "datasets"
    cache.mkdir(parents=True)
    (cache / "imdb_word_index.json").write_text(json.dumps(words))
    assert imdb.get_word_index() == words


def test_get_word_index_errors(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="imdb_word_index.json"):
        imdb.get_word_index()
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="bad.json"):
        imdb.get_word_index(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="mapping words"):
        imdb.get_word_index(tmp_path / "list.json")
