"""``jit_compile=True``: the whole-step compiled training gives the eager loop's numbers."""

import numpy as np
import pytest
import torch

import loom
from loom.training.compiled_step import with_eager_fallback
from tests.tolerance import assert_allclose_scaled, assert_weights_close

pytestmark = pytest.mark.filterwarnings("error:jit_compile")  # a fallback to eager would make the tests moot

RNG = np.random.default_rng(3)
X = RNG.random((60, 6)).astype("float32")
Y = RNG.integers(0, 3, 60)
Y2 = RNG.random((60, 1)).astype("float32")


def regularized_bn_model():
    inputs = loom.Input((6,), name="x")
    h = loom.layers.Dense(8, activation="relu", kernel_regularizer="l2", name="h")(inputs)
    h = loom.layers.BatchNormalization(name="bn")(h)
    out = loom.layers.Dense(3, activation="softmax", kernel_constraint=loom.constraints.MaxNorm(0.5),
                            name="out")(h)
    return loom.Model(inputs, out)


def two_output_model():
    inputs = loom.Input((6,), name="x")
    h = loom.layers.Dense(8, activation="relu")(inputs)
    frozen = loom.layers.Dense(8, name="frozen")
    frozen.trainable = False
    h = loom.layers.concatenate([h, frozen(inputs)])
    return loom.Model(inputs, [loom.layers.Dense(3, activation="softmax", name="cls")(h),
                               loom.layers.Dense(1, name="reg")(h)])


def train(build, jit, compile_kwargs, fit_kwargs):
    loom.utils.set_random_seed(11)
    model = build()
    model.compile(jit_compile=jit, **compile_kwargs)
    history = model.fit(X, fit_kwargs.pop("y", Y), epochs=3, batch_size=16, shuffle=False, verbose=0,
                        **fit_kwargs)
    return model, history.history


def assert_same_training(build, compile_kwargs, fit_kwargs=None):
    eager, eager_logs = train(build, False, compile_kwargs, dict(fit_kwargs or {}))
    jit, jit_logs = train(build, True, compile_kwargs, dict(fit_kwargs or {}))
    assert sorted(jit_logs) == sorted(eager_logs)
    for key in eager_logs:
        assert_allclose_scaled(jit_logs[key], eager_logs[key], err_msg=key)
    assert_weights_close(jit.get_weights(), eager.get_weights())
    return jit


@pytest.mark.slow
def test_regularizers_constraints_batchnorm_and_metrics_match_eager():
    model = assert_same_training(
        regularized_bn_model, dict(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                                   metrics=["accuracy"]),
        dict(validation_split=0.25))
    assert float(model.get_layer("bn").moving_mean.abs().sum()) > 0  # moving statistics were updated
    assert float(model.get_layer("out").kernel.detach().norm(dim=0).max()) <= 0.5 + 1e-6


@pytest.mark.slow
def test_multi_output_losses_weights_and_frozen_layers_match_eager():
    frozen_before = None

    def build():
        nonlocal frozen_before
        model = two_output_model()
        frozen_before = model.get_layer("frozen").get_weights()
        return model
    model = assert_same_training(
        build, dict(optimizer="adam", loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"},
                    loss_weights={"cls": 1.0, "reg": 0.5}, metrics={"cls": ["accuracy"], "reg": ["mae"]}),
        dict(y={"cls": Y, "reg": Y2}))
    for a, b in zip(model.get_layer("frozen").get_weights(), frozen_before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_learning_rate_changed_every_epoch_needs_no_recompilation():
    schedule = loom.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    assert_same_training(regularized_bn_model, dict(optimizer="sgd", loss="sparse_categorical_crossentropy"),
                         dict(callbacks=[schedule]))


@pytest.mark.slow
def test_models_compiled_in_one_process_keep_their_own_graphs_and_predict_evaluate_match():
    plain, _ = train(lambda: loom.Sequential([loom.Input((6,)), loom.layers.Dense(3, activation="softmax")]), True,
                     dict(optimizer="sgd", loss="sparse_categorical_crossentropy"), {})
    eager, _ = train(regularized_bn_model, False, dict(optimizer="sgd", loss="sparse_categorical_crossentropy"), {})
    jit, _ = train(regularized_bn_model, True, dict(optimizer="sgd", loss="sparse_categorical_crossentropy"), {})
    assert_allclose_scaled(jit.predict(X, verbose=0), eager.predict(X, verbose=0))
    assert_allclose_scaled(jit.evaluate(X, Y, verbose=0), eager.evaluate(X, Y, verbose=0))
    assert plain.predict(X, verbose=0).shape == (60, 3)


@pytest.mark.filterwarnings("default:jit_compile")
def test_an_untraceable_step_falls_back_to_the_eager_one_with_a_warning():
    calls = []

    def compiled(xs, ys, sws):
        calls.append("compiled")
        raise torch._dynamo.exc.Unsupported("data-dependent branch")

    def eager(xs, ys, sws):
        calls.append("eager")
        return "result"
    step = with_eager_fallback(compiled, eager)
    with pytest.warns(UserWarning, match="train step could not be compiled.*continues eagerly"):
        assert step([], [], None) == "result"
    assert step([], [], None) == "result"
    assert calls == ["compiled", "eager", "eager"]


def test_errors_in_the_data_still_reach_the_user():
    def compiled(xs, ys, sws):
        raise ValueError("bad shapes")
    step = with_eager_fallback(compiled, lambda xs, ys, sws: None)
    with pytest.raises(ValueError, match="bad shapes"):
        step([], [], None)


@pytest.mark.filterwarnings("default:jit_compile")
def test_a_run_time_failure_of_the_graph_reruns_the_batch_eagerly():
    calls = []

    def compiled(xs, ys, sws):
        calls.append("compiled")
        raise RuntimeError("cpp_fused_0: index out of bounds")

    def eager_rejecting(xs, ys, sws):
        calls.append("eager")
        raise loom.errors.InputError("Layer 'embedding' got the index 7")
    step = with_eager_fallback(compiled, eager_rejecting)
    with pytest.raises(loom.errors.InputError, match="'embedding' got the index 7"):
        step([], [], None)
    assert calls == ["compiled", "eager"]  # the graph is kept for the next batch

    step = with_eager_fallback(compiled, lambda xs, ys, sws: "result")
    with pytest.warns(UserWarning, match="train step failed at run time where the eager one does not"):
        assert step([], [], None) == "result"
    assert step([], [], None) == "result"
    assert calls == ["compiled", "eager", "compiled"]


def test_a_bad_embedding_index_under_jit_gets_the_layers_own_error():
    loom.utils.set_random_seed(0)
    model = loom.Sequential([loom.Input((4,), dtype="int64"), loom.layers.Embedding(5, 3, name="words"),
                             loom.layers.Flatten(), loom.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    good = np.tile(np.arange(1, 5), (8, 1))
    targets = np.zeros((8, 1), "float32")
    model.fit(good, targets, batch_size=8, verbose=0)
    bad = good.copy()
    bad[3, 2] = 7
    for call in (lambda: model.fit(bad, targets, batch_size=8, verbose=0),
                 lambda: model.evaluate(bad, targets, batch_size=8, verbose=0),
                 lambda: model.predict(bad, batch_size=8, verbose=0)):
        with pytest.raises(loom.errors.InputError, match="'words'.*index 7.*0..4"):
            call()
    before = model.get_weights()
    model.fit(good, targets, batch_size=8, verbose=0)  # still compiled (a fallback would warn, an error here)
    assert not np.allclose(model.get_weights()[-1], before[-1])


@pytest.mark.slow
def test_compiled_predict_of_a_convnet_matches_eager():
    def build():
        loom.utils.set_random_seed(2)
        inputs = loom.Input((8, 8, 3))
        x = loom.layers.Conv2D(4, 3, activation="relu")(inputs)
        x = loom.layers.Conv2D(4, 3, padding="same")(x)
        x = loom.layers.BatchNormalization()(x)
        x = loom.layers.Activation("relu")(x)
        x = loom.layers.MaxPooling2D(2)(x)
        return loom.Model(inputs, loom.layers.Dense(2)(loom.layers.GlobalAveragePooling2D()(x)))
    images = RNG.random((10, 8, 8, 3)).astype("float32")
    eager, jit = build(), build()
    jit.compile(optimizer="sgd", loss="mse", jit_compile=True)
    assert_allclose_scaled(jit.predict(images, batch_size=4, verbose=0), eager.predict(images, verbose=0))


OPTIMIZERS = [
    loom.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    loom.optimizers.RMSprop(momentum=0.5, centered=True, clipnorm=0.5),
    loom.optimizers.Adam(amsgrad=True, global_clipnorm=1.0),
    loom.optimizers.AdamW(weight_decay=0.1),
    loom.optimizers.Nadam(clipvalue=0.1),
    loom.optimizers.Adamax(),
    loom.optimizers.Adagrad(0.05),
    loom.optimizers.Adadelta(1.0),
]


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: type(o).__name__)
def test_every_optimizer_updates_inside_the_graph_as_it_does_eagerly(optimizer, monkeypatch):
    def eager_update_called(*args):
        raise AssertionError("the update should have run inside the compiled step")
    monkeypatch.setattr(type(optimizer), "step_with", eager_update_called)
    config = optimizer.get_config()
    build = lambda: loom.Sequential([loom.Input((6,)), loom.layers.Dense(5, activation="relu"),  # noqa: E731
                                     loom.layers.Dense(3, activation="softmax")])
    compile_kwargs = dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    eager, eager_logs = train(build, False, dict(optimizer=type(optimizer).from_config(config), **compile_kwargs), {})
    jit, jit_logs = train(build, True, dict(optimizer=optimizer, **compile_kwargs), {})
    assert_allclose_scaled(jit_logs["loss"], eager_logs["loss"])
    assert_weights_close(jit.get_weights(), eager.get_weights())
    assert jit.optimizer.iterations == eager.optimizer.iterations == 12
    for key, value in eager.optimizer.get_state_tensors().items():
        assert_allclose_scaled(jit.optimizer.get_state_tensors()[key], value, err_msg=key)


@pytest.mark.slow
def test_a_step_hook_registered_during_training_moves_the_update_out_of_the_graph():
    calls = []

    class HookOnSecondEpoch(loom.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.register_step_post_hook(lambda *args: calls.append(1))
    _, eager_logs = train(regularized_bn_model, False, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                          {})
    _, jit_logs = train(regularized_bn_model, True, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                        dict(callbacks=[HookOnSecondEpoch()]))
    assert len(calls) == 8  # two epochs of four batches ran through optimizer.step()
    assert_allclose_scaled(jit_logs["loss"], eager_logs["loss"])


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_trainable_changed_after_compile_is_honoured_as_in_the_eager_step(optimizer):
    def run(jit):
        loom.utils.set_random_seed(5)
        x = loom.Input((4,))
        first, second = loom.layers.Dense(3, name="first"), loom.layers.Dense(1, name="second")
        model = loom.Model(x, second(first(x)))
        model.compile(optimizer=optimizer, loss="mse", jit_compile=jit)
        rng = np.random.default_rng(0)
        xs, ys = rng.random((16, 4), dtype=np.float32), rng.random((16, 1), dtype=np.float32)
        model.fit(xs, ys, epochs=1, batch_size=8, verbose=0)
        first.trainable = False
        frozen = [w.copy() for w in first.get_weights()]
        model.fit(xs, ys, epochs=1, batch_size=8, verbose=0)
        for before, after in zip(frozen, first.get_weights()):
            np.testing.assert_array_equal(after, before)
        first.trainable = True
        model.fit(xs, ys, epochs=1, batch_size=8, verbose=0)
        assert not np.array_equal(first.get_weights()[0], frozen[0])
        return model.get_weights()
    assert_weights_close(run(True), run(False))


class OpsMixer(loom.layers.Layer):
    """A user's layer written with ``loom.ops`` only, as Keras 3 code is (positions, attention, reshapes)."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], input_shape[-1]), initializer="glorot_uniform")

    def call(self, x):
        batch, width = loom.ops.shape(x)[0], loom.ops.shape(x)[-1]
        positions = loom.ops.expand_dims(loom.ops.cast(loom.ops.arange(width), "float32"), 0)
        h = loom.ops.add(loom.ops.matmul(x, self.w), 0.01 * positions)
        scores = loom.ops.einsum("bi,bj->bij", h, x) / loom.ops.sqrt(loom.ops.cast(width, "float32"))
        h = loom.ops.squeeze(loom.ops.matmul(loom.ops.softmax(scores, axis=-1), loom.ops.expand_dims(h, -1)), -1)
        h = loom.ops.reshape(loom.ops.transpose(loom.ops.reshape(h, (batch, -1, 1)), (0, 2, 1)), (batch, -1))
        halves = loom.ops.split(loom.ops.concatenate([h, loom.ops.tanh(h)], axis=-1), 2, axis=-1)
        h = loom.ops.mean(loom.ops.stack(halves, axis=1), axis=1)
        return loom.ops.nn.gelu(h) / (loom.ops.norm(h, axis=-1, keepdims=True) + 1e-6)


def ops_mixer_model():
    inputs = loom.Input((6,), name="x")
    return loom.Model(inputs, loom.layers.Dense(1)(OpsMixer()(loom.layers.Dense(6)(inputs))))


@pytest.mark.slow
@pytest.mark.filterwarnings("error:Dynamo")  # e.g. a warning on lru_cache-wrapped helpers traced in the step
def test_a_custom_layer_written_with_ops_compiles_whole_and_trains_as_eagerly():
    # ops.reshape (math.prod of a generator) and broadcasting (max(..., default=)) used to stop the trace.
    assert_same_training(ops_mixer_model, dict(optimizer="adam", loss="mse"), dict(y=Y2))


@loom.ops.custom_gradient
def _clipped_gradient(x):
    return x * 1.0, lambda upstream: loom.ops.clip(upstream, -0.01, 0.01)


class ClipGradient(loom.layers.Layer):
    def call(self, x):
        return _clipped_gradient(x)


def clip_gradient_model():
    inputs = loom.Input((6,), name="x")
    return loom.Model(inputs, loom.layers.Dense(1)(ClipGradient()(loom.layers.Dense(4)(inputs))))


@pytest.mark.slow
def test_a_custom_gradient_inside_the_compiled_step_gives_the_eager_updates():
    assert_same_training(clip_gradient_model, dict(optimizer="sgd", loss="mse"), dict(y=Y2 * 50))
