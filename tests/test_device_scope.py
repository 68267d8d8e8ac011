"""loom's device scope: where tensor-creating ops put new tensors, and the scope the trainer enters.

There is no GPU here, so the ``meta`` device stands in for "a device other than the CPU": a model moved to
``meta`` runs its loops far enough to show where the tensors its layers create land (copying the ``meta``
results back to NumPy then fails, which the tests expect).
"""

import threading
import warnings

import numpy as np
import pytest
import torch

import loom
from loom import backend, layers, ops, random
from loom.errors import ConfigError
from tests.keras_oracle import keras

META = torch.device("meta")

FACTORIES = {
    "arange": lambda: ops.arange(0, 5),
    "ones": lambda: ops.ones((2, 3)),
    "zeros": lambda: ops.zeros(3),
    "empty": lambda: ops.empty((2,)),
    "full": lambda: ops.full((2, 2), 3.0),
    "eye": lambda: ops.eye(3, k=1),
    "identity": lambda: ops.identity(2),
    "tri": lambda: ops.tri(3),
    "linspace": lambda: ops.linspace(0.0, 1.0, 5),
    "logspace": lambda: ops.logspace(0.0, 2.0, 3),
    "geomspace": lambda: ops.geomspace(1.0, 8.0, 4),
    "hamming": lambda: ops.hamming(4),
    "kaiser": lambda: ops.kaiser(4, 0.5),
    "array": lambda: ops.array([1, 2]),
    "size": lambda: ops.size([[1, 2, 3]]),
    "convert_python": lambda: ops.convert_to_tensor(1.5),
    "convert_list": lambda: ops.convert_to_tensor([[1, 2], [3, 4]]),
    "convert_numpy": lambda: ops.convert_to_tensor(np.ones((2, 2))),
    "convert_array_list": lambda: ops.convert_to_tensor([np.ones(2), np.zeros(2)]),
    "add_python": lambda: ops.add(1.0, 2),
    "normal": lambda: random.normal((2, 3)),
    "normal_int_seed": lambda: random.normal((2, 3), seed=1),
    "normal_seed_generator": lambda: random.normal((2,), seed=random.SeedGenerator(1)),
    "uniform": lambda: random.uniform((4,), seed=3),
    "randint": lambda: random.randint((4,), 0, 5, seed=2),
    "truncated_normal": lambda: random.truncated_normal((3,), seed=1),
    "dropout": lambda: random.dropout(ops.ones((4,)), 0.5, seed=random.SeedGenerator(2)),
    "shuffle": lambda: random.shuffle(ops.arange(4), seed=1),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factory_and_random_ops_follow_the_scope(name):
    make = FACTORIES[name]
    assert make().device.type == "cpu"  # outside any scope: torch's default
    with backend.device_scope("meta") as device:
        assert device == META and backend.scope_device() == META
        assert make().device == META
    assert backend.scope_device() is None and make().device.type == "cpu"


def test_explicit_dtype_still_applies_and_tensors_follow_the_scope():
    with backend.device_scope("meta"):
        assert ops.arange(3, dtype="float16").dtype == torch.float16
        assert ops.ones(2, dtype="int8").device == META
        cpu = torch.ones(2)
        assert ops.zeros_like(cpu).device == META  # its input converted into the scope first, as Keras
    with keras.device("meta"):
        assert keras.ops.zeros_like(cpu).device == META


def test_convert_to_tensor_moves_tensors_and_variables_into_the_scope_as_keras():
    cpu, variable = torch.ones(2), loom.Variable(np.ones(3, "float32"))
    assert ops.convert_to_tensor(cpu) is cpu  # no scope: as given
    with backend.device_scope("meta"):
        assert ops.convert_to_tensor(cpu).device == META
        assert ops.convert_to_tensor(cpu, dtype="float16").dtype == torch.float16
        assert ops.convert_to_tensor(variable).device == META
    with keras.device("meta"):  # Keras's torch backend does the same
        assert keras.ops.convert_to_tensor(cpu).device == META


def test_scope_nests_restores_and_is_per_thread():
    seen = []
    with backend.device_scope("meta"):
        with backend.device_scope("cpu:0") as inner:
            assert inner == torch.device("cpu") and ops.ones(1).device.type == "cpu"
            with backend.device_scope(None):
                assert backend.scope_device() is None
        assert backend.scope_device() == META
        worker = threading.Thread(target=lambda: seen.append(backend.scope_device()))
        worker.start()
        worker.join()
        with pytest.raises(RuntimeError):
            with backend.device_scope("cpu"):
                raise RuntimeError("boom")
        assert backend.scope_device() == META
    assert seen == [None] and backend.scope_device() is None


def test_device_names():
    assert backend.parse_device("gpu:1") == torch.device("cuda", 1)
    assert backend.parse_device("GPU:0") == torch.device("cuda", 0)
    assert backend.parse_device(torch.device("meta")) == META
    with pytest.raises(ConfigError, match="gpu:0"):
        backend.parse_device("tpu-ish")
    with pytest.raises(ConfigError, match="device name"):
        backend.parse_device(3)


def test_loom_device_mirrors_keras_device():
    with keras.device("cpu:0"):
        assert keras.ops.ones((2,)).device.type == "cpu"
    with loom.device("cpu:0") as device:
        assert device == torch.device("cpu") and ops.ones((2,)).device.type == "cpu"
    with loom.device("meta"):  # loom's ops and torch's own factories (new weights) both follow it
        assert ops.arange(2).device == META and torch.ones(1).device == META
        dense = layers.Dense(2)
        dense.build((None, 3))
        assert dense.kernel.device == META
    assert ops.arange(2).device.type == "cpu" and torch.ones(1).device.type == "cpu"
    with pytest.raises(ConfigError):
        with loom.device("nowhere"):
            pass


# ------------------------------------------------------------------------------------ trainer wiring
def test_scope_the_trainer_enters_for_a_model_device():
    cpu, meta = torch.device("cpu"), META
    assert backend.model_scope_device(cpu, None) is None  # CPU steps enter nothing
    assert backend.model_scope_device(meta, None) == meta
    assert backend.model_scope_device(meta, torch.device("cpu")) == meta
    assert backend.model_scope_device(cpu, meta) == cpu  # an outer scope elsewhere: back to the weights
    assert backend.model_scope_device(cpu, cpu) == cpu
    with backend.model_device_scope(cpu) as device:
        assert device is None and backend.scope_device() is None
    with backend.model_device_scope(meta) as device:
        assert device == meta == backend.scope_device()
    assert backend.scope_device() is None


class _Positions(layers.Layer):
    """A TokenAndPositionEmbedding-like position term plus a VAE-like noise draw, recording their devices."""

    seen: list = []

    def call(self, x):
        positions = ops.arange(0, ops.shape(x)[1])
        noise = random.normal(shape=ops.shape(x))
        scale = ops.convert_to_tensor(0.5)
        _Positions.seen.append((positions.device.type, noise.device.type, scale.device.type,
                                backend.scope_device()))
        return x + ops.cast(positions, x.dtype)[None, :] * scale + 0.0 * noise


def _model():
    inputs = loom.Input((4,))
    model = loom.Model(inputs, layers.Dense(1)(_Positions()(inputs)))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


X, Y = np.ones((4, 4), "float32"), np.ones((4, 1), "float32")
LOOPS = {
    "fit": lambda m: m.fit(X, Y, epochs=1, batch_size=2, verbose=0),
    "evaluate": lambda m: m.evaluate(X, Y, verbose=0),
    "predict": lambda m: m.predict(X, verbose=0),
    "train_on_batch": lambda m: m.train_on_batch(X, Y),
    "test_on_batch": lambda m: m.test_on_batch(X, Y),
    "predict_on_batch": lambda m: m.predict_on_batch(X),
}


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_loops_on_the_cpu_enter_no_scope(loop):
    model = _model()
    _Positions.seen.clear()
    LOOPS[loop](model)
    assert _Positions.seen and all(s == ("cpu", "cpu", "cpu", None) for s in _Positions.seen)


@pytest.mark.parametrize("loop", sorted(LOOPS))
def test_loops_create_layer_tensors_on_the_model_device(loop):
    model = _model().to("meta")  # stands in for a GPU: the layer's own tensors must follow the weights
    _Positions.seen.clear()
    with pytest.raises(NotImplementedError, match="meta"):  # reading meta results back to the host
        LOOPS[loop](model)
    assert _Positions.seen and all(s == ("meta", "meta", "meta", META) for s in _Positions.seen)
    assert backend.scope_device() is None  # restored after the error


@pytest.mark.parametrize("loop", ["fit", "evaluate", "train_on_batch", "test_on_batch"])
def test_loops_refuse_an_uncompiled_model_before_placing_it(loop, monkeypatch):
    """On a GPU machine placing means moving the model to CUDA: an uncompiled model must stay where it was."""
    model = loom.Sequential([loom.Input((4,)), layers.Dense(1)])
    placed = []
    monkeypatch.setattr(model, "_place_on_device", lambda *a, **k: placed.append(True))
    with pytest.raises(ConfigError, match=f"compile\\(\\) before {loop}\\(\\)"):
        LOOPS[loop](model)
    assert placed == []
    model.compile(optimizer="sgd", loss="mse")
    LOOPS[loop](model)
    assert placed  # placed once compiled


def test_rnn_states_and_added_losses_follow_the_scope():
    from loom.layers.rnn_cell_base import zero_states
    conv_lstm = layers.ConvLSTM2D(2, 3)
    conv_lstm.build((None, 2, 5, 5, 1))
    with backend.device_scope("meta"):
        assert zero_states([3, [2]], 2)[1][0].device == META
        assert [s.device for s in conv_lstm.cell.get_initial_state(1)] == [META, META]
        dense = layers.Dense(2)
        dense.add_loss(1.5)
        assert dense.losses[0].device == META


def test_lanczos_resize_keeps_the_input_device():
    x = torch.zeros((1, 6, 6, 1), device="meta")
    assert ops.image.resize(x, (3, 3), interpolation="lanczos3").device == META


# ------------------------------------------------------------------------------- building and tracing
def test_symbolic_building_inside_a_scope():
    for scope in (None, "cpu", "meta"):  # shape inference runs on meta probes whatever the scope around it
        with backend.device_scope(scope):
            inputs = loom.Input((None,))
            out = layers.Dense(3)(layers.Reshape((-1, 1))(_Positions()(inputs)))
            model = loom.Model(inputs, out)
        assert out.shape == (None, None, 3)
        # weights made in a scope live there, as Keras's variables made under keras.device
        assert model.weights[0].device.type == ("meta" if scope == "meta" else "cpu")
        if scope != "meta":
            assert model.predict(np.ones((2, 5), "float32"), verbose=0).shape == (2, 5, 3)


def test_compile_guards_on_the_scope_device():
    def positions(x):
        return x + ops.cast(ops.arange(0, x.shape[0]), x.dtype)

    compiled = torch.compile(positions, fullgraph=True, backend="eager")
    assert compiled(torch.zeros(3)).tolist() == [0.0, 1.0, 2.0]
    with backend.device_scope("meta"):
        assert compiled(torch.zeros(3, device="meta")).device == META  # a guard failed: traced again
    assert compiled(torch.zeros(3)).device.type == "cpu"


def test_export_and_jit_compiled_fit_trace_layers_that_create_tensors():
    model = _model()
    program = torch.export.export(model, (torch.ones(2, 4),))
    assert program.module()(torch.ones(2, 4)).shape == (2, 1)
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(X, Y, epochs=1, batch_size=2, verbose=0)
    assert not [w for w in caught if "jit_compile" in str(w.message)]  # compiled: no eager fallback
    assert np.isfinite(history.history["loss"][0])
