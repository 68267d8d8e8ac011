import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from loom.training.prepare import _class_weight_to_sample_weights, _split_originals


def test_class_weights_from_labels_and_one_hot_like_keras():
    labels = torch.tensor([0, 2, 1, 2])
    weights = {0: 0.5, 2: 3.0}
    assert _class_weight_to_sample_weights([labels], weights)[0].tolist() == [0.5, 3.0, 1.0, 3.0]
    one_hot = torch.eye(3)[labels]
    assert _class_weight_to_sample_weights([one_hot], weights)[0].tolist() == [0.5, 3.0, 1.0, 3.0]
    column = labels.float().reshape(4, 1)
    assert _class_weight_to_sample_weights([column], weights)[0].tolist() == [0.5, 3.0, 1.0, 3.0]
    with pytest.raises(ConfigError):
        _class_weight_to_sample_weights([labels, labels], weights)


def test_split_originals_keep_the_users_types():
    x = {"a": np.arange(10), "b": np.arange(10) * 2}
    vx, vy = _split_originals(8, x, np.arange(10), None)
    assert vx["a"].tolist() == [8, 9] and vx["b"].tolist() == [16, 18] and vy.tolist() == [8, 9]


def test_source_converts_once_and_builds_sequential():
    model = loom.Sequential([loom.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    data = model._source(np.zeros((4, 3)), np.array([0, 1, 1, 0], dtype="int32"), None, None, None,
                         shuffle=False, needs_targets=True)
    assert model.input_shape == (None, 3)
    assert data.xs[0].dtype == torch.float32 and data.ys[0].dtype == torch.int64
    with pytest.raises(InputError, match="required"):
        model._source(np.zeros((4, 3)), None, None, None, None, shuffle=False, needs_targets=True)
    with pytest.raises(InputError, match="do not pass y"):
        model._source(iter([]), np.zeros(3), None, None, None, shuffle=False, needs_targets=True)
