"""The training loop against Keras 3 (torch backend): same weights, same batches -> same numbers."""

import numpy as np
import pytest
import torch

import loom
import loom.optimizers  # noqa: F401 - loom.optimizers.SGD below
from loom.errors import ConfigError, InputError, ShapeError, TrainingError
from tests.keras_oracle import keras

RNG = np.random.default_rng(0)
X = RNG.random((60, 6)).astype("float32")
Y_SPARSE = RNG.integers(0, 3, 60)
Y_BIN = RNG.integers(0, 2, (60, 1)).astype("float32")


def mlp(lib, out_units=3, out_activation="softmax"):
    inputs = lib.Input((6,), name="x")
    h = lib.layers.Dense(8, activation="relu", name="h")(inputs)
    return lib.Model(inputs, lib.layers.Dense(out_units, activation=out_activation, name="out")(h))


def pair(out_units=3, out_activation="softmax"):
    k, l = mlp(keras, out_units, out_activation), mlp(loom, out_units, out_activation)
    l.set_weights(k.get_weights())
    return k, l


def assert_history_close(hk, hl, tol=1e-5):
    assert list(hk.history) == list(hl.history)
    for key in hk.history:
        np.testing.assert_allclose(hl.history[key], hk.history[key], rtol=tol, atol=tol, err_msg=key)


def assert_weights_close(k, l, tol=1e-5):
    for a, b in zip(k.get_weights(), l.get_weights()):
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam"])
def test_fit_matches_keras_losses_and_weights(optimizer):
    k, l = pair()
    for model in (k, l):
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0)
    hk, hl = k.fit(X, Y_SPARSE, **kw), l.fit(X, Y_SPARSE, **kw)
    assert_history_close(hk, hl)
    assert_weights_close(k, l)


def test_validation_split_takes_the_last_fraction_like_keras():
    k, l = pair()
    for model in (k, l):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    kw = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, validation_split=0.25)
    hk, hl = k.fit(X, Y_SPARSE, **kw), l.fit(X, Y_SPARSE, **kw)
    assert list(hl.history) == ["acc", "loss", "val_acc", "val_loss"]
    assert_history_close(hk, hl)


def test_sample_weight_and_weighted_metrics_match_keras():
    k, l = pair(1, "sigmoid")
    sw = RNG.random(60).astype("float32")
    for model in (k, l):
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"],
                      weighted_metrics=["accuracy"])
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0, sample_weight=sw)
    hk, hl = k.fit(X, Y_BIN, **kw), l.fit(X, Y_BIN, **kw)
    assert "weighted_accuracy" in hl.history
    assert_history_close(hk, hl)
    assert_weights_close(k, l)


def test_class_weight_matches_keras():
    k, l = pair()
    for model in (k, l):
        model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy")
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0, class_weight={0: 0.5, 1: 2.0, 2: 1.0})
    hk, hl = k.fit(X, Y_SPARSE, **kw), l.fit(X, Y_SPARSE, **kw)
    assert_history_close(hk, hl)
    assert_weights_close(k, l)


def two_in_two_out(lib):
    a = lib.Input((4,), name="a")
    b = lib.Input((3,), name="b")
    h = lib.layers.Dense(8, activation="relu", name="h")(lib.layers.concatenate([a, b], name="cat"))
    o1 = lib.layers.Dense(1, activation="sigmoid", name="o1")(h)
    o2 = lib.layers.Dense(3, activation="softmax", name="o2")(h)
    return lib.Model([a, b], [o1, o2])


MX = {"a": RNG.random((40, 4)).astype("float32"), "b": RNG.random((40, 3)).astype("float32")}
MY = [RNG.integers(0, 2, (40, 1)).astype("float32"), RNG.integers(0, 3, (40, 1))]


@pytest.mark.parametrize("compile_kw", [
    dict(loss=["binary_crossentropy", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5],
         metrics=["accuracy", ["acc", "mse"]]),
    dict(loss={"o1": "binary_crossentropy", "o2": "sparse_categorical_crossentropy"},
         loss_weights={"o1": 2.0, "o2": 1.0}, metrics={"o2": ["accuracy"]}),
])
def test_multi_output_history_keys_values_and_evaluate_order_match_keras(compile_kw):
    k, l = two_in_two_out(keras), two_in_two_out(loom)
    l.set_weights(k.get_weights())
    for model in (k, l):
        model.compile(optimizer="sgd", **compile_kw)
    kw = dict(epochs=2, batch_size=8, shuffle=False, verbose=0, validation_split=0.25)
    hk, hl = k.fit(MX, MY, **kw), l.fit([MX["a"], MX["b"]], {"o1": MY[0], "o2": MY[1]}, **kw)
    assert_history_close(hk, hl)
    ek, el = k.evaluate(MX, MY, verbose=0), l.evaluate(MX, MY, verbose=0)
    np.testing.assert_allclose(el, ek, rtol=1e-5)
    assert k.evaluate(MX, MY, verbose=0, return_dict=True).keys() == l.evaluate(MX, MY, verbose=0,
                                                                                return_dict=True).keys()
    assert l.metrics_names[0] == "loss" and len(l.metrics_names) == len(el)
    pk, pl = k.predict(MX, verbose=0), l.predict(MX, verbose=0)
    for a, b in zip(pk, pl):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_evaluate_and_predict_match_keras_and_return_types():
    k, l = pair()
    for model in (k, l):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_allclose(l.evaluate(X, Y_SPARSE, batch_size=7, verbose=0),
                               k.evaluate(X, Y_SPARSE, batch_size=7, verbose=0), rtol=1e-5)
    assert l.evaluate(X, Y_SPARSE, verbose=0, return_dict=True).keys() == {"loss", "accuracy"}
    out = l.predict(X, batch_size=7, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (60, 3)
    np.testing.assert_allclose(out, k.predict(X, batch_size=7, verbose=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(l.predict_on_batch(X[:4]), out[:4], rtol=1e-6)
    l.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert isinstance(l.evaluate(X, Y_SPARSE, verbose=0), float)


def test_train_and_test_on_batch_match_keras():
    k, l = pair()
    for model in (k, l):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    for _ in range(2):
        np.testing.assert_allclose(l.train_on_batch(X, Y_SPARSE), k.train_on_batch(X, Y_SPARSE), rtol=1e-5)
    np.testing.assert_allclose(l.test_on_batch(X, Y_SPARSE), k.test_on_batch(X, Y_SPARSE), rtol=1e-5)
    assert_weights_close(k, l)
    assert set(l.train_on_batch(X, Y_SPARSE, return_dict=True)) == {"loss", "accuracy"}


def test_regularizers_add_to_the_loss_like_keras():
    def build(lib):
        inputs = lib.Input((6,))
        h = lib.layers.Dense(8, activation="relu", kernel_regularizer=lib.regularizers.l2(0.01))(inputs)
        return lib.Model(inputs, lib.layers.Dense(3, activation="softmax")(h))
    k, l = build(keras), build(loom)
    l.set_weights(k.get_weights())
    for model in (k, l):
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert_history_close(k.fit(X, Y_SPARSE, **kw), l.fit(X, Y_SPARSE, **kw))


# --------------------------------------------------------------------------------------- data sources
def fitted_losses(x, y=None, **kw):
    loom.utils.set_random_seed(3)
    model = mlp(loom)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model.fit(x, y, epochs=2, verbose=0, **kw).history["loss"]


def test_dataset_dataloader_generator_and_tensors_give_the_same_losses():
    xt, yt = torch.from_numpy(X), torch.from_numpy(Y_SPARSE)
    dataset = torch.utils.data.TensorDataset(xt, yt)
    arrays = fitted_losses(X, Y_SPARSE, batch_size=20, shuffle=False)
    np.testing.assert_allclose(fitted_losses(xt, yt, batch_size=20, shuffle=False), arrays, rtol=1e-6)
    np.testing.assert_allclose(fitted_losses(dataset, batch_size=20, shuffle=False), arrays, rtol=1e-6)
    loader = torch.utils.data.DataLoader(dataset, batch_size=20)
    np.testing.assert_allclose(fitted_losses(loader), arrays, rtol=1e-6)

    def batches():
        while True:
            for i in range(0, 60, 20):
                yield X[i:i + 20], Y_SPARSE[i:i + 20]
    np.testing.assert_allclose(fitted_losses(batches(), steps_per_epoch=3), arrays, rtol=1e-6)


def test_one_shot_generator_ends_training_with_a_warning():
    gen = ((X[i:i + 20], Y_SPARSE[i:i + 20]) for i in range(0, 60, 20))
    model = mlp(loom)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(gen, epochs=3, verbose=0)
    assert history.epoch == [0]


def test_keras_sequence_like_source_and_dataloader_validation():
    class Seq:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return X[i * 20:(i + 1) * 20], Y_SPARSE[i * 20:(i + 1) * 20]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X),
                                                                        torch.from_numpy(Y_SPARSE)), batch_size=30)
    history = fitted_losses(Seq(), validation_data=loader)
    arrays = fitted_losses(X, Y_SPARSE, batch_size=20, shuffle=False)
    np.testing.assert_allclose(history, arrays, rtol=1e-6)


def test_dict_inputs_and_sequential_built_from_data():
    model = loom.Sequential([loom.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["acc"])
    history = model.fit(X, Y_SPARSE, epochs=1, verbose=0)
    assert model.output_shape == (None, 3) and set(history.history) == {"acc", "loss"}


def test_shuffle_is_repeatable_with_set_random_seed_and_changes_order():
    a = fitted_losses(X, Y_SPARSE, batch_size=8)
    b = fitted_losses(X, Y_SPARSE, batch_size=8)
    c = fitted_losses(X, Y_SPARSE, batch_size=8, shuffle=False)
    assert a == b
    assert a != c


def test_validation_freq_and_initial_epoch():
    model = mlp(loom)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(X, Y_SPARSE, epochs=4, verbose=0, validation_data=(X, Y_SPARSE), validation_freq=2)
    assert len(history.history["loss"]) == 4 and len(history.history["val_loss"]) == 2
    history = model.fit(X, Y_SPARSE, epochs=3, initial_epoch=1, verbose=0)
    assert history.epoch == [1, 2]


def test_learning_rate_change_by_a_callback_takes_effect():
    class FreezeAfterFirstEpoch(loom.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.snapshots = []

        def on_epoch_end(self, epoch, logs=None):
            self.snapshots.append([w.copy() for w in self.model.get_weights()])
            self.model.optimizer.learning_rate = 0.0

    model = mlp(loom)
    model.compile(optimizer=loom.optimizers.SGD(learning_rate=0.5), loss="sparse_categorical_crossentropy")
    start = [w.copy() for w in model.get_weights()]
    cb = FreezeAfterFirstEpoch()
    model.fit(X, Y_SPARSE, epochs=3, verbose=0, callbacks=[cb])
    first, second, third = cb.snapshots
    assert any(not np.array_equal(a, b) for a, b in zip(start, first))
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert all(np.array_equal(a, b) for a, b in zip(first, third))
    assert model.optimizer.learning_rate == 0.0


def test_compile_config_is_json_and_round_trips():
    import json
    model = mlp(loom)
    model.compile(optimizer=loom.optimizers.Adam(learning_rate=0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    config = json.loads(json.dumps(model._compile_config))
    clone = mlp(loom)
    clone.compile_from_config(config)
    assert isinstance(clone.optimizer, loom.optimizers.Adam) and clone.optimizer.learning_rate == 0.01
    assert clone.get_compile_config() == model.get_compile_config()
    clone.fit(X, Y_SPARSE, verbose=0)


@pytest.mark.slow
def test_jit_compile_gives_the_same_losses_as_eager():
    eager, compiled = [], []
    for jit, out in ((False, eager), (True, compiled)):
        loom.utils.set_random_seed(5)
        model = mlp(loom)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=jit)
        out.extend(model.fit(X, Y_SPARSE, epochs=2, batch_size=20, shuffle=False, verbose=0).history["loss"])
    np.testing.assert_allclose(compiled, eager, rtol=1e-5)


def test_mixed_bfloat16_trains_with_float32_weights():
    model = mlp(loom)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", mixed_precision="mixed_bfloat16")
    history = model.fit(X, Y_SPARSE, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert model.predict(X[:2], verbose=0).dtype == np.float32


# ---------------------------------------------------------------------------------------------- errors
def compiled(loss="sparse_categorical_crossentropy"):
    model = mlp(loom)
    model.compile(optimizer="sgd", loss=loss)
    return model


def test_fit_before_compile():
    with pytest.raises(ConfigError, match="compile"):
        mlp(loom).fit(X, Y_SPARSE, verbose=0)


def test_sample_count_mismatch_names_both_counts():
    with pytest.raises(InputError, match=r"x has 60 samples; y has 59 samples"):
        compiled().fit(X, Y_SPARSE[:59], verbose=0)


def test_missing_dict_key_lists_expected_names():
    model = two_in_two_out(loom)
    model.compile(optimizer="sgd", loss=["binary_crossentropy", "sparse_categorical_crossentropy"])
    with pytest.raises(InputError, match=r"missing \['b'\]"):
        model.fit({"a": MX["a"]}, MY, verbose=0)
    with pytest.raises(InputError, match=r"\['o1', 'o2'\]"):
        model.fit(MX, {"o1": MY[0]}, verbose=0)


def test_wrong_number_of_losses():
    model = two_in_two_out(loom)
    model.compile(optimizer="sgd", loss=["mse", "mse", "mse"])
    with pytest.raises(ConfigError, match=r"3 entries but the model has 2 output\(s\) \['o1', 'o2'\]"):
        model.fit(MX, MY, verbose=0)


def test_integer_labels_with_categorical_crossentropy_suggest_sparse():
    with pytest.raises(InputError, match="sparse_categorical_crossentropy"):
        compiled("categorical_crossentropy").fit(X, Y_SPARSE, verbose=0)


def test_target_shape_mismatch_names_output_and_shapes():
    with pytest.raises(ShapeError, match=r"output 'out'.*\(60, 5\).*\(None, 3\)"):
        compiled("mse").fit(X, np.zeros((60, 5)), verbose=0)


def test_input_shape_mismatch():
    with pytest.raises(InputError, match=r"expects shape \(None, 6\)"):
        compiled().fit(np.zeros((60, 5)), Y_SPARSE, verbose=0)


def test_nan_loss_raises_naming_epoch_and_batch():
    x = X.copy()
    x[45] = np.nan
    with pytest.raises(TrainingError, match=r"epoch 1, batch 2"):
        compiled().fit(x, Y_SPARSE, batch_size=20, shuffle=False, verbose=0)


def test_class_weight_with_multi_output_is_rejected():
    model = two_in_two_out(loom)
    model.compile(optimizer="sgd", loss=["binary_crossentropy", "sparse_categorical_crossentropy"])
    with pytest.raises(ConfigError, match="single output"):
        model.fit(MX, MY, class_weight={0: 1.0}, verbose=0)


def test_validation_split_needs_enough_samples():
    with pytest.raises(ConfigError, match="validation_split"):
        compiled().fit(X[:1], Y_SPARSE[:1], validation_split=0.5, verbose=0)


def test_subclassed_models_train_with_single_and_multiple_outputs():
    class Sub(loom.Model):
        def __init__(self):
            super().__init__()
            self.hidden = loom.layers.Dense(8, activation="relu")
            self.out = loom.layers.Dense(3, activation="softmax")

        def call(self, x):
            return self.out(self.hidden(x))

    model = Sub()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, Y_SPARSE, epochs=2, verbose=0, validation_split=0.2)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert model.predict(X[:3], verbose=0).shape == (3, 3)

    class Two(loom.Model):
        def __init__(self):
            super().__init__()
            self.a, self.b = loom.layers.Dense(1), loom.layers.Dense(2)

        def call(self, inputs):
            return [self.a(inputs["a"]), self.b(inputs["b"])]

    model = Two()
    model.compile(optimizer="sgd", loss=["mse", "mse"])
    history = model.fit({"a": MX["a"], "b": MX["b"][:, :2]}, [MY[0], np.zeros((40, 2))], verbose=0)
    assert sorted(history.history) == ["loss", "output_1_loss", "output_2_loss"]


def test_validation_steps_restart_from_the_first_batch_each_epoch():
    seen = []

    class Watch(loom.callbacks.Callback):
        def on_test_batch_end(self, batch, logs=None):
            seen.append(batch)

    model = compiled()
    history = model.fit(X, Y_SPARSE, epochs=2, batch_size=10, verbose=0, validation_data=(X, Y_SPARSE),
                        validation_steps=2, callbacks=[Watch()])
    assert seen == [0, 1, 0, 1]
    assert len(history.history["val_loss"]) == 2
    first_two = model.evaluate(X[:20], Y_SPARSE[:20], batch_size=10, verbose=0)
    np.testing.assert_allclose(model.evaluate(X, Y_SPARSE, batch_size=10, steps=2, verbose=0), first_two,
                               rtol=1e-6)


def test_predict_ignores_targets_in_a_loader_and_works_uncompiled():
    model = mlp(loom)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(X),
                                                                        torch.from_numpy(Y_SPARSE)), batch_size=25)
    out = model.predict(loader, verbose=0)
    np.testing.assert_allclose(out, model.predict(X, verbose=0), rtol=1e-6)
    assert out.shape == (60, 3)


def test_class_weight_and_sample_weight_together_are_rejected():
    with pytest.raises(ConfigError, match="at the same time"):
        compiled().fit(X, Y_SPARSE, class_weight={0: 1.0}, sample_weight=np.ones(60), verbose=0)


def test_a_callback_stopping_on_nan_gets_nan_logs_instead_of_an_error():
    class StopOnNaN(loom.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if np.isnan(logs["loss"]):
                self.model.stop_training = True

    x = X.copy()
    x[45] = np.nan
    history = compiled().fit(x, Y_SPARSE, batch_size=20, shuffle=False, epochs=3, verbose=0,
                             callbacks=[StopOnNaN()])
    assert history.epoch == [0] and np.isnan(history.history["loss"][0])


def test_batch_normalization_trains_in_training_mode_like_keras():
    def build(lib):
        inputs = lib.Input((6,))
        h = lib.layers.BatchNormalization()(lib.layers.Dense(8, use_bias=False)(inputs))  # a bias here has ~0 grad
        return lib.Model(inputs, lib.layers.Dense(3, activation="softmax")(lib.layers.Activation("relu")(h)))
    k, l = build(keras), build(loom)
    l.set_weights(k.get_weights())
    for model in (k, l):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    kw = dict(epochs=2, batch_size=16, shuffle=False, verbose=0, validation_split=0.2)
    assert_history_close(k.fit(X, Y_SPARSE, **kw), l.fit(X, Y_SPARSE, **kw), tol=2e-5)
    assert_weights_close(k, l, tol=2e-5)
    assert not l.training


def test_an_optimizer_built_for_another_model_is_refused():
    first, second = compiled(), mlp(loom)
    first.fit(X, Y_SPARSE, verbose=0)
    second.compile(optimizer=first.optimizer, loss="sparse_categorical_crossentropy")
    with pytest.raises(ConfigError, match="built for other parameters"):
        second.fit(X, Y_SPARSE, verbose=0)


def test_metrics_assigned_to_the_model_or_its_layers_are_logged_by_the_built_in_steps():
    """Keras's default steps return every metric in ``model.metrics``: a tracker a custom ``test_step`` updates
    (0.0 in training, where nothing updates it) and one a layer updates in ``call``."""
    from tests.keras_oracle import keras
    from tests.tolerance import assert_allclose_scaled
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    histories = {}
    for lib in (keras, loom):
        class MeanActivation(lib.layers.Layer):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
                self.activation_mean = lib.metrics.Mean(name="activation_mean")

            def call(self, inputs):
                self.activation_mean.update_state(lib.ops.mean(inputs))
                return inputs

        class Tracked(lib.Model):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.extra = lib.metrics.Mean(name="extra")

            def test_step(self, data):
                x, y = data
                self.extra.update_state(1.0)
                loss = self.compute_loss(x=x, y=y, y_pred=self(x, training=False))
                self.metrics[0].update_state(loss)
                return {m.name: m.result() for m in self.metrics}

        inputs = lib.Input((3,))
        model = Tracked(inputs, lib.layers.Dense(1)(MeanActivation()(inputs)))
        if lib is loom:
            model.set_weights(weights)
        weights = model.get_weights()
        model.compile(optimizer="sgd", loss="mse")
        histories[lib] = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, validation_data=(x, y),
                                   verbose=0).history
    assert sorted(histories[loom]) == sorted(histories[keras])
    assert {"activation_mean", "extra", "val_extra"} <= set(histories[loom])
    for key in histories[keras]:
        assert_allclose_scaled(histories[loom][key], histories[keras][key], err_msg=key)
