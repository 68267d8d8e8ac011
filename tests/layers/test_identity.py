"""Identity: passes tensors and masks through; Keras parity and config."""

import numpy as np
import torch

import loom
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


def test_identity_matches_keras():
    run_layer_test(loom.layers.Identity, {}, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, keras_cls=keras.layers.Identity, supports_masking=True)


def test_identity_keeps_an_embedding_mask():
    ids = loom.Input((4,), dtype="int32")
    x = loom.layers.Identity()(loom.layers.Embedding(5, 2, mask_zero=True)(ids))
    model = loom.Model(ids, loom.layers.GlobalAveragePooling1D()(x))
    data = np.array([[1, 2, 0, 0]], dtype="int32")
    table = model.layers[1].embeddings.detach()
    torch.testing.assert_close(torch.as_tensor(model.predict(data, verbose=0)[0]), table[1:3].mean(0))
