"""One trial: the best epoch and its weights, the hyperparameters TensorBoard accepts, model checks."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from loom.tuning.trial import BestEpoch, check_model, tensorboard_hparams


def test_best_epoch_keeps_the_weights_of_the_best_epoch():
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
    keeper = BestEpoch("val_acc", "max")
    keeper.set_model(model)
    keeper.on_train_begin()
    values = [0.5, 0.8, float("nan"), 0.7]
    snapshots = []
    for epoch, value in enumerate(values):
        with torch.no_grad():
            model.layers[-1].kernel.add_(1.0)
        snapshots.append(model.get_weights())
        keeper.on_epoch_end(epoch, {"val_acc": value, "loss": 1.0})
    assert keeper.best == 0.8 and keeper.best_epoch == 1 and keeper.epochs_run == 4
    assert keeper.best_logs == {"val_acc": 0.8, "loss": 1.0}
    keeper.restore(model)
    for got, expected in zip(model.get_weights(), snapshots[1]):
        np.testing.assert_array_equal(got, expected)


def test_best_epoch_ignores_epochs_without_the_objective():
    keeper = BestEpoch("val_loss", "min", keep_weights=False)
    keeper.on_epoch_end(0, {"loss": 0.1})
    assert keeper.best is None and keeper.seen_keys == ["loss"]


def test_tensorboard_hparams_turns_other_values_into_text():
    assert tensorboard_hparams({"a": 1, "b": None, "c": "relu", "d": True}) == {"a": 1, "b": "None", "c": "relu",
                                                                               "d": True}


def test_check_model_wants_a_compiled_model():
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
    with pytest.raises(ConfigError, match="not compiled"):
        check_model(model, "build(hp)")
    with pytest.raises(ConfigError, match="compiled loom model"):
        check_model([model], "build(hp)")
    model.compile(optimizer="sgd", loss="mse")
    check_model(model, "build(hp)")
