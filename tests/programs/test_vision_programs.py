"""Keras 3 vision programs (keras.io examples and guides) run unchanged on loom, with Keras 3 (torch) as oracle.

Each test is a miniature of one program: the same layers, calls and training API a user writes, on tiny seeded
synthetic data. Where the program is deterministic the model is built in both libraries, the weights copied, and
losses / outputs / weights compared; elsewhere the test asserts properties (shapes, learning, round trips).
"""

import io
import contextlib

import numpy as np
import pytest
import torch

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def _pair(build):
    """The same program built in Keras and in loom, loom holding Keras's initial weights."""
    keras.utils.set_random_seed(1234)
    km = build(keras)
    lm = build(loom)
    lm.set_weights(km.get_weights())
    return km, lm


# ------------------------------------------------------------------------ 1. Simple MNIST convnet
def _mnist_convnet(lib, dropout: float = 0.5):
    return lib.Sequential([
        lib.Input(shape=(12, 12, 1)),
        lib.layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
        lib.layers.MaxPooling2D(pool_size=(2, 2)),
        lib.layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        lib.layers.MaxPooling2D(pool_size=(2, 2)),
        lib.layers.Flatten(),
        lib.layers.Dropout(dropout),
        lib.layers.Dense(3, activation="softmax"),
    ])


def _digits(n: int = 40, classes: int = 3):
    """Tiny 'digits': class k lights up row band k of a 12x12 image, plus noise."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, classes, size=(n,))
    x = rng.random((n, 12, 12, 1)).astype("float32") * 0.3
    for i, k in enumerate(y):
        x[i, 4 * k:4 * k + 4, :, 0] += 0.7
    return x, y


def test_mnist_convnet_fit_with_validation_split_and_evaluate_match_keras():
    x, y = _digits()
    results = {}
    km, lm = _pair(lambda lib: _mnist_convnet(lib, dropout=0.0))
    for lib, model in ((keras, km), (loom, lm)):
        y_cat = lib.utils.to_categorical(y, 3)
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        history = model.fit(x, y_cat, batch_size=8, epochs=2, validation_split=0.1, shuffle=False, verbose=0)
        score = model.evaluate(x, y_cat, verbose=0)
        results[lib] = history.history, score, model.get_weights()
    (k_hist, k_score, k_weights), (l_hist, l_score, l_weights) = results[keras], results[loom]
    assert sorted(l_hist) == sorted(k_hist) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in k_hist:
        assert_allclose_scaled(l_hist[key], k_hist[key], err_msg=key)
    assert isinstance(l_score, list) and len(l_score) == 2  # [test loss, test accuracy]
    assert_allclose_scaled(l_score, k_score)
    assert_weights_close(l_weights, k_weights)


def test_mnist_convnet_with_dropout_learns_and_summary_counts_params():
    x, y = _digits(n=96)
    model = _mnist_convnet(loom)
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    text = "\n".join(lines)
    k_lines = []
    _mnist_convnet(keras).summary(print_fn=lambda line, *args, **kwargs: k_lines.append(line))
    k_text = "\n".join(k_lines)
    for needle in ("Total params: 363", "Trainable params: 363", "Non-trainable params: 0"):
        assert needle in text and needle in k_text
    model.compile(loss="categorical_crossentropy", optimizer=loom.optimizers.Adam(1e-2), metrics=["accuracy"])
    y_cat = loom.utils.to_categorical(y, 3)
    history = model.fit(x, y_cat, batch_size=16, epochs=8, validation_split=0.1, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y_cat, verbose=0)
    assert acc > 0.8
    assert model.predict(x[:5], verbose=0).shape == (5, 3)
    np.testing.assert_allclose(model.predict(x[:5], verbose=0).sum(axis=-1), 1.0, rtol=1e-5)


# ------------------------------------------------------ 4. Convolutional autoencoder for image denoising
def _autoencoder(lib):
    inputs = lib.Input(shape=(8, 8, 1))
    x = lib.layers.Conv2D(4, (3, 3), activation="relu", padding="same")(inputs)
    x = lib.layers.MaxPooling2D((2, 2), padding="same")(x)
    x = lib.layers.Conv2D(4, (3, 3), activation="relu", padding="same")(x)
    x = lib.layers.MaxPooling2D((2, 2), padding="same")(x)
    x = lib.layers.Conv2DTranspose(4, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = lib.layers.Conv2DTranspose(4, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = lib.layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    autoencoder = lib.Model(inputs, x)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    return autoencoder


def _noisy_images(n: int = 32):
    rng = np.random.default_rng(1)
    clean = (rng.random((n, 8, 8, 1)) > 0.5).astype("float32")
    noisy = np.clip(clean + 0.4 * rng.normal(size=clean.shape), 0.0, 1.0).astype("float32")
    return noisy, clean


def test_denoising_autoencoder_training_steps_match_keras():
    noisy, clean = _noisy_images()
    km, lm = _pair(_autoencoder)
    k_hist = km.fit(noisy, clean, epochs=3, batch_size=8, shuffle=False,
                    validation_data=(noisy[:8], clean[:8]), verbose=0).history
    l_hist = lm.fit(noisy, clean, epochs=3, batch_size=8, shuffle=False,
                    validation_data=(noisy[:8], clean[:8]), verbose=0).history
    assert_allclose_scaled(l_hist["loss"], k_hist["loss"])
    assert_allclose_scaled(l_hist["val_loss"], k_hist["val_loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
    predictions = lm.predict(noisy, verbose=0)
    assert predictions.shape == (32, 8, 8, 1)
    assert_allclose_scaled(predictions, km.predict(noisy, verbose=0))
