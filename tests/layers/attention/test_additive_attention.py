"""AdditiveAttention against Keras 3: weights, scores, masks, config."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("init,weights", [({}, 1), ({"use_scale": False}, 0)])
def test_layer_checks_and_keras_parity(init, weights):
    run_layer_test(loom.layers.AdditiveAttention, init, input_shape=[(2, 3, 5), (2, 4, 5), (2, 4, 5)],
                   expected_output_shape=(2, 3, 5), expected_num_trainable_weights=weights,
                   keras_cls=keras.layers.AdditiveAttention)


def test_masks_causal_and_scores_match_keras():
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randn(2, 4, 5, generator=gen), torch.randn(2, 4, 3, generator=gen),
              torch.randn(2, 4, 5, generator=gen)]
    mask = [torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]]).bool(), torch.tensor([[1, 1, 0, 1], [1, 0, 0, 0]]).bool()]
    keras_layer, layer = keras.layers.AdditiveAttention(), loom.layers.AdditiveAttention()
    call = {"use_causal_mask": True, "return_attention_scores": True}
    expected = keras_layer([t.numpy() for t in inputs], mask=[m.numpy() for m in mask], **call)
    layer(inputs)
    layer.set_weights(keras_layer.get_weights())
    for a, b in zip(layer(inputs, mask=mask, **call), expected):
        np.testing.assert_allclose(a.detach().numpy(), keras.ops.convert_to_numpy(b), atol=1e-5, rtol=1e-5)


def test_config_has_no_score_mode():
    config = loom.layers.AdditiveAttention().get_config()
    assert set(config) == set(keras.layers.AdditiveAttention().get_config())
    with pytest.raises(ConfigError, match="score_mode must be one of"):
        loom.layers.AdditiveAttention(score_mode="concat")
    with pytest.raises(ConfigError, match="dropout"):
        loom.layers.AdditiveAttention(dropout=-0.1)
