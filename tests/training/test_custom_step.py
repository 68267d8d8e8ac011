"""Keras 3's step API on loom: the 3rd edition's training-loop patterns, with Keras 3 (torch) as the oracle."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, TrainingError
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def _data(classes: int | None = None, n: int = 64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = rng.integers(0, classes, size=(n,)) if classes else rng.normal(size=(n, 1)).astype("float32")
    return x, y


def _graph(lib, cls=None, units: int = 1, activation=None):
    inputs = lib.Input((4,))
    h = lib.layers.Dense(8, activation="relu")(inputs)
    return (cls or lib.Model)(inputs, lib.layers.Dense(units, activation=activation)(h))


def _pair(make):
    km, lm = make(keras), make(loom)
    lm.set_weights(km.get_weights())
    return km, lm


# ------------------------------------------------------------------------------- (a) a hand-written loop
def _hand_written_loop(lib, model, x, y):
    optimizer = lib.optimizers.Adam(learning_rate=1e-2)
    loss_fn = lib.losses.MeanSquaredError()
    losses = []
    for start in range(0, len(x), 16):
        xb, yb = x[start:start + 16], torch.as_tensor(y[start:start + 16])
        model.zero_grad()
        loss = loss_fn(yb, model(xb, training=True))
        loss.backward()
        trainable_weights = [v for v in model.trainable_weights]
        gradients = [v.value.grad for v in trainable_weights]
        with torch.no_grad():
            optimizer.apply(gradients, trainable_weights)
        losses.append(float(loss.detach()))
    return losses


def test_hand_written_loop_with_value_grad_and_apply_matches_keras():
    x, y = _data()
    km, lm = _pair(_graph)
    assert_allclose_scaled(_hand_written_loop(loom, lm, x, y), _hand_written_loop(keras, km, x, y))
    assert_weights_close(lm.get_weights(), km.get_weights())


# ------------------------------------------------------- (b) train_step override compiled without a loss
def _loss_tracker_model(lib):
    class CustomModel(lib.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = lib.metrics.Mean(name="loss")
            self.loss_fn = lib.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result()}

        @property
        def metrics(self):
            return [self.loss_tracker]
    return CustomModel


def test_train_step_without_compiled_loss_matches_keras_and_resets_trackers_each_epoch():
    x, y = _data()
    km, lm = _pair(lambda lib: _graph(lib, _loss_tracker_model(lib)))
    histories = []
    for lib, model in ((keras, km), (loom, lm)):
        model.compile(optimizer=lib.optimizers.Adam(learning_rate=1e-2))
        histories.append(model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history)
    assert sorted(histories[1]) == ["loss"]
    assert_allclose_scaled(histories[1]["loss"], histories[0]["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())


# ----------------------------------------------------- (c) a custom metric with add_weight, compute_loss
def _rmse(lib):
    class RootMeanSquaredError(lib.metrics.Metric):
        def __init__(self, name="rmse", **kwargs):
            super().__init__(name=name, **kwargs)
            self.mse_sum = self.add_weight(name="mse_sum", initializer="zeros")
            self.total_samples = self.add_weight(name="total_samples", initializer="zeros", dtype="int32")

        def update_state(self, y_true, y_pred, sample_weight=None):  # the 3rd edition's code, run by both libraries
            ops = lib.ops
            y_true = ops.one_hot(ops.reshape(y_true, (-1,)), num_classes=ops.shape(y_pred)[1])
            self.mse_sum.assign_add(ops.sum(ops.square(y_true - y_pred)))
            self.total_samples.assign_add(ops.shape(y_pred)[0])

        def result(self):
            return lib.ops.sqrt(self.mse_sum / lib.ops.cast(self.total_samples, "float32"))

        def reset_state(self):
            self.mse_sum.assign(0.0)
            self.total_samples.assign(0)
    return RootMeanSquaredError


def _metrics_loop_model(lib):
    class CustomModel(lib.Model):
        def _update(self, loss, y, y_pred):
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            return self._update(loss, y, y_pred)

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            return self._update(self.compute_loss(y=y, y_pred=y_pred), y, y_pred)
    return CustomModel


@pytest.mark.parametrize("custom_steps", [False, True])
def test_custom_metric_and_compute_loss_steps_match_keras(custom_steps):
    x, y = _data(classes=3)
    km, lm = _pair(lambda lib: _graph(lib, _metrics_loop_model(lib) if custom_steps else None, 3, "softmax"))
    results = []
    for lib, model in ((keras, km), (loom, lm)):
        model.compile(optimizer=lib.optimizers.Adam(learning_rate=1e-2), loss="sparse_categorical_crossentropy",
                      metrics=[_rmse(lib)(), "accuracy"])
        history = model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0,
                            validation_data=(x[:32], y[:32])).history
        results.append((history, model.evaluate(x, y, verbose=0, return_dict=True)))
        assert [m.name for m in model.metrics] == ["loss", "compile_metrics"]
    (k_history, k_eval), (l_history, l_eval) = results
    assert sorted(l_history) == sorted(k_history) == ["accuracy", "loss", "rmse", "val_accuracy", "val_loss",
                                                      "val_rmse"]
    for key in k_history:
        assert_allclose_scaled(l_history[key], k_history[key], err_msg=key)
    assert sorted(l_eval) == sorted(k_eval)
    for key in k_eval:
        assert_allclose_scaled(l_eval[key], k_eval[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())


def test_super_train_step_equals_the_built_in_step():
    x, y = _data()

    class Passthrough(loom.Model):
        def train_step(self, data):
            return super().train_step(data)

        def test_step(self, data):
            return super().test_step(data)

    plain, custom = _graph(loom), _graph(loom, Passthrough)
    custom.set_weights(plain.get_weights())
    histories = []
    for model in (plain, custom):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        histories.append(model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0,
                                   validation_split=0.25).history)
    for key in histories[0]:
        assert_allclose_scaled(histories[1][key], histories[0][key], err_msg=key)
    assert_weights_close(custom.get_weights(), plain.get_weights())


# -------------------------------------------------------------------------- call, predict_step, errors
def test_overridden_call_of_a_functional_subclass_is_honoured():
    x, y = _data()

    class Doubled(loom.Model):
        def call(self, inputs, training=None):
            return super().call(inputs) * 2.0

    model = _graph(loom, Doubled)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.run_flat([torch.as_tensor(x)])[0].detach() * 2,
                               rtol=1e-6)
    model.compile(optimizer="sgd", loss="mse")
    expected = float(torch.mean((model(x) - torch.as_tensor(y)) ** 2).detach())
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)
    history = model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_predict_step_and_fit_without_targets():
    x, _ = _data()

    class AutoEncoder(loom.Model):
        def train_step(self, data):
            x = data[0] if isinstance(data, tuple) else data
            self.zero_grad()
            loss = torch.mean((self(x, training=True) - x) ** 2)
            loss.backward()
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in self.trainable_weights], self.trainable_weights)
            return {"reconstruction": loss}

        def predict_step(self, data):
            assert isinstance(data, torch.Tensor)  # Keras hands a single input over as itself, not as (x,)
            return {"code": self(data), "input": data}

    inputs = loom.Input((4,))
    model = AutoEncoder(inputs, loom.layers.Dense(4)(inputs))
    model.compile(optimizer="adam")
    seen = []
    callback = loom.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(dict(logs)))
    history = model.fit(x, epochs=2, batch_size=16, verbose=0, callbacks=[callback])
    assert sorted(history.history) == ["reconstruction"] and len(seen) == 2
    out = model.predict(x, batch_size=16, verbose=0)
    assert sorted(out) == ["code", "input"] and out["code"].shape == (64, 4)
    np.testing.assert_allclose(out["input"], x)


def test_train_step_returning_something_else_is_a_clear_error():
    x, y = _data()

    class Bad(loom.Model):
        def train_step(self, data):
            return 1.0

    model = _graph(loom, Bad)
    model.compile(optimizer="sgd")
    with pytest.raises(TrainingError, match="train_step.*dict"):
        model.fit(x, y, epochs=1, verbose=0)

    class BadValue(loom.Model):
        def train_step(self, data):
            return {"outputs": self(data[0])}

    model = _graph(loom, BadValue)
    model.compile(optimizer="sgd")
    with pytest.raises(TrainingError, match="train_step.*'outputs'.*scalar"):
        model.fit(x, y, epochs=1, verbose=0)


def test_compile_without_loss_still_fails_for_the_built_in_step():
    x, y = _data()
    model = _graph(loom)
    model.compile(optimizer="sgd")
    with pytest.raises(ConfigError, match="No loss"):
        model.fit(x, y, epochs=1, verbose=0)


def test_on_batch_methods_use_custom_steps():
    x, y = _data()
    model = _graph(loom, _loss_tracker_model(loom))
    model.compile(optimizer="sgd")
    logs = model.train_on_batch(x, y, return_dict=True)
    assert sorted(logs) == ["loss"] and np.isfinite(logs["loss"])


@pytest.mark.slow
def test_custom_train_step_example_runs_with_smoke(tmp_path):
    import os
    import pathlib
    import subprocess
    import sys
    script = pathlib.Path(__file__).parents[2] / "examples" / "custom_train_step.py"
    env = {**os.environ, "PYTHONPATH": str(script.parent.parent)}
    proc = subprocess.run([sys.executable, str(script), "--smoke"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert "custom train_step losses" in proc.stdout and "hand-written loop, epoch 2" in proc.stdout


def test_steps_without_targets_get_x_itself_or_a_tuple_for_a_list_of_inputs():
    """Keras packs a batch without targets as ``x`` (a tensor or dict) or ``(x,)`` when ``x`` is a list."""
    x, _ = _data(n=8)
    for lib in (keras, loom):
        seen = []

        class Recorder(lib.Model):
            def train_step(self, data):
                seen.append(("train", type(data).__name__))
                return {}

            def test_step(self, data):
                seen.append(("test", type(data).__name__))
                return {}

            def predict_step(self, data):
                seen.append(("predict", type(data).__name__))
                return super().predict_step(data)

        single = _graph(lib, Recorder)
        single.compile(optimizer="sgd")
        single.fit(x, batch_size=8, verbose=0)
        single.evaluate(x, batch_size=8, verbose=0)
        single.predict(x, batch_size=8, verbose=0)
        inputs = [lib.Input((4,)), lib.Input((4,))]
        pair = Recorder(inputs, lib.layers.Add()(inputs))
        pair.compile(optimizer="sgd")
        pair.evaluate([x, x], batch_size=8, verbose=0)
        pair.predict([x, x], batch_size=8, verbose=0)
        if lib is keras:
            expected = seen
    assert seen == expected == [("train", "Tensor"), ("test", "Tensor"), ("predict", "Tensor"),
                                ("test", "tuple"), ("predict", "tuple")]


def _endpoint_model(lib):
    """The guide's endpoint layer: the loss is added in ``call`` from a targets input; compiled without a loss."""
    class LogisticEndpoint(lib.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = lib.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits):
            self.add_loss(self.loss_fn(targets, logits))
            return lib.ops.sigmoid(logits)

    inputs, targets = lib.Input((4,), name="inputs"), lib.Input((3,), name="targets")
    logits = lib.layers.Dense(3)(inputs)
    model = lib.Model([inputs, targets], LogisticEndpoint(name="predictions")(targets, logits))
    model.compile(optimizer=lib.optimizers.Adam(1e-2))
    return model


def test_compiled_without_a_loss_fit_trains_on_added_losses_with_or_without_targets():
    x, _ = _data(n=32)
    data = {"inputs": x, "targets": (x[:, :3] > 0).astype("float32")}
    for y in (None, np.zeros((32, 3), "float32")):
        km, lm = _pair(_endpoint_model)
        kh = km.fit(data, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        lh = lm.fit(data, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
        assert set(lh) == set(kh) == {"loss"}
        assert_allclose_scaled(lh["loss"], kh["loss"])
        assert_weights_close(lm.get_weights(), km.get_weights())
        assert lm.evaluate(data, verbose=0) == pytest.approx(km.evaluate(data, verbose=0), rel=1e-5)


def test_compute_loss_adds_losses_added_in_call_without_any_regularizer():
    def make(lib):
        class Penalty(lib.layers.Layer):
            def call(self, h):
                self.add_loss(0.5 * lib.ops.mean(lib.ops.square(h)))
                return h

        inputs = lib.Input((4,))
        model = lib.Model(inputs, lib.layers.Dense(1)(Penalty()(lib.layers.Dense(3)(inputs))))
        model.compile(optimizer="sgd", loss="mse")
        return model

    x, y = _data(n=8)
    km, lm = _pair(make)
    values = []
    for model in (km, lm):
        y_pred = model(x)
        values.append(float(model.compute_loss(x=x, y=torch.as_tensor(y), y_pred=y_pred).detach()))
    plain = float(np.mean((lm.predict(x, verbose=0) - y) ** 2))
    assert values[1] == pytest.approx(values[0], rel=1e-5) and values[1] > plain * 1.001


def _mode_probe(lib, seen: list):
    """A model whose own steps record what its layers do when called with and without ``training=``."""
    class Probe(lib.Model):
        def __init__(self):
            super().__init__()
            self.dropout = lib.layers.Dropout(0.5)
            self.batch_norm = lib.layers.BatchNormalization(momentum=0.0)
            self.torch_dropout = torch.nn.Dropout(0.5)
            self.batch_norm.build((None, 3))
            self.built = True

        def _record(self, where, x):
            ones = lib.ops.ones((4, 64))
            drops = lambda **kw: bool((lib.ops.convert_to_numpy(self.dropout(ones, **kw)) == 0).any())  # noqa: E731
            seen.append((where, drops(), drops(training=True), bool(self.torch_dropout.training)))
            self.batch_norm(x)  # moves the moving mean (momentum 0) only in training mode

        def train_step(self, data):
            self._record("train", data[0] if isinstance(data, tuple) else data)
            return {}

        def test_step(self, data):
            self._record("test", data[0] if isinstance(data, tuple) else data)
            return {}

        def predict_step(self, data):
            self._record("predict", data[0] if isinstance(data, tuple) else data)
            return data[0] if isinstance(data, tuple) else data

    return Probe()


def test_layers_called_without_training_in_a_custom_step_take_keras_defaults():
    """Keras's torch loops call train()/eval(), which torch modules follow, but a Keras layer called without
    ``training=`` in a user's step runs in inference mode: a DCGAN's ``self.generator(z)`` keeps BatchNormalization's
    moving statistics and Dropout off. loom's layers follow their torch mode elsewhere, so the loops leave them
    unset around a user's step."""
    x = np.full((4, 3), 5.0, "float32")
    results = {}
    for lib in (keras, loom):
        seen = []
        model = _mode_probe(lib, seen)
        model.compile(optimizer="sgd")
        model.fit(x, epochs=1, batch_size=4, validation_data=(x,), verbose=0)
        model.evaluate(x, batch_size=4, verbose=0)
        model.predict(x, batch_size=4, verbose=0)
        model.train_on_batch(x)
        model.test_on_batch(x)
        model.predict_on_batch(x)
        results[lib] = seen, lib.ops.convert_to_numpy(model.batch_norm.moving_mean)
    # Keras's train_on_batch leaves torch modules in the mode the last loop left (eval, after predict): an accident
    # of its torch trainer (fit calls train(), train_on_batch does not); loom's trains them as fit does.
    assert [s[:3] for s in results[loom][0]] == [s[:3] for s in results[keras][0]]
    assert [s[3] for s in results[loom][0]] == [True, False, False, False, True, False, False]
    assert [s[3] for s in results[keras][0]][:4] == [True, False, False, False]
    assert [s[0] for s in results[loom][0]] == ["train", "test", "test", "predict", "train", "test", "predict"]
    assert {s[1:] for s in results[loom][0] if s[0] == "train"} == {(False, True, True)}
    np.testing.assert_array_equal(results[loom][1], results[keras][1])
    np.testing.assert_array_equal(results[loom][1], 0.0)


def test_fit_with_targets_on_a_model_without_call_runs_its_own_steps():
    """A conditional GAN has no call(): fit(images, labels) hands (x, y) to train_step and never calls the model."""
    x, y = _data()
    results = {}
    for lib in (keras, loom):
        class Holder(lib.Model):
            def __init__(self):
                super().__init__()
                self.net = lib.Sequential([lib.Input((4,)), lib.layers.Dense(1)])
                self.tracker = lib.metrics.Mean(name="mse")
                self.built = True

            def train_step(self, data):
                x, y = data
                self.zero_grad()
                loss = lib.ops.mean(lib.ops.square(self.net(x) - y))
                loss.backward()
                with torch.no_grad():
                    self.optimizer.apply([v.value.grad for v in self.net.trainable_weights],
                                         self.net.trainable_weights)
                self.tracker.update_state(loss)
                return {"mse": self.tracker.result()}

            def test_step(self, data):
                x, y = data
                self.tracker.update_state(lib.ops.mean(lib.ops.square(self.net(x) - y)))
                return {"mse": self.tracker.result()}

        model = Holder()
        if lib is keras:
            initial = model.net.get_weights()
        else:
            model.net.set_weights(initial)
        model.compile(optimizer=lib.optimizers.SGD(0.05))
        history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_data=(x, y), verbose=0)
        results[lib] = model, history.history, model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(results[loom][1]) == sorted(results[keras][1]) == ["mse", "val_mse"]
    for key in ("mse", "val_mse"):
        assert_allclose_scaled(results[loom][1][key], results[keras][1][key])
    assert_allclose_scaled(results[loom][2]["mse"], results[keras][2]["mse"])
