"""Structured-data, preprocessing and recommendation programs of Keras 3's examples and guides, written as a
user would with ``loom`` in place of ``keras``; Keras 3 (torch backend) runs the same program side by side.

Data are small synthetic tables built as dicts of NumPy columns (ints, floats, strings); every program is
seeded, runs a few batches and asserts numbers: encodings equal Keras's, losses / weights within the scaled
float32 tolerance after the same steps, or save -> load round trips giving identical predictions.
"""

import numpy as np
import pytest
import torch

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close

CITIES = np.array(["lyon", "oslo", "lima", "pune", "kobe"])
KINDS = np.array(["flat", "house", "loft"])


def _table(n: int = 64, seed: int = 0) -> tuple[dict, np.ndarray]:
    """A housing-style table: int, float and string columns, and a learnable binary target."""
    rng = np.random.default_rng(seed)
    columns = {"rooms": rng.integers(1, 6, n).astype("int64"),
               "floor": rng.integers(0, 4, n).astype("int64"),
               "area": rng.normal(70.0, 20.0, n).astype("float32"),
               "age": rng.uniform(0.0, 50.0, n).astype("float32"),
               "city": rng.choice(CITIES, n), "kind": rng.choice(KINDS, n)}
    score = (columns["area"] - 70.0) / 20.0 + (columns["city"] == "oslo") - 0.03 * (columns["age"] - 25.0)
    return columns, (score > 0.2).astype("float32").reshape(-1, 1)


def _numpy(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else keras.ops.convert_to_numpy(x)


# ----------------------------------------------------- 1. structured data classification with FeatureSpace
def _feature_space(lib):
    FeatureSpace = lib.utils.FeatureSpace
    return FeatureSpace(
        features={"rooms": FeatureSpace.integer_categorical(num_oov_indices=2),
                  "floor": FeatureSpace.integer_categorical(num_oov_indices=1),
                  "area": FeatureSpace.float_normalized(),
                  "age": FeatureSpace.float_discretized(num_bins=4),
                  "city": FeatureSpace.string_categorical(num_oov_indices=1),
                  "kind": FeatureSpace.string_categorical()},
        crosses=[FeatureSpace.cross(feature_names=("city", "kind"), crossing_dim=32),
                 FeatureSpace.cross(feature_names=("rooms", "floor"), crossing_dim=8)],
        output_mode="concat")


def _classifier_on(lib, encoded):
    x = lib.layers.Dense(16, activation="relu")(encoded)
    x = lib.layers.Dropout(0.5)(x)
    return lib.Model(inputs=encoded, outputs=lib.layers.Dense(1, activation="sigmoid")(x))


def test_feature_space_encodes_like_keras_and_its_training_model_learns(tmp_path):
    columns, y = _table(96)
    ours, theirs = _feature_space(loom), _feature_space(keras)
    # adapt from an iterable of dict batches (loom's stand-in for a tf.data dataset of dicts) vs. all at once
    ours.adapt([{k: v[i:i + 32] for k, v in columns.items()} for i in range(0, 96, 32)])
    theirs.adapt(columns)
    encoded = ours(columns)
    np.testing.assert_allclose(_numpy(encoded), _numpy(theirs(columns)), atol=1e-5)
    one = {name: values[3] for name, values in columns.items()}  # a single raw sample
    np.testing.assert_allclose(_numpy(ours(one)), _numpy(theirs(one)), atol=1e-5)
    unseen = {**{k: v[:2] for k, v in columns.items()}, "city": np.array(["rome", "oslo"]),
              "rooms": np.array([9, 2])}  # out-of-vocabulary string and int
    np.testing.assert_allclose(_numpy(ours(unseen)), _numpy(theirs(unseen)), atol=1e-5)

    inputs = ours.get_encoded_features()
    assert inputs.shape == tuple(theirs.get_encoded_features().shape)
    model = _classifier_on(loom, inputs)
    model.compile(optimizer=loom.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(encoded, y, batch_size=16, epochs=8, validation_split=0.25, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}

    # the saved model and a feature space rebuilt from its config (loom's carries the adapted vocabularies
    # and statistics; Keras's does not, it saves the space to its own .keras file) give the same predictions
    model.save(tmp_path / "classifier.keras")
    restored = loom.saving.load_model(tmp_path / "classifier.keras")
    space = loom.utils.FeatureSpace.from_config(ours.get_config())
    raw = {k: v[:5] for k, v in columns.items()}
    np.testing.assert_array_equal(restored.predict(space(raw), verbose=0), model.predict(ours(raw), verbose=0))
    assert restored.predict(space({k: v[3:4] for k, v in columns.items()}), verbose=0).shape == (1, 1)


def test_feature_space_training_model_steps_match_keras():
    columns, y = _table(48)
    spaces = {}
    for lib in (keras, loom):
        spaces[lib] = _feature_space(lib)
        spaces[lib].adapt(columns)

    def make(lib):
        inputs = lib.Input(shape=(spaces[lib].get_encoded_features().shape[1],))
        hidden = lib.layers.Dense(8, activation="relu")(inputs)
        model = lib.Model(inputs, lib.layers.Dense(1, activation="sigmoid")(hidden))
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="binary_crossentropy")
        return model
    km, lm = make(keras), make(loom)
    lm.set_weights(km.get_weights())
    kh = km.fit(_numpy(spaces[keras](columns)), y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    lh = lm.fit(spaces[loom](columns), y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_allclose_scaled(lh.history["loss"], kh.history["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())


# ------------------------------------------------------------- 2. structured data classification from scratch
def _lookups(lib, columns):
    """The per-column preprocessing layers, adapted on the training columns."""
    city = lib.layers.StringLookup(output_mode="one_hot")
    kind = lib.layers.StringLookup(output_mode="int")
    rooms = lib.layers.IntegerLookup(output_mode="one_hot")
    area, age = lib.layers.Normalization(), lib.layers.Normalization()
    for layer, name in ((city, "city"), (kind, "kind"), (rooms, "rooms")):
        layer.adapt(columns[name])
    area.adapt(columns["area"][:, None])  # one feature: a (n, 1) column, as the example's expand_dims
    age.adapt(columns["age"][:, None])
    return {"city": city, "kind": kind, "rooms": rooms, "area": area, "age": age}


def test_from_scratch_lookups_and_normalization_match_keras():
    columns, _ = _table(64)
    ours, theirs = _lookups(loom, columns), _lookups(keras, columns)
    probe = {**{k: v[:6] for k, v in columns.items()}, "city": np.array(["oslo", "rome", "lyon", "", "kobe", "lima"]),
             "rooms": np.array([1, 2, 7, 5, 0, 3]), "area": columns["area"][:6, None], "age": columns["age"][:6, None]}
    for name in ("city", "kind", "rooms"):
        assert list(ours[name].get_vocabulary()) == list(theirs[name].get_vocabulary())
    for name in ours:
        np.testing.assert_allclose(_numpy(ours[name](probe[name])), _numpy(theirs[name](probe[name])), atol=1e-6,
                                   err_msg=name)
    # values only: Keras's ``mean`` / ``variance`` are broadcast-shaped tensors ((1, 1) here), loom's the
    # (1,)-shaped non-trainable weights themselves
    np.testing.assert_allclose(_numpy(ours["area"].mean).ravel(), _numpy(theirs["area"].mean).ravel(), rtol=1e-6)
    np.testing.assert_allclose(_numpy(ours["age"].variance).ravel(), _numpy(theirs["age"].variance).ravel(),
                               rtol=1e-5)


def _from_scratch_model(lib, lookups, dropout: float):
    """Keras's from-scratch classifier; string columns arrive looked up (loom's graph carries no strings):
    ``city`` one-hot by its StringLookup, ``kind`` as ids one-hot encoded in the model."""
    inputs = {"city": lib.Input(shape=(lookups["city"].vocabulary_size(),), name="city"),
              "kind": lib.Input(shape=(1,), name="kind", dtype="int64"),
              "rooms": lib.Input(shape=(1,), name="rooms", dtype="int64"),
              "area": lib.Input(shape=(1,), name="area"), "age": lib.Input(shape=(1,), name="age")}
    kind = lib.layers.CategoryEncoding(num_tokens=lookups["kind"].vocabulary_size(), output_mode="one_hot")
    features = lib.layers.concatenate([inputs["city"], kind(inputs["kind"]), lookups["rooms"](inputs["rooms"]),
                                       lookups["area"](inputs["area"]), lookups["age"](inputs["age"])])
    x = lib.layers.Dense(16, activation="relu")(features)
    x = lib.layers.Dropout(dropout)(x)
    model = lib.Model(inputs, lib.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def _model_inputs(lookups, columns):
    return {"city": _numpy(lookups["city"](columns["city"])), "kind": _numpy(lookups["kind"](columns["kind"])),
            "rooms": columns["rooms"], "area": columns["area"], "age": columns["age"]}


def test_from_scratch_classifier_trains_like_keras_and_predicts_one_sample():
    columns, y = _table(64)
    train, val = {k: v[:48] for k, v in columns.items()}, {k: v[48:] for k, v in columns.items()}
    lk_ours, lk_theirs = _lookups(loom, train), _lookups(keras, train)
    lm, km = _from_scratch_model(loom, lk_ours, 0.0), _from_scratch_model(keras, lk_theirs, 0.0)
    assert len(lm.get_weights()) == len(km.get_weights())
    lm.set_weights(km.get_weights())
    x_ours, x_theirs = _model_inputs(lk_ours, train), _model_inputs(lk_theirs, train)
    v_ours, v_theirs = _model_inputs(lk_ours, val), _model_inputs(lk_theirs, val)
    lh = lm.fit(x_ours, y[:48], batch_size=16, epochs=3, shuffle=False, validation_data=(v_ours, y[48:]), verbose=0)
    kh = km.fit(x_theirs, y[:48], batch_size=16, epochs=3, shuffle=False, validation_data=(v_theirs, y[48:]),
                verbose=0)
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert_allclose_scaled(lh.history[key], kh.history[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())

    # one new sample, each column a one-element tensor, as the example's inference step
    sample = {"city": "oslo", "kind": "loft", "rooms": 3, "area": 92.5, "age": 12.0}
    ours = {"city": lk_ours["city"]([sample["city"]]),
            "kind": loom.ops.convert_to_tensor(lk_ours["kind"]([sample["kind"]])),
            "rooms": loom.ops.convert_to_tensor([sample["rooms"]]),
            "area": loom.ops.convert_to_tensor([sample["area"]]), "age": loom.ops.convert_to_tensor([sample["age"]])}
    theirs = {"city": lk_theirs["city"]([sample["city"]]),
              "kind": keras.ops.convert_to_tensor(lk_theirs["kind"]([sample["kind"]])),
              "rooms": keras.ops.convert_to_tensor([sample["rooms"]]),
              "area": keras.ops.convert_to_tensor([sample["area"]]),
              "age": keras.ops.convert_to_tensor([sample["age"]])}
    prediction = lm.predict(ours, verbose=0)
    assert prediction.shape == (1, 1)
    assert_allclose_scaled(prediction, km.predict(theirs, verbose=0))


def test_from_scratch_classifier_with_dropout_learns_and_round_trips(tmp_path):
    columns, y = _table(96, seed=1)
    lookups = _lookups(loom, columns)
    model = _from_scratch_model(loom, lookups, 0.5)
    x = {**_model_inputs(lookups, columns), "target": y}  # the table's target column rides along, ignored
    with pytest.warns(UserWarning, match=r"\['target'\].*ignored"):
        first = model.evaluate(x, y, verbose=0)[0]
        model.fit(x, y, batch_size=16, epochs=10, verbose=0)
        loss, accuracy = model.evaluate(x, y, verbose=0)
    assert loss < first and accuracy > 0.75
    # the adapted IntegerLookup and Normalization layers inside the model travel in the .keras file,
    # which Keras itself opens with the same predictions
    del x["target"]
    model.save(tmp_path / "from_scratch.keras")
    expected = model.predict(x, verbose=0)
    np.testing.assert_array_equal(loom.saving.load_model(tmp_path / "from_scratch.keras").predict(x, verbose=0),
                                  expected)
    assert_allclose_scaled(keras.saving.load_model(tmp_path / "from_scratch.keras").predict(x, verbose=0), expected)


# ---------------------------------------------------------------------- 3. working with preprocessing layers
TEXTS = np.array(["the quick brown fox", "the lazy dog sleeps", "a quick dog and a lazy fox", "brown bread"])
RNG = np.random.default_rng(3)
FLOATS = (RNG.normal(size=(40, 3)) * [1.0, 5.0, 0.1] + [0.0, 10.0, -2.0]).astype("float32")


def _normalization_adapted(lib):
    layer = lib.layers.Normalization()
    layer.adapt(FLOATS)
    out = layer(FLOATS[:5])
    inverse = lib.layers.Normalization(invert=True)
    inverse.adapt(FLOATS)
    return [out, inverse(out), layer.mean, layer.variance]


def _normalization_fixed_inverse(lib):
    return lib.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[4.0, 0.25, 9.0], invert=True)(FLOATS[:4])


def _text_vectorization(mode: str):
    def run(lib):
        extra = {"output_sequence_length": 9} if mode == "int" else {}
        layer = lib.layers.TextVectorization(output_mode=mode, ngrams=2, **extra)
        layer.adapt(TEXTS)
        return [layer(TEXTS), layer(["the brown dog and a cat"]), np.array(layer.get_vocabulary(), dtype=object)]
    return run


def _string_lookup_no_mask(lib):
    layer = lib.layers.StringLookup(vocabulary=["a", "b", "c", "d"], mask_token=None)
    return layer(np.array([["a", "c", "d"], ["d", "z", "b"]]))


def _integer_lookup_inverted(lib):
    vocabulary = [12, 36, 1138, 42]
    forward = lib.layers.IntegerLookup(vocabulary=vocabulary)
    inverse = lib.layers.IntegerLookup(vocabulary=vocabulary, invert=True)
    ids = forward(np.array([[12, 1138, 42], [42, 1000, 36]]))
    return [ids, inverse(ids)]


def _hashing_salted(lib):
    data = np.random.default_rng(7).integers(0, 100000, size=(20, 1))
    hashed = lib.layers.Hashing(num_bins=64, salt=1337)(data)
    return [hashed, lib.layers.CategoryEncoding(num_tokens=64, output_mode="multi_hot")(hashed),
            lib.layers.Hashing(num_bins=8, salt=[7, 11])(np.array([["x"], ["y"], ["quick"]]))]


def _hashed_crossing(lib):
    cross = lib.layers.HashedCrossing(num_bins=16)
    one_hot = lib.layers.HashedCrossing(num_bins=5, output_mode="one_hot")
    colors, sizes = np.array(["red", "blue", "red", "green"]), np.array([1, 2, 2, 3])
    return [cross((colors, sizes)), one_hot((colors[:, None], sizes[:, None]))]


def _discretization(lib):
    fixed = lib.layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.0])
    adapted = lib.layers.Discretization(num_bins=4, epsilon=0.01)
    adapted.adapt(FLOATS[:, 0])
    counted = lib.layers.Discretization(bin_boundaries=[0.0, 10.0], output_mode="count")
    return [fixed(FLOATS[:6]), adapted(FLOATS[:6, 0]), np.array(adapted.bin_boundaries), counted(FLOATS[:6])]


def _category_encoding_count(lib):
    layer = lib.layers.CategoryEncoding(num_tokens=5, output_mode="count")
    ids = np.array([[0, 1, 1], [4, 4, 4], [2, 3, 0]])
    return [layer(ids), layer(ids, count_weights=np.array([[0.5, 1.0, 2.0], [1.0, 1.0, 0.5], [3.0, 0.0, 1.0]]))]


PREPROCESSING = {"normalization_adapted": _normalization_adapted,
                 "normalization_fixed_inverse": _normalization_fixed_inverse,
                 "text_vectorization_int": _text_vectorization("int"),
                 "text_vectorization_multi_hot": _text_vectorization("multi_hot"),
                 "text_vectorization_tf_idf": _text_vectorization("tf_idf"),
                 "string_lookup_no_mask": _string_lookup_no_mask, "integer_lookup_inverted": _integer_lookup_inverted,
                 "hashing_salted": _hashing_salted, "hashed_crossing": _hashed_crossing,
                 "discretization": _discretization, "category_encoding_count": _category_encoding_count}


@pytest.mark.parametrize("case", sorted(PREPROCESSING))
def test_preprocessing_layer_guide_matches_keras(case):
    ours, theirs = PREPROCESSING[case](loom), PREPROCESSING[case](keras)
    ours, theirs = (ours, theirs) if isinstance(ours, list) else ([ours], [theirs])
    for i, (got, want) in enumerate(zip(ours, theirs)):
        got, want = np.asarray(_numpy(got)), np.asarray(_numpy(want))
        if want.dtype.kind in "OUS":
            np.testing.assert_array_equal(got.astype(str), want.astype(str), err_msg=f"{case} output {i}")
        else:
            assert got.shape == want.shape or got.size == want.size == got.shape[-1], f"{case} output {i}"
            np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-5, atol=1e-6,
                                       err_msg=f"{case} output {i}")


def test_preprocessing_guide_models_train_on_preprocessed_and_in_model_features():
    """The guide's two placements: lookup inside the model (integers), and text vectorized before it."""
    vectorizer = loom.layers.TextVectorization(output_mode="tf_idf", ngrams=2)
    vectorizer.adapt(TEXTS)
    inputs = loom.Input(shape=(vectorizer.vocabulary_size(),))
    model = loom.Model(inputs, loom.layers.Dense(1)(inputs))
    model.compile(optimizer=loom.optimizers.SGD(0.1), loss="mse")
    history = model.fit(vectorizer(TEXTS), np.array([[1.0], [0.0], [1.0], [0.0]]), epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]

    lookup = loom.layers.IntegerLookup(output_mode="multi_hot")
    lookup.adapt(np.array([[3, 7], [7, 9], [11, 3]]))
    ints = loom.Input(shape=(2,), dtype="int64")
    model = loom.Model(ints, loom.layers.Dense(1)(lookup(ints)))
    assert model.predict(np.array([[3, 9], [5, 5]]), verbose=0).shape == (2, 1)


# ---------------------------------------------------------- 4. collaborative filtering for movie recommendations
def _recommender(lib, num_users: int = 7, num_movies: int = 9, size: int = 4):
    ops, layers = lib.ops, lib.layers

    class RecommenderNet(lib.Model):
        def __init__(self, num_users, num_movies, embedding_size, **kwargs):
            super().__init__(**kwargs)
            regularizer = lib.regularizers.l2(1e-3)
            self.user_embedding = layers.Embedding(num_users, embedding_size, embeddings_initializer="he_normal",
                                                   embeddings_regularizer=regularizer)
            self.user_bias = layers.Embedding(num_users, 1)
            self.movie_embedding = layers.Embedding(num_movies, embedding_size, embeddings_initializer="he_normal",
                                                    embeddings_regularizer=lib.regularizers.l2(1e-6))
            self.movie_bias = layers.Embedding(num_movies, 1)

        def call(self, inputs):
            user_vector = self.user_embedding(inputs[:, 0])
            movie_vector = self.movie_embedding(inputs[:, 1])
            dot_user_movie = ops.tensordot(user_vector, movie_vector, 2)
            x = dot_user_movie + self.user_bias(inputs[:, 0]) + self.movie_bias(inputs[:, 1])
            return ops.nn.sigmoid(x)

    model = RecommenderNet(num_users, num_movies, size)
    model.compile(loss=lib.losses.BinaryCrossentropy(), optimizer=lib.optimizers.Adam(learning_rate=0.01))
    return model


def _ratings(n: int = 40):
    rng = np.random.default_rng(5)
    pairs = np.stack([rng.integers(0, 7, n), rng.integers(0, 9, n)], axis=1)
    ratings = rng.integers(1, 6, n).astype("float32")
    return pairs, ((ratings - 1.0) / 4.0).reshape(-1, 1)  # min-max scaled to [0, 1], as the example


def test_recommender_net_trains_like_keras_with_regularization_losses():
    x, y = _ratings()
    km, lm = _recommender(keras), _recommender(loom)
    km(x[:2]), lm(x[:2])
    assert [w.shape for w in lm.get_weights()] == [w.shape for w in km.get_weights()]
    lm.set_weights(km.get_weights())
    assert len(lm.losses) == len(km.losses) == 2
    assert_allclose_scaled([float(_numpy(v)) for v in lm.losses], [float(_numpy(v)) for v in km.losses])
    lh = lm.fit(x=x[:32], y=y[:32], batch_size=8, epochs=2, shuffle=False, validation_data=(x[32:], y[32:]),
                verbose=0)
    kh = km.fit(x=x[:32], y=y[:32], batch_size=8, epochs=2, shuffle=False, validation_data=(x[32:], y[32:]),
                verbose=0)
    assert_allclose_scaled(lh.history["loss"], kh.history["loss"])
    assert_allclose_scaled(lh.history["val_loss"], kh.history["val_loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
    # the training loss includes the L2 penalty: it exceeds the plain cross-entropy of the same predictions
    bce = float(_numpy(loom.losses.BinaryCrossentropy()(y[:32], lm.predict(x[:32], verbose=0))))
    penalty = sum(float(_numpy(v)) for v in lm.losses)
    assert penalty > 0
    assert_allclose_scaled(lm.evaluate(x[:32], y[:32], verbose=0), bce + penalty, rel=1e-4)
    assert_allclose_scaled(lm.predict(x[32:], verbose=0), km.predict(x[32:], verbose=0))


def test_recommender_net_one_train_step_on_batch_matches_keras():
    x, y = _ratings(16)
    km, lm = _recommender(keras), _recommender(loom)
    km(x[:2]), lm(x[:2])
    lm.set_weights(km.get_weights())
    assert_allclose_scaled(lm.train_on_batch(x, y), km.train_on_batch(x, y))
    assert_weights_close(lm.get_weights(), km.get_weights())


# ---------------------------------------------------------- 5. wide & deep on dict batches from a PyDataset
AGE_BOUNDARIES = [15.0, 30.0, 45.0]


def _wide_deep_preprocessors(lib):
    """Per-column preprocessing run in the data pipeline: string lookups, and a Pipeline bucketizing ages."""
    return {"city": lib.layers.StringLookup(vocabulary=list(CITIES)),
            "kind": lib.layers.StringLookup(vocabulary=list(KINDS), num_oov_indices=0),
            "age_bucket": lib.layers.Pipeline([lib.layers.Discretization(bin_boundaries=AGE_BOUNDARIES),
                                               lib.layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")])}


def _table_dataset(lib):
    class TableDataset(lib.utils.PyDataset):
        """Dict batches of one table: scalar columns, string columns as lookup ids, a bucketized age."""

        def __init__(self, columns, targets, batch_size, shuffle_seed=None, **kwargs):
            super().__init__(**kwargs)
            self.columns, self.targets, self.batch_size = columns, targets, batch_size
            self.preprocessors = _wide_deep_preprocessors(lib)
            self.order = np.arange(len(targets))
            self.rng = None if shuffle_seed is None else np.random.default_rng(shuffle_seed)
            self.epochs_ended = 0

        def __len__(self):
            return int(np.ceil(len(self.targets) / self.batch_size))

        def __getitem__(self, index):
            rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            batch = {"area": (self.columns["area"][rows] - 70.0) / 20.0, "rooms": self.columns["rooms"][rows],
                     "age_bucket": _numpy(self.preprocessors["age_bucket"](self.columns["age"][rows]))}
            for name in ("city", "kind"):
                batch[name] = _numpy(self.preprocessors[name](self.columns[name][rows])).astype("int64")
            return batch, self.targets[rows]

        def on_epoch_end(self):
            self.epochs_ended += 1
            if self.rng is not None:
                self.rng.shuffle(self.order)
    return TableDataset


def _wide_and_deep(lib):
    ops, layers = lib.ops, lib.layers
    inputs = {"area": lib.Input(shape=(), dtype="float32", name="area"),
              "rooms": lib.Input(shape=(), dtype="int64", name="rooms"),
              "city": lib.Input(shape=(), dtype="int64", name="city"),
              "kind": lib.Input(shape=(), dtype="int64", name="kind"),
              "age_bucket": lib.Input(shape=(4,), dtype="float32", name="age_bucket")}
    city = layers.CategoryEncoding(num_tokens=len(CITIES) + 1, output_mode="one_hot")(inputs["city"])
    kind = layers.CategoryEncoding(num_tokens=len(KINDS), output_mode="one_hot")(inputs["kind"])
    wide = layers.concatenate([city, kind, inputs["age_bucket"]])
    deep = layers.concatenate([layers.Embedding(len(CITIES) + 1, 3)(inputs["city"]),
                               layers.Embedding(len(KINDS), 2)(inputs["kind"]),
                               ops.expand_dims(inputs["area"], -1),
                               ops.expand_dims(ops.cast(inputs["rooms"], "float32"), -1)])
    deep = layers.Dense(8, activation="relu")(deep)
    merged = layers.concatenate([wide, deep])
    model = lib.Model(inputs, layers.Dense(1, activation="sigmoid")(merged))
    model.compile(optimizer=lib.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=[lib.metrics.BinaryAccuracy(name="acc")])
    return model


def test_wide_and_deep_on_a_py_dataset_matches_keras():
    columns, y = _table(48)
    train = {k: v[:32] for k, v in columns.items()}
    val = {k: v[32:] for k, v in columns.items()}
    km, lm = _wide_and_deep(keras), _wide_and_deep(loom)
    lm.set_weights(km.get_weights())
    datasets = {}
    for lib in (keras, loom):
        cls = _table_dataset(lib)
        datasets[lib] = (cls(train, y[:32], 8), cls(val, y[32:], 8))
    # shuffle=False: by default both shuffle a PyDataset's batch order, each with its own draws
    kh = km.fit(datasets[keras][0], epochs=2, validation_data=datasets[keras][1], shuffle=False, verbose=0)
    lh = lm.fit(datasets[loom][0], epochs=2, validation_data=datasets[loom][1], shuffle=False, verbose=0)
    for key in ("loss", "acc", "val_loss", "val_acc"):
        assert_allclose_scaled(lh.history[key], kh.history[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())
    assert_allclose_scaled(lm.evaluate(datasets[loom][1], verbose=0), km.evaluate(datasets[keras][1], verbose=0))
    assert_allclose_scaled(lm.predict(datasets[loom][1], verbose=0), km.predict(datasets[keras][1], verbose=0))
    # loom calls on_epoch_end once per training epoch (Keras also once more while building the model)
    assert datasets[loom][0].epochs_ended == 2


def test_wide_and_deep_with_split_dataset_and_shuffling_py_dataset_learns():
    columns, y = _table(96, seed=2)
    rows = np.arange(96)
    train_rows, test_rows = loom.utils.split_dataset(rows, left_size=0.75, shuffle=True, seed=4)
    train_rows = np.array([int(r[0]) for r in train_rows])
    test_rows = np.array([int(r[0]) for r in test_rows])
    assert len(train_rows) == 72 and len(test_rows) == 24
    assert sorted(np.concatenate([train_rows, test_rows]).tolist()) == list(range(96))
    assert train_rows.tolist() != sorted(train_rows.tolist())
    # shuffle=False keeps the order, as Keras's TensorFlow path (its torch path shuffles even then)
    left, right = loom.utils.split_dataset((rows, rows * 10), left_size=0.75)
    assert [int(a) for a, _ in left] == list(range(72)) and [int(b) for _, b in right][:2] == [720, 730]
    cls = _table_dataset(loom)
    train = cls({k: v[train_rows] for k, v in columns.items()}, y[train_rows], 12, shuffle_seed=0, workers=2)
    test = cls({k: v[test_rows] for k, v in columns.items()}, y[test_rows], 12)
    model = _wide_and_deep(loom)
    before = model.evaluate(train, verbose=0)[0]
    train.epochs_ended = 0
    history = model.fit(train, epochs=8, verbose=0)
    assert history.history["loss"][-1] < before and train.epochs_ended == 8
    assert model.evaluate(test, verbose=0)[0] < 1.0
    assert model.predict(test, verbose=0).shape == (24, 1)
    # the pipeline's config round trip rebuilds the same bucketizing
    pipeline = _wide_deep_preprocessors(loom)["age_bucket"]
    copy = loom.layers.Pipeline.from_config(pipeline.get_config())
    ages = columns["age"][:10]
    np.testing.assert_array_equal(_numpy(copy(ages)), _numpy(pipeline(ages)))


def test_deep_and_cross_hashes_integer_features_inside_the_model_and_round_trips(tmp_path):
    columns, y = _table(48)

    def make(lib):
        rooms = lib.Input(shape=(1,), dtype="int64", name="rooms")
        floor = lib.Input(shape=(1,), dtype="int64", name="floor")
        area = lib.Input(shape=(1,), name="area")
        crossed = lib.layers.HashedCrossing(num_bins=16, output_mode="one_hot")((rooms, floor))
        hashed = lib.layers.Hashing(num_bins=8, salt=7, output_mode="one_hot")(rooms)
        x0 = lib.layers.concatenate([crossed, hashed, lib.layers.Normalization(mean=70.0, variance=400.0)(area)])
        x = lib.layers.Dense(x0.shape[-1])(x0)
        cross = x0 * x + x0  # one cross layer of a Deep & Cross network, written as the example does
        model = lib.Model({"rooms": rooms, "floor": floor, "area": area},
                          lib.layers.Dense(1, activation="sigmoid")(cross))
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="binary_crossentropy")
        return model
    x = {"rooms": columns["rooms"][:, None], "floor": columns["floor"][:, None], "area": columns["area"][:, None]}
    km, lm = make(keras), make(loom)
    lm.set_weights(km.get_weights())
    kh = km.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    lh = lm.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert_allclose_scaled(lh.history["loss"], kh.history["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
    # the operators are saved as Keras's recorded operations, the hashing layers with their settings
    lm.save(tmp_path / "deep_cross.keras")
    restored = loom.saving.load_model(tmp_path / "deep_cross.keras")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), lm.predict(x, verbose=0))
    assert_allclose_scaled(keras.saving.load_model(tmp_path / "deep_cross.keras").predict(x, verbose=0),
                           lm.predict(x, verbose=0))
