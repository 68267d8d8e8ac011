"""Which mode a call without ``training=`` uses: Keras's defaults, then torch's mode once it is set."""

import numpy as np
import torch

import loom
from loom import layers
from tests.keras_oracle import keras
from tests.layers.preprocessing.image.parity import images


def _changes(layer_or_fn, x):
    return not np.array_equal(np.asarray(layer_or_fn(x)), np.asarray(x))


def _augments(model, x, unaugmented, calls=8):  # each image flips with probability 1/2 at each call
    return any(not np.array_equal(keras.ops.convert_to_numpy(model(x)), unaugmented) for _ in range(calls))


def test_a_direct_call_augments_as_in_keras():
    # The book's "display augmented images" cell: data_augmentation(images) on a Sequential of random layers.
    x = images(seed=1)
    for lib in (keras, loom):
        augment = lib.Sequential([lib.layers.RandomFlip("horizontal", seed=1), lib.layers.RandomRotation(0.2, seed=2)])
        assert _changes(augment, x), lib.__name__
        assert not _changes(lambda v: augment(v, training=False), x), lib.__name__


def test_an_explicit_mode_reaches_nested_layers_and_lasts_one_call():
    x = torch.from_numpy(images(seed=2))
    augment = loom.Sequential([layers.RandomFlip(seed=1), layers.RandomContrast(0.5, seed=2)])
    assert torch.equal(augment(x, training=False), x)
    assert not torch.equal(augment(x), x)


def test_torch_mode_decides_once_set_and_fit_predict_set_it_for_their_own_calls():
    x = images(seed=3)
    flip = layers.RandomFlip(seed=1)
    flip.eval()
    assert not _changes(flip, torch.from_numpy(x))
    flip.train()
    assert _changes(flip, torch.from_numpy(x))
    for lib in (keras, loom):  # after fit / predict a direct call augments again, as before them
        inputs = lib.Input(x.shape[1:])
        model = lib.Model(inputs, lib.layers.Dense(1)(lib.layers.Flatten()(lib.layers.RandomFlip(seed=4)(inputs))))
        model.compile(optimizer="sgd", loss="mse")
        first = model.predict(x, verbose=0)
        np.testing.assert_array_equal(first, model.predict(x, verbose=0))
        assert not np.array_equal(keras.ops.convert_to_numpy(model(x)), first), lib.__name__
        model.fit(x, np.zeros((len(x), 1), "float32"), verbose=0)
        after_fit = model.predict(x, verbose=0)
        assert _augments(model, x, after_fit), lib.__name__
    model.eval()  # set by the user: torch's mode decides, through fit and predict
    model.fit(x, np.zeros((len(x), 1), "float32"), verbose=0)
    np.testing.assert_array_equal(model(torch.from_numpy(x)).detach().numpy(), model.predict(x, verbose=0))


def test_dropout_and_batch_normalization_keep_inference_by_default():
    x = torch.ones(4, 10)
    assert torch.equal(layers.Dropout(0.5, seed=1)(x), x)
    assert (layers.Pipeline([layers.Dropout(0.5, seed=1)])(x) == 0).any()  # Keras's Pipeline: training=True
