"""DLwP 3rd edition, 7.4: customizing what fit() does, as Keras 3 on PyTorch writes it.

A custom metric written with keras.ops and add_weight / update_state / result / reset_state; a Model subclass whose
train_step computes its own loss, updates its weights with optimizer.apply and reports its own trackers
(compiled without a loss); and the same training as a hand-written loop reading each weight's .value.grad."""

import numpy as np
import torch

import loom as keras
from loom import layers, ops
from _common import parse_args

args = parse_args(__doc__)
n = 320 if args.smoke else 20000
epochs = 2 if args.smoke else 5
rng = np.random.default_rng(0)
x = rng.random((n, 28 * 28)).astype("float32")
y = (x[:, :10].argmax(axis=1)).astype("int64")  # a learnable 10-class target
x_train, y_train, x_val, y_val = x[n // 5:], y[n // 5:], x[: n // 5], y[: n // 5]


class RootMeanSquaredError(keras.metrics.Metric):
    """RMSE between one-hot targets and predicted probabilities, with its state in two variables."""

    def __init__(self, name="rmse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.mse_sum = self.add_weight(name="mse_sum", initializer="zeros")
        self.total_samples = self.add_weight(name="total_samples", initializer="zeros", dtype="int32")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.one_hot(y_true, num_classes=ops.shape(y_pred)[1])
        mse = ops.sum(ops.square(y_true - y_pred))
        self.mse_sum.assign_add(mse)
        num_samples = ops.shape(y_pred)[0]
        self.total_samples.assign_add(num_samples)

    def result(self):
        return ops.sqrt(self.mse_sum / ops.cast(self.total_samples, "float32"))

    def reset_state(self):
        self.mse_sum.assign(0.0)
        self.total_samples.assign(0)


def get_mnist_like_model(model_class=keras.Model):
    inputs = keras.Input(shape=(28 * 28,))
    features = layers.Dense(512, activation="relu")(inputs)
    features = layers.Dropout(0.5)(features)
    outputs = layers.Dense(10, activation="softmax")(features)
    return model_class(inputs, outputs)


# 1. The custom metric in compile(), with the built-in step.
model = get_mnist_like_model()
model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy",
                                                                                   RootMeanSquaredError()])
model.fit(x_train, y_train, epochs=epochs, batch_size=128, validation_data=(x_val, y_val), verbose=2)
print("evaluate:", model.evaluate(x_val, y_val, verbose=0, return_dict=True))

# 2. A train_step of our own; compile() gets only the optimizer.
loss_fn = keras.losses.SparseCategoricalCrossentropy()
loss_tracker = keras.metrics.Mean(name="loss")


class CustomModel(keras.Model):
    def train_step(self, data):
        inputs, targets = data
        self.zero_grad()
        predictions = self(inputs, training=True)
        loss = loss_fn(targets, predictions)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, trainable_weights)
        loss_tracker.update_state(loss)
        return {"loss": loss_tracker.result()}

    @property
    def metrics(self):
        return [loss_tracker]  # reset by fit() at the start of each epoch


model = get_mnist_like_model(CustomModel)
model.compile(optimizer=keras.optimizers.RMSprop())
history = model.fit(x_train, y_train, epochs=epochs, batch_size=128, verbose=0)
print("custom train_step losses:", [round(v, 4) for v in history.history["loss"]])

# 3. The same update in a loop written by hand.
model = get_mnist_like_model()
optimizer = keras.optimizers.RMSprop()
for epoch in range(epochs):
    loss_tracker.reset_state()
    for start in range(0, len(x_train), 128):
        inputs, targets = x_train[start:start + 128], torch.as_tensor(y_train[start:start + 128])
        model.zero_grad()
        loss = loss_fn(targets, model(inputs, training=True))
        loss.backward()
        gradients = [v.value.grad for v in model.trainable_weights]
        with torch.no_grad():
            optimizer.apply(gradients, model.trainable_weights)
        loss_tracker.update_state(loss.detach())
    print(f"hand-written loop, epoch {epoch + 1}: loss {float(loss_tracker.result()):.4f}")
