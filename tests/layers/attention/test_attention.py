"""Attention (dot and concat scores) against Keras 3: outputs, scores, masks, causal masks, graph masks."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test


@pytest.mark.parametrize("init", [{}, {"use_scale": True}, {"score_mode": "concat"},
                                  {"score_mode": "concat", "use_scale": True}])
def test_layer_checks_and_keras_parity(init):
    run_layer_test(loom.layers.Attention, init, input_shape=[(2, 3, 5), (2, 4, 5)], expected_output_shape=(2, 3, 5),
                   keras_cls=keras.layers.Attention, supports_masking=True)


def _both(init, inputs, **call):
    keras_layer, layer = keras.layers.Attention(**init), loom.layers.Attention(**init)
    keras_call = {k: [m.numpy() for m in v] if isinstance(v, list) else v for k, v in call.items()}
    keras_layer([t.numpy() for t in inputs], **keras_call)
    layer(inputs, **call)
    weights = [w + 0.5 for w in keras_layer.get_weights()]  # away from the initial ones
    keras_layer.set_weights(weights)
    layer.set_weights(weights)
    return layer(inputs, **call), keras_layer([t.numpy() for t in inputs], **keras_call)


@pytest.mark.parametrize("init", [{"use_scale": True}, {"score_mode": "concat", "use_scale": True}])
@pytest.mark.parametrize("causal", [False, True])
def test_scores_masks_and_key_match_keras(init, causal):
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randn(2, 3, 5, generator=gen), torch.randn(2, 4, 6, generator=gen),
              torch.randn(2, 4, 5, generator=gen)]
    mask = [torch.tensor([[1, 1, 0], [1, 1, 1]]).bool(), torch.tensor([[1, 0, 1, 1], [1, 1, 0, 0]]).bool()]
    ours, theirs = _both(init, inputs, mask=mask, use_causal_mask=causal, return_attention_scores=True)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), keras.ops.convert_to_numpy(b), atol=1e-5, rtol=1e-5)
    assert float(ours[0][0, 2].detach().abs().sum()) == 0.0  # a masked query step outputs zeros


def _masked_model(lib, cls):
    q_ids, v_ids = lib.Input((4,), dtype="int32"), lib.Input((5,), dtype="int32")
    embed = lib.layers.Embedding(10, 6, mask_zero=True)
    out = getattr(lib.layers, cls)()([embed(q_ids), embed(v_ids)])
    return lib.Model([q_ids, v_ids], lib.layers.GlobalAveragePooling1D()(out))


@pytest.mark.parametrize("cls", ["Attention", "AdditiveAttention"])
def test_embedding_masks_in_a_model_match_keras(cls):
    q = np.array([[1, 2, 0, 0], [3, 4, 5, 6]], dtype="int32")
    v = np.array([[1, 0, 0, 0, 0], [3, 4, 5, 6, 7]], dtype="int32")
    keras_model, model = _masked_model(keras, cls), _masked_model(loom, cls)
    model.set_weights(keras_model.get_weights())
    np.testing.assert_allclose(model.predict([q, v], verbose=0), keras.ops.convert_to_numpy(keras_model([q, v])),
                               atol=1e-5, rtol=1e-5)


def test_dropout_only_in_training():
    gen = torch.Generator().manual_seed(0)
    inputs = [torch.randn(2, 3, 5, generator=gen), torch.randn(2, 8, 5, generator=gen)]
    layer = loom.layers.Attention(dropout=0.5, seed=3)
    out = layer(inputs)
    torch.testing.assert_close(layer(inputs), out)
    assert not torch.allclose(layer(inputs, training=True), out)


def test_bad_input_raises_named_errors():
    with pytest.raises(ConfigError, match="score_mode must be one of"):
        loom.layers.Attention(score_mode="general")
    with pytest.raises(ConfigError, match="dropout"):
        loom.layers.Attention(dropout=2)
    x = torch.ones(1, 3, 4)
    with pytest.raises(InputError, match=r"list \[query, value\]"):
        loom.layers.Attention()(x)
    with pytest.raises(InputError, match="mask must be a list"):
        loom.layers.Attention()([x, x], mask=torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(ShapeError, match="do not fit"):
        loom.layers.Attention()([x, torch.ones(1, 3, 5)])
