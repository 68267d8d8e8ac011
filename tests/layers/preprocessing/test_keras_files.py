"""Preprocessing layers in `.keras` archives, both ways: Keras saves -> loom loads (an adapted lookup's
vocabulary comes from the archive's assets/) and loom saves -> Keras loads; and loom's own `.loom` files."""

import zipfile

import numpy as np
import pytest

import loom
from tests.keras_oracle import keras

INTS = np.array([[1, 5, 5], [7, 5, 1], [3, 3, 3]])
FLOATS = np.random.default_rng(0).random((10, 5)).astype("float32")


def _keras_lookup_model():
    pytest.importorskip("tensorflow")
    inputs = keras.Input((3,), dtype="int64")
    lookup = keras.layers.IntegerLookup(output_mode="count")
    lookup.adapt(INTS)
    return keras.Model(inputs, keras.layers.Dense(2)(lookup(inputs)))


def test_adapted_lookup_vocabulary_moves_both_ways(tmp_path):
    model = _keras_lookup_model()
    model.save(tmp_path / "k.keras")
    assert "assets/layers/integer_lookup/vocabulary.txt" in zipfile.ZipFile(tmp_path / "k.keras").namelist()
    ours = loom.models.load_model(tmp_path / "k.keras")
    expected = model.predict(INTS, verbose=0)
    np.testing.assert_allclose(ours.predict(INTS, verbose=0), expected, atol=1e-6)
    ours.save(tmp_path / "l.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "l.keras").predict(INTS, verbose=0), expected,
                               atol=1e-6)
    ours.save(tmp_path / "l.loom")
    np.testing.assert_allclose(loom.models.load_model(tmp_path / "l.loom").predict(INTS, verbose=0), expected,
                               atol=1e-6)


def test_numeric_preprocessing_moves_both_ways(tmp_path):
    inputs = keras.Input((5,))
    norm = keras.layers.Normalization()
    norm.adapt(FLOATS)
    x = keras.layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.0], output_mode="one_hot")(norm(inputs))
    x = keras.layers.Reshape((20,))(x)
    model = keras.Model(inputs, keras.layers.Dense(1)(x))
    model.save(tmp_path / "k.keras")
    expected = model.predict(FLOATS, verbose=0)
    ours = loom.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(ours.predict(FLOATS, verbose=0), expected, atol=1e-5)
    ours.save(tmp_path / "l.keras")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "l.keras").predict(FLOATS, verbose=0), expected,
                               atol=1e-5)


def test_archive_entries_outside_assets_layers_are_refused(tmp_path):
    from loom.models.keras_archive import is_keras_archive
    base = ["config.json", "metadata.json", "model.weights.h5"]
    assert is_keras_archive(base + ["assets/", "assets/layers/string_lookup/vocabulary.txt"])
    assert not is_keras_archive(base + ["assets/../evil.txt"])
    assert not is_keras_archive(base + ["assets/layers/x/run.py"])
