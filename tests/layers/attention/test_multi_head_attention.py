"""MultiHeadAttention against Keras 3: outputs, scores, masks (given and from Embedding), gradients,
a transformer encoder block that trains, ``.keras`` files both ways, and bad input."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import make_inputs, run_layer_test
from tests.tolerance import assert_allclose_scaled

MHA = loom.layers.MultiHeadAttention


def _np(x):
    return keras.ops.convert_to_numpy(x) if not isinstance(x, torch.Tensor) else x.detach().numpy()


@pytest.mark.parametrize("init,query_shape,value_shape,expected", [
    ({"num_heads": 2, "key_dim": 3}, (2, 4, 6), (2, 5, 6), (2, 4, 6)),
    ({"num_heads": 2, "key_dim": 3, "value_dim": 5, "output_shape": 7, "use_bias": False}, (2, 4, 6), (2, 5, 6),
     (2, 4, 7)),
    ({"num_heads": 2, "key_dim": 3, "attention_axes": (1, 2)}, (2, 3, 4, 6), (2, 3, 2, 6), (2, 3, 4, 6)),
    ({"num_heads": 3, "key_dim": 2, "use_gate": True, "sliding_window": 2}, (2, 5, 4), (2, 5, 4), (2, 5, 4)),
])
def test_layer_checks_and_keras_parity(init, query_shape, value_shape, expected):
    value = make_inputs(value_shape, seed=1)
    run_layer_test(MHA, init, input_shape=query_shape, expected_output_shape=expected,
                   call_kwargs={"value": value}, keras_cls=keras.layers.MultiHeadAttention, supports_masking=True)


def _pair(init, *args, **call):
    """The same layer in Keras and loom with Keras's weights; returns both outputs of ``call``."""
    keras_layer, layer = keras.layers.MultiHeadAttention(**init), MHA(**init)
    keras_args = [a.numpy() for a in args]
    keras_call = {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in call.items()}
    keras_layer(*keras_args, **keras_call)
    layer(*args, **call)
    layer.set_weights(keras_layer.get_weights())
    return layer(*args, **call), keras_layer(*keras_args, **keras_call), layer, keras_layer


@pytest.mark.parametrize("call", [
    {"return_attention_scores": True},
    {"use_causal_mask": True},
    {"use_causal_mask": True, "return_attention_scores": True},
    {"attention_mask": "random"},
    {"attention_mask": "random", "return_attention_scores": True, "use_causal_mask": True},
    {"value_mask": "value"},
])
def test_scores_and_masks_match_keras(call):
    gen = torch.Generator().manual_seed(0)
    query, value, key = torch.randn(2, 4, 6, generator=gen), torch.randn(2, 4, 5, generator=gen), \
        torch.randn(2, 4, 3, generator=gen)
    call = dict(call)
    if call.get("attention_mask") == "random":
        call["attention_mask"] = torch.rand(2, 4, 4, generator=gen) > 0.4
    if call.get("value_mask") == "value":
        call["value_mask"] = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]]).bool()
    ours, theirs, _, _ = _pair({"num_heads": 2, "key_dim": 3}, query, value, key, **call)
    ours, theirs = (ours if isinstance(ours, tuple) else (ours,)), (theirs if isinstance(theirs, tuple) else (theirs,))
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-5, rtol=1e-5)
    if call.get("return_attention_scores"):
        assert tuple(ours[1].shape) == (2, 2, 4, 4)


def test_dropout_applies_in_training_only():
    x = torch.randn(2, 6, 4, generator=torch.Generator().manual_seed(0))
    layer = MHA(2, 3, dropout=0.5, seed=1)
    inference = layer(x, x)
    torch.testing.assert_close(layer(x, x), inference)
    assert not torch.allclose(layer(x, x, training=True), inference)
    _, scores = layer(x, x, return_attention_scores=True, training=True)
    torch.testing.assert_close(scores.sum(-1), torch.ones(2, 2, 6))  # scores are reported before dropout


def test_gradients_match_keras():
    gen = torch.Generator().manual_seed(0)
    query, value = torch.randn(2, 4, 6, generator=gen), torch.randn(2, 5, 6, generator=gen)
    mask = torch.rand(2, 4, 5, generator=gen) > 0.3
    ours, theirs, layer, keras_layer = _pair({"num_heads": 2, "key_dim": 3}, query, value, attention_mask=mask)
    (ours ** 2).sum().backward()
    (theirs ** 2).sum().backward()
    for w, kw in zip(layer.trainable_weights, keras_layer.trainable_weights):
        assert_allclose_scaled(w.grad.numpy(), kw.value.grad.numpy(), rel=1e-5)


def _masked_model(lib, causal=False, attention_output=False):
    ids = lib.Input((6,), dtype="int32")
    x = lib.layers.Embedding(12, 8, mask_zero=True)(ids)
    y = lib.layers.MultiHeadAttention(2, 4)(x, x, use_causal_mask=causal)
    model = lib.Model(ids, lib.layers.GlobalAveragePooling1D()(y))
    return (model, lib.Model(ids, y)) if attention_output else model


@pytest.mark.parametrize("causal", [False, True])
def test_embedding_masks_reach_query_and_value(causal):
    ids = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 0, 0, 0, 0]], dtype="int32")
    keras_model = _masked_model(keras, causal)
    model, attention_model = _masked_model(loom, causal, attention_output=True)
    model.set_weights(keras_model.get_weights())
    np.testing.assert_allclose(model.predict(ids, verbose=0), _np(keras_model(ids)), atol=1e-5, rtol=1e-5)
    # the real tokens of a padded row attend only to real tokens: as if the padding were not there
    embedding, attention = model.layers[1], model.layers[2]
    short = embedding(torch.tensor(ids[:1, :3]))
    alone = attention(short, short, use_causal_mask=causal)
    np.testing.assert_allclose(attention_model.predict(ids[:1], verbose=0)[:, :3], alone.detach().numpy(),
                               atol=1e-5)


def test_an_explicit_query_mask_masks_the_query_rows():
    # Keras 3.15 overwrites the `query_mask` argument with the query's Keras mask (`get_keras_mask(query)`), so
    # on a direct call with a plain tensor it is silently ignored; loom applies the argument as documented, which
    # Keras computes for an explicit `attention_mask` of the query rows (a model's Embedding masks agree above).
    gen = torch.Generator().manual_seed(0)
    query, value = torch.randn(2, 5, 6, generator=gen), torch.randn(2, 4, 6, generator=gen)
    query_mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]).bool()
    value_mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 0]]).bool()
    rows = query_mask[:, :, None] & value_mask[:, None, :]
    ours, theirs, layer, keras_layer = _pair({"num_heads": 2, "key_dim": 3}, query, value, attention_mask=rows)
    np.testing.assert_allclose(_np(layer(query, value, query_mask=query_mask, value_mask=value_mask)),
                               _np(theirs), atol=1e-5, rtol=1e-5)
    ignored = keras_layer(query, value, query_mask=query_mask, value_mask=value_mask)
    np.testing.assert_allclose(_np(ignored), _np(layer(query, value, value_mask=value_mask)), atol=1e-5, rtol=1e-5)


def _encoder(lib, seq=6, dim=8, classes=3):
    inputs = lib.Input((seq, dim))
    attended = lib.layers.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)(inputs, inputs)
    x = lib.layers.LayerNormalization(epsilon=1e-6)(lib.layers.Add()([inputs, attended]))
    hidden = lib.layers.Dense(16, activation="relu")(x)
    x = lib.layers.LayerNormalization(epsilon=1e-6)(lib.layers.Add()([x, lib.layers.Dense(dim)(hidden)]))
    outputs = lib.layers.Dense(classes, activation="softmax")(lib.layers.GlobalAveragePooling1D()(x))
    return lib.Model(inputs, outputs)


def _toy_task(n=64, seq=6, dim=8):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, seq, dim)).astype("float32")
    return x, (x[:, :, 0].sum(1) > 0).astype("int32") + (x[:, 0, 1] > 1).astype("int32")


def test_functional_transformer_encoder_matches_keras_and_trains():
    torch.manual_seed(0)
    x, y = _toy_task()
    keras_model, model = _encoder(keras), _encoder(loom)
    model.set_weights(keras_model.get_weights())
    np.testing.assert_allclose(model.predict(x, verbose=0), _np(keras_model.predict(x, verbose=0)), atol=1e-5)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


class EncoderBlock(loom.layers.Layer):
    """A transformer encoder block as a layer, so it stacks in a Sequential."""

    def __init__(self, dim=8, **kwargs):
        super().__init__(**kwargs)
        self.attention = loom.layers.MultiHeadAttention(2, dim // 2)
        self.norm1, self.norm2 = loom.layers.LayerNormalization(), loom.layers.LayerNormalization()
        self.ffn = loom.layers.Dense(dim)

    def call(self, x):
        x = self.norm1(x + self.attention(x, x))
        return self.norm2(x + self.ffn(x))


def test_sequential_transformer_encoder_trains():
    torch.manual_seed(0)
    x, y = _toy_task(32)
    model = loom.Sequential([loom.Input((6, 8)), EncoderBlock(), loom.layers.GlobalAveragePooling1D(),
                             loom.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert len(model.trainable_weights) == 8 + 4 + 2 + 2


def test_keras_archive_both_ways(tmp_path):
    x, _ = _toy_task(8)
    keras_model = _encoder(keras)
    keras_model.save(str(tmp_path / "k.keras"))
    model = loom.models.load_model(tmp_path / "k.keras")
    expected = _np(keras_model.predict(x, verbose=0))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    ids = np.array([[3, 4, 5, 0, 0, 0]], dtype="int32")
    masked = _masked_model(loom, causal=True)
    masked.save(tmp_path / "l.keras")
    back = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(_np(back.predict(ids, verbose=0)), masked.predict(ids, verbose=0), atol=1e-5)
    back.save(str(tmp_path / "k2.keras"))  # Keras's own file of the masked model: masks still reach value
    reloaded = loom.models.load_model(tmp_path / "k2.keras")
    np.testing.assert_allclose(reloaded.predict(ids, verbose=0), masked.predict(ids, verbose=0), atol=1e-5)


def test_bad_input_raises_named_errors():
    with pytest.raises(ConfigError, match="num_heads must be a positive int"):
        MHA(0, 4)
    with pytest.raises(ConfigError, match="key_dim must be a positive int"):
        MHA(2, 2.5)
    with pytest.raises(ConfigError, match="dropout is not supported with flash_attention"):
        MHA(2, 2, dropout=0.1, flash_attention=True)
    with pytest.raises(ConfigError, match="attention_axes"):
        MHA(2, 2, attention_axes="time")
    with pytest.raises(ShapeError, match="rank >= 3"):
        MHA(2, 2)(torch.ones(2, 4), torch.ones(2, 4))
    with pytest.raises(ShapeError, match="value and key must agree"):
        MHA(2, 2)(torch.ones(1, 3, 4), torch.ones(1, 5, 4), torch.ones(1, 6, 4))
    layer = MHA(2, 2)
    with pytest.raises(InputError, match=r"value_mask must have shape \(1, 5\)"):
        layer(torch.ones(1, 3, 4), torch.ones(1, 5, 4), value_mask=torch.ones(1, 3, dtype=torch.bool))
    with pytest.raises(InputError, match="attention_mask of shape"):
        layer(torch.ones(1, 3, 4), torch.ones(1, 5, 4), attention_mask=torch.ones(1, 4, 4, dtype=torch.bool),
              use_causal_mask=True)
    with pytest.raises(ShapeError, match="built for queries of rank 3"):
        layer(torch.ones(1, 3, 2, 4), torch.ones(1, 5, 2, 4))
    other = MHA(4, 2)
    other(torch.ones(1, 3, 4), torch.ones(1, 5, 4))
    with pytest.raises(InputError, match=r"has shape \(4, 2, 2\)"):  # weights of a layer with other heads
        layer.set_weights(other.get_weights())
    with pytest.raises(InputError, match="needs a value"):
        MHA(2, 2)(torch.ones(1, 3, 4))


def test_query_value_key_by_keyword_build_and_match_keras():
    """``mha(query=q, value=v, key=k)``, as Keras programs write it, inside a functional graph and eagerly."""
    rng = np.random.default_rng(0)
    q, v = rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 6)).astype("float32")
    outs = []
    for lib in (keras, loom):
        query, value = lib.Input((3, 4)), lib.Input((5, 6))
        layer = lib.layers.MultiHeadAttention(num_heads=2, key_dim=3)
        model = lib.Model([query, value], layer(query=query, value=value, key=value))
        outs.append((model, layer))
    (km, _), (lm, layer) = outs
    lm.set_weights(km.get_weights())
    assert_allclose_scaled(lm.predict([q, v], verbose=0), km.predict([q, v], verbose=0))
    eager = loom.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    assert tuple(eager(query=torch.as_tensor(q), value=torch.as_tensor(v)).shape) == (2, 3, 4)
    assert eager.key_dense.kernel.shape == (6, 2, 3)
