"""Shared check for the catalogue losses: a loom loss class against Keras's on the same inputs."""

import numpy as np
import torch

from loom import losses
from tests.keras_oracle import keras

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", None]


def assert_matches_keras(cls_name, kwargs, y_true, y_pred, sample_weight=None, rtol=1e-5, atol=1e-6):
    """Loss value (each reduction), function form, name and config equal Keras's."""
    for reduction in REDUCTIONS:
        theirs = getattr(keras.losses, cls_name)(**kwargs, reduction=reduction)
        ours = getattr(losses, cls_name)(**kwargs, reduction=reduction)
        expected = keras.ops.convert_to_numpy(theirs(y_true, y_pred, sample_weight=sample_weight))
        got = ours(torch.tensor(y_true), torch.tensor(y_pred),
                   sample_weight=None if sample_weight is None else torch.tensor(sample_weight))
        assert tuple(got.shape) == expected.shape, reduction
        np.testing.assert_allclose(got.detach().numpy(), expected, rtol=rtol, atol=atol, err_msg=str(reduction))
    ours, theirs = getattr(losses, cls_name)(**kwargs), getattr(keras.losses, cls_name)(**kwargs)
    assert ours.name == theirs.name
    assert ours.get_config() == {k: v for k, v in theirs.get_config().items() if k != "dtype"}
    clone = losses.deserialize(losses.serialize(ours))
    np.testing.assert_allclose(clone(y_true, y_pred).numpy(), ours(y_true, y_pred).numpy())


def assert_function_matches_keras(fn_name, y_true, y_pred, rtol=1e-5, atol=1e-6, **kwargs):
    t = keras.ops.convert_to_tensor
    expected = keras.ops.convert_to_numpy(getattr(keras.losses, fn_name)(t(y_true), t(y_pred), **kwargs))
    got = getattr(losses, fn_name)(torch.tensor(y_true), torch.tensor(y_pred), **kwargs)
    np.testing.assert_allclose(got.numpy(), expected, rtol=rtol, atol=atol)
    assert losses.get(fn_name) is getattr(losses, fn_name)
