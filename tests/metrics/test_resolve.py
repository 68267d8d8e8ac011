"""Resolving metric identifiers: get, resolve ('accuracy'/'acc', 'crossentropy'/'ce'), serialization."""

import pytest

from loom import losses, metrics
from loom.errors import ConfigError
from tests.keras_oracle import keras


@pytest.mark.parametrize("name", ["mse", "mae", "mape", "msle", "bce", "MSE", "auc", "AUC", "precision", "recall",
                                  "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                                  "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
                                  "root_mean_squared_error", "mean_squared_error", "kl_divergence", "accuracy",
                                  "RootMeanSquaredError", "categorical_crossentropy", "log_cosh_error"])
def test_get_matches_keras(name):
    keras.backend.clear_session()
    ours, theirs = metrics.get(name), keras.metrics.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert ours.name == theirs.name


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError, match="Unknown metric 'acuracy'.*binary_accuracy"):
        metrics.get("acuracy")


# (y_true shape, y_pred shape, loss, expected accuracy class) as Keras's compile picks them (+ the loss hint).
ACC_CASES = [
    ((None, 1), (None, 1), None, "BinaryAccuracy"),
    ((None,), (None, 1), None, "BinaryAccuracy"),
    ((None,), (None, 10), None, "SparseCategoricalAccuracy"),
    ((None, 1), (None, 10), None, "SparseCategoricalAccuracy"),
    ((None, 20), (None, 20, 5), None, "SparseCategoricalAccuracy"),
    ((None, 10), (None, 10), None, "CategoricalAccuracy"),
    ((None, 10), (None, 10), "binary_crossentropy", "BinaryAccuracy"),
    ((None, 10), (None, 10), losses.BinaryCrossentropy(from_logits=True), "BinaryAccuracy"),
    ((None, 10), (None, 10), losses.CategoricalCrossentropy(), "CategoricalAccuracy"),
]


@pytest.mark.parametrize("identifier", ["accuracy", "acc", "Accuracy"])
@pytest.mark.parametrize("y_true_shape,y_pred_shape,loss,expected", ACC_CASES)
def test_accuracy_resolution(identifier, y_true_shape, y_pred_shape, loss, expected):
    metric = metrics.resolve(identifier, y_true_shape, y_pred_shape, loss=loss)
    assert type(metric).__name__ == expected
    assert metric.name == identifier


@pytest.mark.parametrize("y_true_shape,y_pred_shape,loss,expected", [c for c in ACC_CASES if c[2] is None])
def test_accuracy_resolution_agrees_with_keras_compile(y_true_shape, y_pred_shape, loss, expected):
    from keras.src.trainers.compile_utils import get_metric

    class Shaped:
        def __init__(self, shape):
            self.shape = shape
    assert type(get_metric("acc", Shaped(y_true_shape), Shaped(y_pred_shape))).__name__ == expected


@pytest.mark.parametrize("y_true_shape,y_pred_shape,expected", [
    ((None, 1), (None, 1), "BinaryCrossentropy"), ((None,), (None, 4), "SparseCategoricalCrossentropy"),
    ((None, 4), (None, 4), "CategoricalCrossentropy")])
def test_crossentropy_resolution(y_true_shape, y_pred_shape, expected):
    metric = metrics.resolve("ce", y_true_shape, y_pred_shape)
    assert type(metric).__name__ == expected and metric.name == "ce"


def test_resolve_keeps_user_strings_as_names_and_wraps_functions():
    assert metrics.resolve("mae").name == "mae"
    assert isinstance(metrics.resolve("mae"), metrics.MeanAbsoluteError)
    wrapped = metrics.resolve(losses.mean_absolute_error)
    assert isinstance(wrapped, metrics.MeanMetricWrapper) and wrapped.name == "mean_absolute_error"
    auc = metrics.AUC(name="my_auc")
    assert metrics.resolve(auc) is auc and auc.name == "my_auc"


def test_resolve_errors_are_config_errors():
    with pytest.raises(ConfigError, match="shapes"):
        metrics.resolve("accuracy")
    with pytest.raises(ConfigError):
        metrics.resolve(None)


def test_serialize_round_trip_and_keras_configs():
    m = metrics.AUC(curve="PR", num_thresholds=20, name="pr")
    clone = metrics.deserialize(metrics.serialize(m))
    assert clone.get_config() == m.get_config()
    keras_config = keras.metrics.serialize(keras.metrics.BinaryAccuracy(threshold=0.3))
    assert metrics.deserialize(keras_config).threshold == 0.3
