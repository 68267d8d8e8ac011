"""Parity of a catalogue metric with Keras: results over batches (with weights), reset, name and config."""

import numpy as np

from loom import metrics
from tests.keras_oracle import keras
from tests.metrics.helpers import assert_parity


def check(cls_name, kwargs, batches, rtol=1e-5, atol=1e-6):
    ours, theirs = getattr(metrics, cls_name)(**kwargs), getattr(keras.metrics, cls_name)(**kwargs)
    assert_parity(ours, theirs, batches, rtol=rtol, atol=atol)
    config, keras_config = ours.get_config(), theirs.get_config()
    assert set(config) == set(keras_config)
    for key, value in keras_config.items():
        if key != "name":
            assert config[key] == (list(value) if isinstance(value, tuple) else value), key
    expected = _result(getattr(metrics, cls_name)(**kwargs), batches)
    for config in (metrics.serialize(ours), keras.metrics.serialize(theirs)):  # loom's and Keras's configs
        np.testing.assert_allclose(_result(metrics.deserialize(config), batches), expected, rtol=rtol, atol=atol)


def _result(metric, batches):
    for y_true, y_pred, weight in batches:
        metric.update_state(y_true, y_pred, sample_weight=weight)
    return metric.result().numpy()
