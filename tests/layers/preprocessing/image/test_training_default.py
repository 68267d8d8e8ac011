"""Which mode a call without ``training=`` uses: Keras's defaults, then torch's mode once it is set."""

import numpy as np
import torch

import loom
from loom import layers
from tests.keras_oracle import keras
from tests.layers.preprocessing.image.parity import images


def _changes(layer_or_fn, x):
    return not np.array_equal(np.asarray(layer_or_fn(x)), np.asarray(x))


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


def test_torch_mode_decides_once_set_and_fit_predict_set_it():
    x = images(seed=3)
    flip = layers.RandomFlip(seed=1)
    flip.eval()
    assert not _changes(flip, torch.from_numpy(x))
    flip.train()
    assert _changes(flip, torch.from_numpy(x))
    inputs = loom.Input(x.shape[1:])
    model = loom.Model(inputs, layers.Flatten()(layers.RandomFlip(seed=4)(inputs)))
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.predict(x, verbose=0))
    np.testing.assert_array_equal(first, x.reshape(len(x), -1))
    np.testing.assert_array_equal(model(torch.from_numpy(x)).numpy(), first)  # predict() left it in eval mode


def test_dropout_and_batch_normalization_keep_inference_by_default():
    x = torch.ones(4, 10)
    assert torch.equal(layers.Dropout(0.5, seed=1)(x), x)
    assert (layers.Pipeline([layers.Dropout(0.5, seed=1)])(x) == 0).any()  # Keras's Pipeline: training=True
