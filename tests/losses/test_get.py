"""Resolving loss identifiers: get, resolve ('crossentropy'/'ce'), serialize/deserialize."""

import pytest
import torch

from loom import losses
from loom.errors import ConfigError, UnsafeLoadError
from tests.keras_oracle import keras

KERAS_NAMES = ["mse", "mae", "mape", "msle", "kld", "MSE", "bce", "mean_squared_error", "mean_absolute_error",
               "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber", "log_cosh",
               "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy",
               "kl_divergence", "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine_similarity",
               "MeanSquaredError", "BinaryCrossentropy", "SparseCategoricalCrossentropy", "Huber", "LogCosh"]


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_get_resolves_every_keras_name_to_the_same_kind_of_object(name):
    ours, theirs = losses.get(name), keras.losses.get(name)
    if isinstance(theirs, keras.losses.Loss):
        assert type(ours).__name__ == type(theirs).__name__
        assert ours.name == theirs.name
    else:
        assert ours.__name__ == theirs.__name__


def test_get_passes_through_instances_functions_and_none_and_instantiates_classes():
    loss = losses.Huber(delta=2.0)
    assert losses.get(loss) is loss
    assert losses.get(losses.poisson) is losses.poisson
    assert losses.get(None) is None
    assert isinstance(losses.get(losses.Hinge), losses.Hinge)
    custom = lambda y_true, y_pred: (y_true - y_pred).abs()  # noqa: E731
    assert losses.get(custom) is custom


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match="Unknown loss 'mean_error'.*mean_squared_error"):
        losses.get("mean_error")
    with pytest.raises(ConfigError):
        losses.get(42)


def test_serialize_round_trip_for_objects_and_functions():
    loss = losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1, name="bce")
    clone = losses.deserialize(losses.serialize(loss))
    assert isinstance(clone, losses.BinaryCrossentropy) and clone.get_config() == loss.get_config()
    assert losses.serialize(losses.mean_squared_error) == "mean_squared_error"
    assert losses.deserialize("mean_squared_error") is losses.mean_squared_error
    assert losses.get({"class_name": "Huber", "config": {"delta": 3.0}}).delta == 3.0


def test_keras_written_configs_load():
    config = keras.losses.serialize(keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
    assert losses.deserialize(config).label_smoothing == 0.1
    assert losses.deserialize(keras.losses.serialize(keras.losses.mean_squared_error)) is losses.mse


def test_deserialize_unregistered_custom_class_is_refused():
    with pytest.raises(UnsafeLoadError):
        losses.deserialize({"class_name": "my_pkg>MyLoss", "config": {}})


@pytest.mark.parametrize("identifier", ["crossentropy", "ce", "CE"])
@pytest.mark.parametrize("y_true_shape,y_pred_shape,expected", [
    ((None, 1), (None, 1), "binary_crossentropy"),
    ((None,), (None, 10), "sparse_categorical_crossentropy"),
    ((None, 1), (None, 10), "sparse_categorical_crossentropy"),
    ((None, 10), (None, 10), "categorical_crossentropy"),
])
def test_resolve_crossentropy_from_shapes(identifier, y_true_shape, y_pred_shape, expected):
    loss = losses.resolve(identifier, y_true_shape, y_pred_shape)
    assert loss.fn.__name__ == expected
    assert loss.name == identifier


def test_resolve_wraps_functions_and_keeps_the_users_name():
    loss = losses.resolve("mse")
    assert isinstance(loss, losses.LossFunctionWrapper) and loss.name == "mse"
    assert loss(torch.zeros(2, 1), torch.ones(2, 1)).item() == 1.0
    obj = losses.MeanAbsoluteError()
    assert losses.resolve(obj) is obj
    assert losses.resolve(losses.poisson).name == "poisson"
