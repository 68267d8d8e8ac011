"""Image augmentation inside the model: a small convnet on scikit-learn's 8x8 digits.

The augmentation layers (RandomTranslation, RandomRotation, RandomZoom, RandomContrast) sit in the model after
Rescaling, so they run on every training batch and are the identity in evaluate / predict. The model is
saved as a .keras archive and reloaded with the same predictions."""

import pathlib
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
keras.utils.set_random_seed(0)
digits = load_digits()
x = digits.images.astype("float32")[..., None]  # (1797, 8, 8, 1), values 0..16
y = digits.target.astype("int64")
order = np.random.default_rng(0).permutation(len(x))
x, y = x[order], y[order]
n_train = 256 if args.smoke else 1400
x_train, y_train, x_test, y_test = x[:n_train], y[:n_train], x[n_train:], y[n_train:]
if args.smoke:
    x_test, y_test = x_test[:128], y_test[:128]

augmentation = keras.Sequential([
    layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=1),
    layers.RandomRotation(0.05, fill_mode="constant", seed=2),
    layers.RandomZoom(0.1, fill_mode="constant", seed=3),
    layers.RandomContrast(0.2, value_range=(0, 1), seed=4),
], name="augmentation")

inputs = keras.Input(shape=(8, 8, 1))
features = layers.Rescaling(1 / 16)(inputs)
features = augmentation(features)
features = layers.Conv2D(32, 3, padding="same", activation="relu")(features)
features = layers.MaxPooling2D(2)(features)
features = layers.Conv2D(64, 3, padding="same", activation="relu")(features)
features = layers.GlobalAveragePooling2D()(features)
outputs = layers.Dense(10, activation="softmax")(features)
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=3 if args.smoke else 25, batch_size=32, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f} (loss {loss:.3f})")

batch = x_test[:4] / 16
augmented = augmentation(batch, training=True)
print(f"augmentation changes training batches: {not np.allclose(augmented.detach().numpy(), batch)}; "
      f"inference is the identity: {np.allclose(augmentation(batch).detach().numpy(), batch)}")

with tempfile.TemporaryDirectory() as tmp:
    path = pathlib.Path(tmp) / "digits.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    same = np.allclose(reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), atol=1e-6)
    print(f"reloaded from {path.name}: same predictions: {same}")
if not args.smoke:
    assert accuracy > 0.85, accuracy  # about 0.9 after 25 epochs
