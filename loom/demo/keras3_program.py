"""Demo step: a Keras 3 program as written for Keras's torch backend, run unchanged: a metric written with
``keras.ops`` and ``add_weight``, a ``train_step`` override compiled without a loss, and the model saved as a
Keras 3 ``.keras`` archive (the file Keras itself opens) and loaded back."""

from __future__ import annotations

import os

import numpy as np
import torch

import loom as keras
from loom import layers, ops


class RootMeanSquaredError(keras.metrics.Metric):
    """RMSE between one-hot labels and predicted probabilities (the 3rd edition's custom metric)."""

    def __init__(self, name="rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.mse_sum = self.add_weight(name="mse_sum", initializer="zeros")
        self.total_samples = self.add_weight(name="total_samples", initializer="zeros", dtype="int32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.one_hot(y_true, num_classes=ops.shape(y_pred)[1])
        self.mse_sum.assign_add(ops.sum(ops.square(y_true - y_pred)))
        self.total_samples.assign_add(ops.shape(y_pred)[0])

    def result(self):
        return ops.sqrt(self.mse_sum / ops.cast(self.total_samples, "float32"))


class CustomModel(keras.Model):
    """A functional model whose train_step computes its own loss and applies its own update."""

    def train_step(self, data):
        x, y = data
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.loss_fn(y, y_pred)
        loss.backward()
        weights = list(self.trainable_weights)
        with torch.no_grad():
            self.optimizer.apply([w.value.grad for w in weights], weights)
        self.loss_tracker.update_state(loss)
        self.rmse.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.loss_tracker, self.rmse]  # fit() resets them at each epoch


def run(ctx) -> None:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28))
    x = layers.Dense(128, activation="relu")(layers.Flatten()(inputs))
    model = CustomModel(inputs, layers.Dense(10, activation="softmax")(x))
    model.loss_fn = keras.losses.SparseCategoricalCrossentropy()
    model.loss_tracker, model.rmse = keras.metrics.Mean(name="loss"), RootMeanSquaredError()
    model.compile(optimizer=keras.optimizers.RMSprop())  # no loss: train_step computes it
    history = model.fit(ctx.x_train, ctx.y_train, batch_size=128, epochs=ctx.epochs(2), verbose=2)
    path = os.path.join(ctx.workdir, "keras3_program.keras")
    model.save(path)
    reloaded = keras.models.load_model(path, custom_objects={"CustomModel": CustomModel}, compile=False)
    same = np.allclose(model.predict(ctx.x_test[:256], verbose=0), reloaded.predict(ctx.x_test[:256], verbose=0))
    logs = {key: values[-1] for key, values in history.history.items()}
    print(f"train_step override: final loss {logs['loss']:.4f}, rmse {logs['rmse']:.4f}; saved as a Keras 3 "
          f"archive {path}; reloaded predictions identical: {same}")
    ctx.results["keras3_program_rmse"] = round(float(logs["rmse"]), 4)
