"""Legacy ``.h5`` full models: Keras 2 / tf.keras 2 files (written here with h5py in their layout) and
Keras 3's own ``model.save("m.h5")`` load with ``load_model``; Keras 3 rebuilt by hand is the oracle."""

import json

import h5py
import numpy as np
import pytest

import loom
from loom.errors import ModelFileError
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled

GLOROT_V2 = {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform",
                                                         "seed": None}}
ZEROS = {"class_name": "Zeros", "config": {}}


def _dense_v2(name, units, activation, **extra):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "units": units, "activation": activation, "use_bias": True,
        "kernel_initializer": GLOROT_V2, "bias_initializer": ZEROS, "kernel_regularizer": None,
        "bias_regularizer": None, "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
        **extra}}


def _write_v2(path, model_config, training_config, weights):
    """A Keras 2 full-model file: JSON attributes plus ``model_weights/<layer>/<layer>/<weight>:0``."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf-8")
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode("utf-8")
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [name.encode() for name in weights]
        for layer, arrays in weights.items():
            layer_group = group.create_group(layer)
            names = [f"{layer}/{weight}:0" for weight, _ in arrays]
            layer_group.attrs["weight_names"] = [n.encode() for n in names]
            for name, (_, value) in zip(names, arrays):
                layer_group.create_dataset(name, data=value)


def _random(shape, seed):
    return np.random.default_rng(seed).normal(scale=0.3, size=shape).astype("float32")


def test_keras2_sequential_text_model(tmp_path):
    lstm = {"class_name": "LSTM", "config": {
        "name": "lstm_1", "trainable": True, "return_sequences": False, "return_state": False,
        "go_backwards": False, "stateful": False, "unroll": False, "units": 6, "activation": "tanh",
        "recurrent_activation": "sigmoid", "use_bias": True, "kernel_initializer": GLOROT_V2,
        "recurrent_initializer": {"class_name": "Orthogonal", "config": {"gain": 1.0, "seed": None}},
        "bias_initializer": ZEROS, "unit_forget_bias": True, "kernel_regularizer": None,
        "recurrent_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "recurrent_constraint": None, "bias_constraint": None, "dropout": 0.0,
        "recurrent_dropout": 0.0, "implementation": 1}}
    embedding = {"class_name": "Embedding", "config": {
        "name": "embedding_1", "trainable": True, "batch_input_shape": [None, 10], "dtype": "float32",
        "input_dim": 50, "output_dim": 8, "embeddings_initializer": {
            "class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": None}},
        "embeddings_regularizer": None, "activity_regularizer": None, "embeddings_constraint": None,
        "mask_zero": True, "input_length": 10}}
    config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        embedding, lstm, _dense_v2("dense_1", 1, "sigmoid")]}}
    training = {"optimizer_config": {"class_name": "RMSprop", "config": {"lr": 0.01, "rho": 0.9, "epsilon": 1e-07,
                                                                       "decay": 0.0}},
                "loss": "binary_crossentropy", "metrics": ["acc"], "sample_weight_mode": None, "loss_weights": None}
    weights = {"embedding_1": [("embeddings", _random((50, 8), 0))],
               "lstm_1": [("kernel", _random((8, 24), 1)), ("recurrent_kernel", _random((6, 24), 2)),
                          ("bias", _random((24,), 3))],
               "dense_1": [("kernel", _random((6, 1), 4)), ("bias", _random((1,), 5))]}
    _write_v2(tmp_path / "text.h5", config, training, weights)

    model = loom.models.load_model(tmp_path / "text.h5")
    oracle = keras.Sequential([keras.Input((10,), dtype="int32"), keras.layers.Embedding(50, 8, mask_zero=True),
                               keras.layers.LSTM(6), keras.layers.Dense(1, activation="sigmoid")])
    oracle.set_weights([a for arrays in weights.values() for _, a in arrays])
    x = np.random.default_rng(9).integers(1, 50, (4, 10)).astype("int32")
    x[:, 7:] = 0
    assert_allclose_scaled(model.predict(x, verbose=0), oracle.predict(x, verbose=0), rel=1e-5)
    assert type(model.optimizer).__name__ == "RMSprop"
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    history = model.fit(x, np.array([[0], [1], [1], [0]], "float32"), epochs=2, verbose=0).history
    assert set(history) == {"loss", "acc"}


def test_keras2_functional_model_with_node_lists(tmp_path):
    def node(*refs):
        return [[[name, 0, 0, {}] for name in refs]]

    layers = [
        {"name": "image", "class_name": "InputLayer", "config": {"batch_input_shape": [None, 6, 6, 2],
                                                                 "dtype": "float32", "sparse": False,
                                                                 "name": "image"}, "inbound_nodes": []},
        {"name": "meta", "class_name": "InputLayer", "config": {"batch_input_shape": [None, 3], "dtype": "float32",
                                                                "sparse": False, "name": "meta"},
         "inbound_nodes": []},
        {"name": "conv", "class_name": "Conv2D", "config": {
            "name": "conv", "trainable": True, "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
            "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu",
            "use_bias": True, "kernel_initializer": GLOROT_V2, "bias_initializer": ZEROS,
            "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
            "kernel_constraint": None, "bias_constraint": None}, "inbound_nodes": node("image")},
        {"name": "bn", "class_name": "BatchNormalization", "config": {
            "name": "bn", "trainable": True, "axis": [3], "momentum": 0.99, "epsilon": 0.001, "center": True,
            "scale": True, "beta_initializer": ZEROS, "gamma_initializer": {"class_name": "Ones", "config": {}},
            "moving_mean_initializer": ZEROS, "moving_variance_initializer": {"class_name": "Ones", "config": {}},
            "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None},
         "inbound_nodes": node("conv")},
        {"name": "pool", "class_name": "GlobalAveragePooling2D", "config": {"name": "pool", "trainable": True,
                                                                            "data_format": "channels_last"},
         "inbound_nodes": node("bn")},
        {"name": "merge", "class_name": "Concatenate", "config": {"name": "merge", "trainable": True, "axis": -1},
         "inbound_nodes": node("pool", "meta")},
        {**_dense_v2("out", 2, "softmax"), "name": "out", "inbound_nodes": node("merge")},
    ]
    config = {"class_name": "Model", "config": {"name": "model_1", "layers": layers,
                                                "input_layers": [["image", 0, 0], ["meta", 0, 0]],
                                                "output_layers": [["out", 0, 0]]}}
    weights = {"image": [], "meta": [], "conv": [("kernel", _random((3, 3, 2, 4), 0)), ("bias", _random((4,), 1))],
               "bn": [("gamma", 1 + _random((4,), 2)), ("beta", _random((4,), 3)),
                      ("moving_mean", _random((4,), 4)), ("moving_variance", 1 + np.abs(_random((4,), 5)))],
               "pool": [], "merge": [], "out": [("kernel", _random((7, 2), 6)), ("bias", _random((2,), 7))]}
    training = {"optimizer_config": {"class_name": "Adam", "config": {"lr": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                                                                    "epsilon": None, "decay": 0.0, "amsgrad": False}},
                "loss": "categorical_crossentropy", "metrics": ["accuracy"], "loss_weights": None}
    _write_v2(tmp_path / "dag.h5", config, training, weights)
    model = loom.models.load_model(tmp_path / "dag.h5")

    a, b = keras.Input((6, 6, 2)), keras.Input((3,))
    y = keras.layers.GlobalAveragePooling2D()(keras.layers.BatchNormalization()(
        keras.layers.Conv2D(4, 3, activation="relu")(a)))
    oracle = keras.Model([a, b], keras.layers.Dense(2, activation="softmax")(keras.layers.concatenate([y, b])))
    oracle.set_weights([v for arrays in weights.values() for _, v in arrays])
    x = [_random((5, 6, 6, 2), 8), _random((5, 3), 9)]
    assert_allclose_scaled(model.predict(x, verbose=0), oracle.predict(x, verbose=0), rel=1e-5)
    assert model.compiled


def test_keras3_legacy_h5_and_weight_mismatch(tmp_path):
    oracle = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)])
    oracle.compile("adam", "mse")
    oracle.save(str(tmp_path / "k3.h5"))
    model = loom.models.load_model(tmp_path / "k3.h5")
    x = _random((4, 5), 0)
    assert_allclose_scaled(model.predict(x, verbose=0), oracle.predict(x, verbose=0), rel=1e-5)

    with h5py.File(tmp_path / "k3.h5", "a") as f:  # one weight of the wrong shape
        first = f["model_weights"].attrs["layer_names"][0]
        group = f["model_weights"][first.decode() if isinstance(first, bytes) else first]
        name = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]][0]
        del group[name]
        group.create_dataset(name, data=np.zeros((4, 3), "float32"))
    with pytest.raises(ModelFileError, match="shape"):
        loom.models.load_model(tmp_path / "k3.h5")


def test_weights_only_h5_is_a_clear_error(tmp_path):
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ModelFileError, match="load_weights"):
        loom.models.load_model(tmp_path / "w.weights.h5")


def test_loom_writes_legacy_h5_that_keras_and_loom_read(tmp_path):
    from tests.models.test_keras_archive import _text, _text_data
    model = _text(loom)
    x, y = _text_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.h5")
    assert h5py.is_hdf5(tmp_path / "m.h5")
    oracle = keras.models.load_model(str(tmp_path / "m.h5"), compile=False)
    assert_allclose_scaled(oracle.predict(x, verbose=0), model.predict(x, verbose=0), rel=1e-5)
    back = loom.models.load_model(tmp_path / "m.h5")
    assert_allclose_scaled(back.predict(x, verbose=0), model.predict(x, verbose=0), rel=1e-5)
    assert type(back.optimizer).__name__ == "RMSprop"
