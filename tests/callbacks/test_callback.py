import numpy as np
import pytest

import loom
from loom.callbacks.callback import HOOKS, Callback, overrides


class Recorder(Callback):
    """Records every hook by name, the validation data at train begin, and one batch loss."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def _record(self, name, args):
        self.calls.append(name)
        if name == "on_train_begin":
            self.seen_validation = self.validation_data
        if name == "on_train_batch_end":
            self.batch_loss = float(args[1]["loss"])


def _make_hook(name):
    def hook(self, *args, **kwargs):
        self._record(name, args)
    return hook


for _name in HOOKS:
    if _name not in ("on_batch_begin", "on_batch_end"):
        setattr(Recorder, _name, _make_hook(_name))


def small_model():
    model = loom.Sequential([loom.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_base_hooks_do_nothing_and_aliases_forward():
    seen = []

    class Alias(Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch))

    cb = Alias()
    cb.on_train_batch_begin(3)
    cb.on_train_batch_end(3, {})
    assert seen == [("begin", 3), ("end", 3)]
    base = Callback()
    for hook in HOOKS:
        args = (0,) if "batch" in hook or "epoch" in hook else ()
        assert getattr(base, hook)(*args) is None
    assert base.state_dict() == {}
    assert overrides(Alias(), "on_batch_end") and not overrides(Alias(), "on_epoch_end")


def test_fit_calls_every_hook_in_keras_order_with_validation_data():
    x, y = np.random.rand(8, 3), np.random.rand(8, 2)
    cb = Recorder()
    small_model().fit(x, y, batch_size=4, epochs=1, verbose=0, validation_split=0.5, callbacks=[cb])
    assert cb.calls == [
        "on_train_begin", "on_epoch_begin",
        "on_train_batch_begin", "on_train_batch_end",
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
        "on_epoch_end", "on_train_end"]
    vx, vy = cb.seen_validation
    np.testing.assert_array_equal(vx, x[4:])
    np.testing.assert_array_equal(vy, y[4:])
    assert np.isfinite(cb.batch_loss)


def test_evaluate_and_predict_hooks():
    model = small_model()
    cb = Recorder()
    x, y = np.random.rand(6, 3), np.random.rand(6, 2)
    model.evaluate(x, y, batch_size=3, verbose=0, callbacks=[cb])
    assert cb.calls == ["on_test_begin"] + ["on_test_batch_begin", "on_test_batch_end"] * 2 + ["on_test_end"]
    cb.calls.clear()
    model.predict(x, batch_size=6, verbose=0, callbacks=[cb])
    assert cb.calls == ["on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end", "on_predict_end"]


def test_params_model_and_validation_data_tuple():
    class Params(Callback):
        def on_train_begin(self, logs=None):
            self.snapshot = (dict(self.params), self.model, self.validation_data)

    model = small_model()
    cb = Params()
    x, y = np.random.rand(10, 3), np.random.rand(10, 2)
    model.fit(x, y, batch_size=4, epochs=3, verbose=0, validation_data=(x[:2], y[:2]), callbacks=[cb])
    params, seen_model, validation = cb.snapshot
    assert params == {"verbose": 0, "epochs": 3, "steps": 3}
    assert seen_model is model
    assert validation[0] is not None and len(validation) == 2


def test_stop_training_from_a_callback():
    class StopAfterFirst(Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = True

    model = small_model()
    history = model.fit(np.random.rand(16, 3), np.random.rand(16, 2), batch_size=4, epochs=5, verbose=0,
                        callbacks=[StopAfterFirst()])
    assert history.epoch == [0]


def test_non_callback_is_rejected():
    with pytest.raises(loom.errors.ConfigError, match="Callback"):
        small_model().fit(np.zeros((2, 3)), np.zeros((2, 2)), verbose=0, callbacks=[object()])
