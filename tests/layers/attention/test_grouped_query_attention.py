"""GroupQueryAttention against Keras 3: outputs, scores, masks, gate, sliding window, weights, bad input."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import make_inputs, run_layer_test

GQA = loom.layers.GroupQueryAttention


@pytest.mark.parametrize("init", [
    {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2},
    {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 1, "use_gate": True, "use_bias": False},
    {"head_dim": 2, "num_query_heads": 2, "num_key_value_heads": 2, "sliding_window": 2},
])
def test_layer_checks_and_keras_parity(init):
    run_layer_test(GQA, init, input_shape=(2, 5, 6), expected_output_shape=(2, 5, 6),
                   call_kwargs={"value": make_inputs((2, 4, 6), seed=1)}, keras_cls=keras.layers.GroupQueryAttention)


@pytest.mark.parametrize("call", [{"return_attention_scores": True}, {"use_causal_mask": True},
                                  {"use_causal_mask": True, "return_attention_scores": True},
                                  {"attention_mask": "random"}, {"value_mask": "value"}])
def test_scores_and_masks_match_keras(call):
    gen = torch.Generator().manual_seed(0)
    query, value = torch.randn(2, 4, 6, generator=gen), torch.randn(2, 4, 6, generator=gen)
    call = dict(call)
    if call.get("attention_mask") == "random":
        call["attention_mask"] = torch.rand(2, 4, 4, generator=gen) > 0.4
    if call.get("value_mask") == "value":
        call["value_mask"] = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]]).bool()
    init = {"head_dim": 2, "num_query_heads": 4, "num_key_value_heads": 2}
    keras_layer, layer = keras.layers.GroupQueryAttention(**init), GQA(**init)
    keras_call = {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in call.items()}
    keras_layer(query.numpy(), value.numpy(), **keras_call)
    layer(query, value, **call)
    layer.set_weights(keras_layer.get_weights())
    ours, theirs = layer(query, value, **call), keras_layer(query.numpy(), value.numpy(), **keras_call)
    ours, theirs = (ours if isinstance(ours, tuple) else (ours,)), (theirs if isinstance(theirs, tuple) else (theirs,))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.detach().numpy(), keras.ops.convert_to_numpy(b), atol=1e-5, rtol=1e-5)


def test_weight_shapes_and_names():
    layer = GQA(head_dim=2, num_query_heads=4, num_key_value_heads=2)
    assert layer.name.startswith("grouped_query_attention")
    layer(torch.ones(1, 3, 6), torch.ones(1, 5, 6))
    assert [w.shape for w in layer.get_weights()] == [(6, 4, 2), (4, 2), (6, 2, 2), (2, 2), (6, 2, 2), (2, 2),
                                                      (4, 2, 6), (6,)]


def test_keras_archive_round_trip(tmp_path):
    def build(lib):
        q, v = lib.Input((4, 6)), lib.Input((5, 6))
        return lib.Model([q, v], lib.layers.GroupQueryAttention(2, 4, 2, use_gate=True)(q, v))
    data = [np.random.default_rng(0).normal(size=s).astype("float32") for s in ((2, 4, 6), (2, 5, 6))]
    keras_model = build(keras)
    keras_model.save(str(tmp_path / "k.keras"))
    model = loom.models.load_model(tmp_path / "k.keras")
    expected = keras.ops.convert_to_numpy(keras_model.predict(data, verbose=0))
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, atol=1e-5)
    model.save(tmp_path / "l.keras")
    back = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(back.predict(data, verbose=0)), expected, atol=1e-5)


def test_bad_input_raises_named_errors():
    with pytest.raises(ConfigError, match="must be divisible"):
        GQA(2, 4, 3)
    with pytest.raises(ConfigError, match="head_dim must be a positive int"):
        GQA(0, 4, 2)
    with pytest.raises(ShapeError, match=r"query must be \(batch, length, dim\)"):
        GQA(2, 4, 2)(torch.ones(1, 2, 3, 6), torch.ones(1, 5, 6))
    with pytest.raises(ShapeError, match="key and value of one length"):
        GQA(2, 4, 2)(torch.ones(1, 3, 6), torch.ones(1, 5, 6), torch.ones(1, 4, 6))
