"""DLwP 7.2.1: callbacks. EarlyStopping + ModelCheckpoint, ReduceLROnPlateau, and the book's custom
ActivationLogger, which reads self.validation_data to save every layer's activations after each epoch."""

import os

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
n = 256 if args.smoke else 4000
epochs = 3 if args.smoke else 20
rng = np.random.default_rng(0)
x = rng.random((n, 32)).astype("float32")
y = (x[:, :4].sum(axis=1) > 2).astype("float32")  # a learnable binary target
x_val, y_val = x[: n // 4], y[: n // 4]
x_train, y_train = x[n // 4:], y[n // 4:]


def build_model():
    inputs = keras.Input(shape=(32,), name="features")
    h = layers.Dense(32, activation="relu", name="hidden_1")(inputs)
    h = layers.Dense(16, activation="relu", name="hidden_2")(h)
    outputs = layers.Dense(1, activation="sigmoid", name="score")(h)
    return keras.Model(inputs, outputs)


# Interrupt training when accuracy has stopped improving for more than one epoch, and keep the best model.
callbacks_list = [
    keras.callbacks.EarlyStopping(monitor="acc", patience=1),
    keras.callbacks.ModelCheckpoint(filepath="my_model.loom", monitor="val_loss", save_best_only=True),
]
model = build_model()
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
history = model.fit(x_train, y_train, epochs=epochs, batch_size=32, callbacks=callbacks_list,
                    validation_data=(x_val, y_val), verbose=2)
best = keras.models.load_model("my_model.loom")
print("best checkpoint val loss:", best.evaluate(x_val, y_val, verbose=0)[0],
      "| lowest val_loss seen:", min(history.history["val_loss"]))

# Reduce the learning rate when the validation loss has stopped improving.
callbacks_list = [keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10)]
model = build_model()
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
model.fit(x_train, y_train, epochs=epochs, batch_size=32, callbacks=callbacks_list,
          validation_data=(x_val, y_val), verbose=0)


class ActivationLogger(keras.callbacks.Callback):
    """Saves to disk, after each epoch, the activations of every layer on the first validation sample."""

    def set_model(self, model):
        self.model = model  # called by the parent model before training, to tell the callback who calls it
        layer_outputs = [layer.output for layer in model.layers]
        self.activations_model = keras.models.Model(model.input, layer_outputs)

    def on_epoch_end(self, epoch, logs=None):
        if self.validation_data is None:
            raise RuntimeError("Requires validation_data.")
        validation_sample = self.validation_data[0][0:1]
        activations = self.activations_model.predict(validation_sample, verbose=0)
        np.savez("activations_at_epoch_" + str(epoch) + ".npz", *activations)


model = build_model()
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])
model.fit(x_train, y_train, epochs=2, batch_size=32, validation_data=(x_val, y_val), verbose=0,
          callbacks=[ActivationLogger()])
saved = np.load("activations_at_epoch_1.npz")
print("saved activations:", sorted(f for f in os.listdir(".") if f.startswith("activations_")),
      [saved[k].shape for k in saved.files])
