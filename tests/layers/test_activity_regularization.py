"""ActivityRegularization: identity output, Keras's penalty in losses and in fit, config, bad input."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def test_layer_checks_and_keras_parity():
    run_layer_test(loom.layers.ActivityRegularization, {"l1": 0.1, "l2": 0.2}, input_shape=(3, 4),
                   expected_output_shape=(3, 4), expected_num_trainable_weights=0,
                   keras_cls=keras.layers.ActivityRegularization, supports_masking=True)


def test_penalty_equals_keras():
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    keras_layer = keras.layers.ActivityRegularization(l1=0.1, l2=0.2)
    keras_layer(x)
    layer = loom.layers.ActivityRegularization(l1=0.1, l2=0.2)
    layer(torch.as_tensor(x))
    assert len(layer.losses) == 1
    np.testing.assert_allclose(layer.losses[0].item(), float(keras.ops.convert_to_numpy(keras_layer.losses[0])),
                               rtol=1e-6)


def test_penalty_of_the_last_call_is_in_model_losses():
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1, kernel_initializer="zeros",
                                                                 bias_initializer="ones"),
                             loom.layers.ActivityRegularization(l2=100.0)])
    model(np.ones((4, 2), dtype="float32"))
    assert [round(float(t.detach()), 4) for t in model.losses] == [100.0]  # 100 * sum(1**2) / batch of 4


def test_penalty_enters_the_loss_of_fit_and_evaluate():
    x, y = np.ones((4, 2), dtype="float32"), np.ones((4, 1), dtype="float32")
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1, kernel_initializer="zeros",
                                                                 bias_initializer="ones"),
                             loom.layers.ActivityRegularization(l2=100.0)])
    model.compile("sgd", "mse")
    assert model.evaluate(x, y, verbose=0) == pytest.approx(100.0)  # mse 0 + 100 * sum(1**2) / 4, as Keras
    assert model.train_on_batch(x, y) == pytest.approx(100.0)


def test_bad_factors():
    with pytest.raises(ConfigError, match="l1 must be a non-negative number"):
        loom.layers.ActivityRegularization(l1=-1.0)
