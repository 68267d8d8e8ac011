"""A fake model both loom's and Keras's callbacks can drive, and a loop that feeds them the same logs."""

import numpy as np


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate
        self.iterations = 0


class FakeModel:
    """What monitor-style callbacks touch: stop_training, optimizer.learning_rate, weights, save calls.

    The single weight holds the number of the epoch that produced it, so restored weights name their epoch.
    """

    def __init__(self, learning_rate=0.1):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.weights = [np.array([-1.0])]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, filepath, overwrite=True):
        self.saved.append(("model", filepath))

    def save_weights(self, filepath, overwrite=True):
        self.saved.append(("weights", filepath))


def drive(callback, model, epoch_logs, batches_per_epoch=0, batch_logs=None):
    """Run one fake ``fit``: hooks in Keras's order, one epoch per entry of ``epoch_logs`` until stopped.

    Returns:
        ``(epochs run, learning rate at the start of each epoch)``.
    """
    callback.set_model(model)
    callback.set_params({"epochs": len(epoch_logs), "steps": batches_per_epoch, "verbose": 0})
    callback.on_train_begin({})
    ran, rates = 0, []
    for epoch, logs in enumerate(epoch_logs):
        callback.on_epoch_begin(epoch, {})
        rates.append(float(model.optimizer.learning_rate))
        for batch in range(batches_per_epoch):
            callback.on_train_batch_begin(batch, {})
            model.optimizer.iterations += 1
            callback.on_train_batch_end(batch, dict(batch_logs or {"loss": 1.0}))
        model.weights = [np.array([float(epoch)])]
        callback.on_epoch_end(epoch, dict(logs))
        ran += 1
        if model.stop_training:
            break
    callback.on_train_end({})
    return ran, rates


def losses(values, key="val_loss"):
    return [{"loss": 1.0, key: v} for v in values]
