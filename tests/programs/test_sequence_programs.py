"""Text and sequence programs in the style of keras.io's Keras 3 examples, run on loom (``lib`` is ``loom``).

Each program is small, seeded and synthetic. Deterministic ones are built in Keras 3 (torch) too, the weights
copied, and outputs, losses and weights compared; the others assert properties (shapes, a falling loss, save and
load giving the same predictions).
"""

import re

import numpy as np
import pytest
import torch

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def _pair(build, **kwargs):
    """The same program built in Keras and in loom, loom holding Keras's initial weights."""
    km, lm = build(keras, **kwargs), build(loom, **kwargs)
    lm.set_weights(km.get_weights())
    return km, lm


# ------------------------------------------------------------ 1. text classification with a Transformer
def _classifier(lib, maxlen=8, vocab_size=30, embed_dim=8, num_heads=2, ff_dim=16, rate=0.0):
    layers, ops = lib.layers, lib.ops

    class TransformerBlock(layers.Layer):
        def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1, **kwargs):
            super().__init__(**kwargs)
            self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.ffn = lib.Sequential([layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim)])
            self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
            self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
            self.dropout1 = layers.Dropout(rate)
            self.dropout2 = layers.Dropout(rate)

        def call(self, inputs, training=False):
            attended = self.dropout1(self.att(inputs, inputs), training=training)
            out1 = self.layernorm1(inputs + attended)
            return self.layernorm2(out1 + self.dropout2(self.ffn(out1), training=training))

    class TokenAndPositionEmbedding(layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            positions = ops.arange(0, ops.shape(x)[-1], 1)
            return self.token_emb(x) + self.pos_emb(positions)

    inputs = layers.Input(shape=(maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab_size, embed_dim)(inputs)
    x = TransformerBlock(embed_dim, num_heads, ff_dim, rate)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(rate)(x)
    x = layers.Dense(8, activation="relu")(x)
    x = layers.Dropout(rate)(x)
    return lib.Model(inputs=inputs, outputs=layers.Dense(2, activation="softmax")(x))


def _ragged_token_lists(n=32, vocab_size=30, seed=0):
    rng = np.random.default_rng(seed)
    return [list(rng.integers(1, vocab_size, size=rng.integers(3, 12))) for _ in range(n)], rng


def test_transformer_text_classifier_matches_keras():
    sequences, rng = _ragged_token_lists()
    x = loom.utils.pad_sequences(sequences, maxlen=8)
    np.testing.assert_array_equal(x, keras.utils.pad_sequences(sequences, maxlen=8))
    y = rng.integers(0, 2, size=(32,))
    km, lm = _pair(_classifier)
    assert_allclose_scaled(lm.predict(x, verbose=0), km.predict(x, verbose=0))
    for model in (km, lm):
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hk = km.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False, validation_data=(x[:8], y[:8]))
    hl = lm.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False, validation_data=(x[:8], y[:8]))
    assert sorted(hl.history) == sorted(hk.history)
    for key in hk.history:
        assert_allclose_scaled(hl.history[key], hk.history[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())


def test_transformer_text_classifier_with_dropout_learns_a_toy_task():
    sequences, rng = _ragged_token_lists(n=64)
    x = loom.utils.pad_sequences(sequences, maxlen=8)
    y = np.isin(x, [1, 2, 3, 4]).any(axis=1).astype("int64")  # whether one of four tokens occurs
    model = _classifier(loom, rate=0.1)
    model.compile(loom.optimizers.Adam(learning_rate=0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=20, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.85
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))  # no dropout


# ------------------------------------------------------------------------- 2. bidirectional LSTM
def _bidirectional_lstm(lib, vocab_size=40, units=6):
    inputs = lib.Input(shape=(None,), dtype="int32")
    x = lib.layers.Embedding(vocab_size, 8)(inputs)
    x = lib.layers.Bidirectional(lib.layers.LSTM(units, return_sequences=True))(x)
    x = lib.layers.Bidirectional(lib.layers.LSTM(units))(x)
    return lib.Model(inputs, lib.layers.Dense(1, activation="sigmoid")(x))


def test_bidirectional_lstm_classifier_matches_keras():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 40, size=(16, 10)).astype("int32")
    y = rng.integers(0, 2, size=(16,)).astype("float32")
    km, lm = _pair(_bidirectional_lstm)
    assert [w.shape for w in lm.get_weights()] == [w.shape for w in km.get_weights()]
    assert_allclose_scaled(lm.predict(x, verbose=0), km.predict(x, verbose=0))
    assert_allclose_scaled(lm.predict(x[:, :7], verbose=0), km.predict(x[:, :7], verbose=0))  # other length
    for model in (km, lm):
        model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    hk = km.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False, validation_data=(x[:4], y[:4]))
    hl = lm.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False, validation_data=(x[:4], y[:4]))
    for key in hk.history:
        assert_allclose_scaled(hl.history[key], hk.history[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())
    summary = []
    lm.summary(print_fn=summary.append)
    assert " Optimizer params: 3,932 (15.36 KB)\n" in "".join(summary)  # Adam's two slots per weight, iterations, rate


# ------------------------------------------------- 3. English-to-Spanish sequence-to-sequence Transformer
PAIRS = [("Go now.", "Ve ahora."), ("I am here.", "Estoy aquí."), ("We eat bread.", "Comemos pan."),
         ("The cat is black.", "El gato es negro."), ("Open the door!", "¡Abre la puerta!"),
         ("He runs fast.", "Él corre rápido."), ("She reads a book.", "Ella lee un libro."),
         ("The dog sleeps.", "El perro duerme."), ("Is the cat here?", "¿Está el gato aquí?")]
STRIP_CHARS = re.compile("[" + re.escape("!\"#$%&'()*+,-./:;<=>?@\\^_`{|}~¿¡") + "]")


def custom_standardization(texts):
    """Lowercase and drop punctuation but keep ``[`` and ``]`` (of ``[start]``/``[end]``): loom's standardize
    callables take and return NumPy string arrays, where Keras's example uses ``tf.strings``."""
    lowered = np.char.lower(texts.astype(str))
    return np.vectorize(lambda s: STRIP_CHARS.sub("", s), otypes=[object])(lowered)


def _seq2seq_layers(lib):
    layers, ops = lib.layers, lib.ops

    class PositionalEmbedding(layers.Layer):
        def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.token_embeddings = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.position_embeddings = layers.Embedding(input_dim=sequence_length, output_dim=embed_dim)
            self.sequence_length, self.vocab_size, self.embed_dim = sequence_length, vocab_size, embed_dim

        def call(self, inputs):
            positions = ops.arange(0, ops.shape(inputs)[-1], 1)
            return self.token_embeddings(inputs) + self.position_embeddings(positions)

        def compute_mask(self, inputs, mask=None):
            return ops.not_equal(inputs, 0)

        def get_config(self):
            return {**super().get_config(), "sequence_length": self.sequence_length,
                    "vocab_size": self.vocab_size, "embed_dim": self.embed_dim}

    class TransformerEncoder(layers.Layer):
        def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
            super().__init__(**kwargs)
            self.embed_dim, self.dense_dim, self.num_heads = embed_dim, dense_dim, num_heads
            self.attention = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.dense_proj = lib.Sequential([layers.Dense(dense_dim, activation="relu"), layers.Dense(embed_dim)])
            self.layernorm_1 = layers.LayerNormalization()
            self.layernorm_2 = layers.LayerNormalization()
            self.supports_masking = True

        def call(self, inputs, mask=None):
            padding_mask = None if mask is None else ops.cast(mask[:, None, :], dtype="int32")
            attended = self.attention(query=inputs, value=inputs, key=inputs, attention_mask=padding_mask)
            proj_input = self.layernorm_1(inputs + attended)
            return self.layernorm_2(proj_input + self.dense_proj(proj_input))

        def get_config(self):
            return {**super().get_config(), "embed_dim": self.embed_dim, "dense_dim": self.dense_dim,
                    "num_heads": self.num_heads}

    class TransformerDecoder(layers.Layer):
        def __init__(self, embed_dim, latent_dim, num_heads, **kwargs):
            super().__init__(**kwargs)
            self.embed_dim, self.latent_dim, self.num_heads = embed_dim, latent_dim, num_heads
            self.attention_1 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.attention_2 = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
            self.dense_proj = lib.Sequential([layers.Dense(latent_dim, activation="relu"), layers.Dense(embed_dim)])
            self.layernorm_1 = layers.LayerNormalization()
            self.layernorm_2 = layers.LayerNormalization()
            self.layernorm_3 = layers.LayerNormalization()
            self.supports_masking = True

        def call(self, inputs, mask=None):
            inputs, encoder_outputs = inputs
            inputs_mask, encoder_mask = (None, None) if mask is None else mask
            attended = self.attention_1(query=inputs, value=inputs, key=inputs, use_causal_mask=True,
                                        query_mask=inputs_mask)
            out_1 = self.layernorm_1(inputs + attended)
            # No query_mask here: Keras 3.15 replaces a query_mask argument by the query tensor's own Keras mask,
            # which out_1 (a sum) does not carry; loom would apply it (it differs only on padded positions).
            attended = self.attention_2(query=out_1, value=encoder_outputs, key=encoder_outputs,
                                        key_mask=encoder_mask)
            out_2 = self.layernorm_2(out_1 + attended)
            return self.layernorm_3(out_2 + self.dense_proj(out_2))

        def get_config(self):
            return {**super().get_config(), "embed_dim": self.embed_dim, "latent_dim": self.latent_dim,
                    "num_heads": self.num_heads}

    return {"PositionalEmbedding": PositionalEmbedding, "TransformerEncoder": TransformerEncoder,
            "TransformerDecoder": TransformerDecoder}


def _seq2seq(lib, vocab_size=32, sequence_length=8, embed_dim=8, latent_dim=16, num_heads=2, rate=0.0):
    custom = _seq2seq_layers(lib)
    encoder_inputs = lib.Input(shape=(None,), dtype="int64", name="encoder_inputs")
    x = custom["PositionalEmbedding"](sequence_length, vocab_size, embed_dim)(encoder_inputs)
    encoder_outputs = custom["TransformerEncoder"](embed_dim, latent_dim, num_heads)(x)
    decoder_inputs = lib.Input(shape=(None,), dtype="int64", name="decoder_inputs")
    x = custom["PositionalEmbedding"](sequence_length, vocab_size, embed_dim)(decoder_inputs)
    x = custom["TransformerDecoder"](embed_dim, latent_dim, num_heads)([x, encoder_outputs])
    x = lib.layers.Dropout(rate)(x)
    outputs = lib.layers.Dense(vocab_size, activation="softmax")(x)
    return lib.Model([encoder_inputs, decoder_inputs], outputs, name="transformer"), custom


def _vectorized_pairs(sequence_length=6):
    source = loom.layers.TextVectorization(max_tokens=32, output_mode="int", output_sequence_length=sequence_length)
    target = loom.layers.TextVectorization(max_tokens=32, output_mode="int",
                                           output_sequence_length=sequence_length + 1,
                                           standardize=custom_standardization)
    source.adapt([english for english, _ in PAIRS])
    target.adapt([f"[start] {spanish} [end]" for _, spanish in PAIRS])
    spanish = target([f"[start] {s} [end]" for _, s in PAIRS]).numpy()
    inputs = {"encoder_inputs": source([e for e, _ in PAIRS]).numpy(), "decoder_inputs": spanish[:, :-1]}
    return source, target, inputs, spanish[:, 1:]


def test_text_vectorization_with_a_custom_standardization():
    source, target, inputs, targets = _vectorized_pairs()
    vocabulary = target.get_vocabulary()
    assert vocabulary[:4] == ["", "[UNK]", "[start]", "[end]"]
    assert "¿está" not in vocabulary and "está" in vocabulary and "él" in vocabulary
    start, end = vocabulary.index("[start]"), vocabulary.index("[end]")
    assert (inputs["decoder_inputs"][:, 0] == start).all()
    assert [(row == end).sum() for row in targets] == [1] * len(PAIRS)
    assert inputs["encoder_inputs"].shape == (len(PAIRS), 6) and targets.shape == (len(PAIRS), 6)
    assert source(["Go now, cat!"]).tolist() == [[source.get_vocabulary().index(w) for w in ("go", "now", "cat")]
                                                 + [0, 0, 0]]


def test_seq2seq_transformer_with_masks_matches_keras():
    _, _, inputs, targets = _vectorized_pairs()
    (km, _), (lm, _) = _seq2seq(keras), _seq2seq(loom)
    lm.set_weights(km.get_weights())
    assert_allclose_scaled(lm.predict(inputs, verbose=0), km.predict(inputs, verbose=0))
    pair = [inputs["encoder_inputs"], inputs["decoder_inputs"][:, :3]]  # list inputs, a shorter target
    assert_allclose_scaled(lm(pair).detach().numpy(), km(pair).detach().numpy())
    # The decoder's output carries the target padding mask: the loss and accuracy skip padded steps.
    for model in (km, lm):
        model.compile("rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    hk = km.fit(inputs, targets, batch_size=3, epochs=2, verbose=0, shuffle=False)
    hl = lm.fit(inputs, targets, batch_size=3, epochs=2, verbose=0, shuffle=False)
    for key in ("loss", "accuracy"):
        assert_allclose_scaled(hl.history[key], hk.history[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())
    assert_allclose_scaled(lm.evaluate(inputs, targets, verbose=0), km.evaluate(inputs, targets, verbose=0))


def test_seq2seq_transformer_fits_decodes_greedily_and_round_trips(tmp_path):
    source, target, inputs, targets = _vectorized_pairs()
    model, custom = _seq2seq(loom, rate=0.1)
    model.compile("rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(inputs, targets, batch_size=3, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]

    vocabulary = target.get_vocabulary()

    def decode_sequence(sentence, max_length=6):
        tokenized = source([sentence])
        decoded = "[start]"
        for i in range(max_length):
            tokenized_target = target([decoded])[:, :-1]
            predictions = model([tokenized, tokenized_target])
            token = vocabulary[int(loom.ops.argmax(predictions[0, i, :]))]
            decoded += " " + token
            if token == "[end]":
                break
        return decoded

    decoded = decode_sequence(PAIRS[3][0])
    assert decoded.startswith("[start] ") and len(decoded.split()) <= 7

    layer = next(layer for layer in model.layers if isinstance(layer, custom["TransformerDecoder"]))
    config = layer.get_config()
    assert {k: config[k] for k in ("embed_dim", "latent_dim", "num_heads")} == {
        "embed_dim": 8, "latent_dim": 16, "num_heads": 2}
    assert type(layer).from_config(config).get_config() == config

    path = str(tmp_path / "translator.keras")
    model.save(path)
    restored = loom.models.load_model(path, custom_objects=custom)
    np.testing.assert_array_equal(restored.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


# ------------------------------------------------------------ 4. timeseries forecasting (weather style)
def _weather_like_series(n=200):
    rng = np.random.default_rng(0)
    t = np.arange(n, dtype="float32")
    series = np.stack([np.sin(t / 8), np.cos(t / 5), rng.normal(scale=0.1, size=n)], axis=1).astype("float32")
    return (series - series.mean(axis=0)) / series.std(axis=0)


def _forecast_datasets(lib, series, sequence_length=6, step=2, future=15, split=150):
    """Windows of ``sequence_length`` rows, every ``step``-th row, and the first feature ``future`` rows after
    the window's start as the target (the weather example's ``x[:-start]`` / ``y[start:]`` pairing)."""
    def windows(x, y):
        return lib.utils.timeseries_dataset_from_array(x, y, sequence_length=sequence_length, sampling_rate=step,
                                                       batch_size=16)
    train, val = series[:split], series[split:]
    return windows(train[:-future], train[future:, :1]), windows(val[:-future], val[future:, :1])


def _forecaster(lib, sequence_length=6, features=3):
    inputs = lib.Input(shape=(sequence_length, features))
    return lib.Model(inputs, lib.layers.Dense(1)(lib.layers.LSTM(32)(inputs)))


def test_timeseries_windows_match_a_hand_computation_and_keras():
    series = _weather_like_series()
    train, _ = _forecast_datasets(loom, series)
    keras_train, _ = _forecast_datasets(keras, series)
    batches, keras_batches = list(train), list(keras_train)
    assert len(batches) == len(keras_batches) == 8  # 135 rows hold 125 windows spanning 11 rows each
    for (x, y), (kx, ky) in zip(batches, keras_batches):
        np.testing.assert_array_equal(np.asarray(x), kx.numpy())
        np.testing.assert_array_equal(np.asarray(y), ky.numpy())
    x, y = batches[1]
    assert tuple(x.shape) == (16, 6, 3) and tuple(y.shape) == (16, 1)
    i = 16 + 3  # the 4th window of the 2nd batch starts at row 19: rows 19, 21, ..., 29; target row 19 + 15
    np.testing.assert_array_equal(np.asarray(x[3]), series[i:i + 12:2])
    assert float(y[3, 0]) == series[i + 15, 0]


def test_lstm_forecaster_with_early_stopping_and_best_checkpoint_matches_keras(tmp_path):
    series = _weather_like_series()
    histories, models = [], _pair(_forecaster)
    for lib, model in zip((keras, loom), models):
        train, val = _forecast_datasets(lib, series)
        model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01), loss="mse")
        callbacks = [lib.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5),
                     lib.callbacks.ModelCheckpoint(monitor="val_loss", filepath=str(tmp_path / f"{lib.__name__}"
                                                                                  ".weights.h5"),
                                                   save_weights_only=True, save_best_only=True)]
        histories.append(model.fit(train, epochs=4, validation_data=val, callbacks=callbacks, verbose=0).history)
    (keras_history, history), (km, lm) = histories, models
    for key in ("loss", "val_loss"):
        assert_allclose_scaled(history[key], keras_history[key], rel=1e-3, err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights(), rel=1e-3)

    best = _forecaster(loom)
    best.load_weights(str(tmp_path / "loom.weights.h5"))
    keras_best = _forecaster(keras)
    keras_best.load_weights(str(tmp_path / "loom.weights.h5"))  # loom's .weights.h5 is Keras's format
    _, val = _forecast_datasets(loom, series)
    x_val = np.concatenate([np.asarray(x) for x, _ in val])
    assert_allclose_scaled(best.predict(x_val, verbose=0), keras_best.predict(x_val, verbose=0))
    best.compile(loss="mse")
    assert best.evaluate(val, verbose=0) == pytest.approx(min(history["val_loss"]), rel=1e-5)


def test_early_stopping_stops_a_forecaster_that_no_longer_improves():
    series = _weather_like_series()
    train, val = _forecast_datasets(loom, series)
    model = _forecaster(loom)
    model.compile(optimizer=loom.optimizers.Adam(learning_rate=0.5), loss="mse")  # too large: val_loss stalls
    stopper = loom.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=2)
    history = model.fit(train, epochs=50, validation_data=val, callbacks=[stopper], verbose=0).history
    val_loss = history["val_loss"]
    assert len(val_loss) < 50 and stopper.stopped_epoch == len(val_loss) - 1
    assert min(val_loss[-2:]) >= min(val_loss[:-2])  # the last `patience` epochs did not improve


# ---------------------------------------------------------- 5a. character-level text generation with an LSTM
CORPUS = ("the quick brown fox jumps over the lazy dog. " * 6 + "a lazy dog sleeps under the brown tree. " * 4)


def _char_windows(maxlen=10, step=3):
    chars = sorted(set(CORPUS))
    char_indices = {c: i for i, c in enumerate(chars)}
    sentences = [CORPUS[i:i + maxlen] for i in range(0, len(CORPUS) - maxlen, step)]
    next_chars = [CORPUS[i + maxlen] for i in range(0, len(CORPUS) - maxlen, step)]
    x = np.zeros((len(sentences), maxlen, len(chars)), dtype="bool")
    y = np.zeros((len(sentences), len(chars)), dtype="bool")
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1
    return chars, char_indices, x, y


def _char_model(lib, maxlen, num_chars, units=16):
    return lib.Sequential([lib.Input(shape=(maxlen, num_chars)), lib.layers.LSTM(units),
                           lib.layers.Dense(num_chars, activation="softmax")])


def _sample(preds, temperature=1.0, rng=None):
    preds = np.log(np.asarray(preds).astype("float64")) / temperature
    probs = np.exp(preds) / np.sum(np.exp(preds))
    return int(np.argmax(rng.multinomial(1, probs, 1)))


def test_char_lstm_on_boolean_one_hot_matches_keras_and_generates_text():
    chars, char_indices, x, y = _char_windows()
    km, lm = _pair(_char_model, maxlen=10, num_chars=len(chars))
    for lib, model in ((keras, km), (loom, lm)):
        model.compile(loss="categorical_crossentropy", optimizer=lib.optimizers.RMSprop(learning_rate=0.01))
    assert_allclose_scaled(lm.predict(x[:8], verbose=0), km.predict(x[:8], verbose=0))
    hk = km.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    hl = lm.fit(x, y, batch_size=32, epochs=2, verbose=0, shuffle=False)
    assert_allclose_scaled(hl.history["loss"], hk.history["loss"], rel=1e-3)
    assert_weights_close(lm.get_weights(), km.get_weights(), rel=1e-3)

    lm.fit(x, y, batch_size=32, epochs=25, verbose=0)
    generated, sentence = "", CORPUS[:10]
    rng = np.random.default_rng(0)
    for _ in range(20):
        x_pred = np.zeros((1, 10, len(chars)))
        for t, char in enumerate(sentence):
            x_pred[0, t, char_indices[char]] = 1.0
        preds = lm.predict(x_pred, verbose=0)[0]
        assert preds.shape == (len(chars),) and preds.sum() == pytest.approx(1.0, rel=1e-5)
        next_char = chars[_sample(preds, temperature=0.2, rng=rng)]
        sentence, generated = sentence[1:] + next_char, generated + next_char
    assert len(generated) == 20 and set(generated) <= set(chars)
    assert generated.count(" ") >= 2  # a model that learnt the corpus writes words, not one repeated letter


# ------------------------------------------------------------- 5b. timeseries classification with a Transformer
def _timeseries_transformer(lib, input_shape=(16, 2), head_size=4, num_heads=2, ff_dim=4, blocks=2,
                            mlp_units=(8,), dropout=0.0, n_classes=2):
    layers = lib.layers

    def encoder(inputs):
        x = layers.MultiHeadAttention(key_dim=head_size, num_heads=num_heads, dropout=dropout)(inputs, inputs)
        x = layers.Dropout(dropout)(x)
        res = layers.LayerNormalization(epsilon=1e-6)(x) + inputs
        x = layers.Conv1D(filters=ff_dim, kernel_size=1, activation="relu")(res)
        x = layers.Dropout(dropout)(x)
        x = layers.Conv1D(filters=inputs.shape[-1], kernel_size=1)(x)
        return layers.LayerNormalization(epsilon=1e-6)(x) + res

    inputs = lib.Input(shape=input_shape)
    x = inputs
    for _ in range(blocks):
        x = encoder(x)
    x = layers.GlobalAveragePooling1D(data_format="channels_last")(x)
    for units in mlp_units:
        x = layers.Dropout(dropout)(layers.Dense(units, activation="relu")(x))
    return lib.Model(inputs, layers.Dense(n_classes, activation="softmax")(x))


def _wave_classes(n=48, length=16):
    rng = np.random.default_rng(3)
    t = np.arange(length, dtype="float32")
    y = rng.integers(0, 2, size=n)
    x = np.where(y[:, None] == 1, np.sin(t / 2), np.sign(np.sin(t / 2))) + rng.normal(scale=0.1, size=(n, length))
    # Two channels: over a single one (as FordA's), LayerNormalization outputs its beta whatever the input, so
    # the layers before it get gradients of pure rounding noise, which Adam turns into steps of +-lr.
    return np.stack([x, np.cos(t / 3) + 0 * x], axis=-1).astype("float32"), y


def test_timeseries_transformer_classifier_matches_keras():
    x, y = _wave_classes()
    km, lm = _pair(_timeseries_transformer)
    assert_allclose_scaled(lm.predict(x, verbose=0), km.predict(x, verbose=0))
    for lib, model in ((keras, km), (loom, lm)):
        model.compile(loss="sparse_categorical_crossentropy", optimizer=lib.optimizers.Adam(learning_rate=1e-3),
                      metrics=["sparse_categorical_accuracy"])
    stops = [keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True),
             loom.callbacks.EarlyStopping(patience=3, restore_best_weights=True)]
    hk = km.fit(x, y, validation_split=0.25, epochs=2, batch_size=8, callbacks=[stops[0]], verbose=0, shuffle=False)
    hl = lm.fit(x, y, validation_split=0.25, epochs=2, batch_size=8, callbacks=[stops[1]], verbose=0, shuffle=False)
    assert sorted(hl.history) == sorted(hk.history)
    for key in hk.history:
        assert_allclose_scaled(hl.history[key], hk.history[key], rel=1e-3, err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights(), rel=1e-3)
    assert_allclose_scaled(lm.evaluate(x, y, verbose=0), km.evaluate(x, y, verbose=0), rel=1e-3)
