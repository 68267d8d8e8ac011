import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from loom.utils import text_dataset_from_directory
from tests.utils._files import write_texts


def test_texts_labels_order_and_max_length(tmp_path):
    root = write_texts(str(tmp_path))
    ds = text_dataset_from_directory(root, batch_size=4, shuffle=False, verbose=False)
    (x0, y0), (x1, y1) = list(ds)
    assert ds.class_names == ["neg", "pos"] and x0.shape == (4,) and y0.dtype == torch.int32
    assert x0[0] == "text neg number 0 " and y0.tolist() + y1.tolist() == [0, 0, 0, 1, 1, 1]
    short = text_dataset_from_directory(root, max_length=4, shuffle=False, label_mode=None, verbose=False)
    assert next(iter(short)).tolist()[:2] == ["text", "text"]


def test_map_and_fit_end_to_end(tmp_path):
    ds = text_dataset_from_directory(write_texts(str(tmp_path)), batch_size=3, seed=2, label_mode="binary",
                                     verbose=False)

    def vectorize(texts, labels):
        counts = torch.tensor([[len(t.split()), t.count("pos")] for t in texts], dtype=torch.float32)
        return counts, labels

    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    history = model.fit(ds.map(vectorize), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"][-1])


def test_errors(tmp_path):
    with pytest.raises(InputError, match="no subdirectories"):
        text_dataset_from_directory(str(tmp_path), verbose=False)
    root = write_texts(str(tmp_path / "t"))
    with pytest.raises(ConfigError, match="max_length"):
        text_dataset_from_directory(root, max_length=0, verbose=False)
    with pytest.raises(ConfigError, match="subset"):
        text_dataset_from_directory(root, validation_split=0.5, verbose=False)
    with pytest.raises(ConfigError, match="class_names"):
        text_dataset_from_directory(root, labels=None, class_names=["a"], verbose=False)


def test_matches_keras_with_tensorflow(tmp_path):
    pytest.importorskip("tensorflow")
    from tests.keras_oracle import keras
    root = write_texts(str(tmp_path), classes=("a", "b", "c"))
    kwargs = dict(batch_size=4, shuffle=False, label_mode="categorical", max_length=12, verbose=False)
    ours = [(x.tolist(), y.numpy()) for x, y in text_dataset_from_directory(root, **kwargs)]
    theirs = [([t.decode() for t in x.numpy()], y.numpy()) for x, y in
              keras.utils.text_dataset_from_directory(root, **kwargs)]
    for (ox, oy), (tx, ty) in zip(ours, theirs, strict=True):
        assert ox == tx
        np.testing.assert_array_equal(oy, ty)
