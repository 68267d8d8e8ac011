"""model.summary() (loom/models/summary.py): the same text as Keras 3's summary."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.errors import ConfigError
from loom.models.summary import _fit, readable_memory_size, summary_lines
from tests.keras_oracle import keras

pytestmark = pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`")


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    """Same terminal width for both (Keras's rich console also reads COLUMNS) and fresh Keras names."""
    monkeypatch.setenv("COLUMNS", "130")
    keras.backend.clear_session(free_memory=False)
    yield


def keras_lines(model, **kwargs):
    out = []
    model.summary(print_fn=lambda text, **_: out.extend(text.rstrip("\n").split("\n")), **kwargs)
    return out


def loom_lines(model, **kwargs):
    out = []
    model.summary(print_fn=lambda text: out.extend(text.rstrip("\n").split("\n")), **kwargs)
    return out


def _mlp(lib):
    L = lib.layers
    model = lib.Sequential([L.Dense(1000, activation="relu", input_shape=(784,)), L.Dense(64, activation="relu"),
                            L.Dense(10, activation="softmax")])
    model.layers[1].trainable = False
    return model


def _dag(lib):
    L = lib.layers
    inp = lib.Input((16,), name="features")
    left = L.Dense(8, activation="relu", name="left_branch_with_a_long_name")(inp)
    right = L.Dense(8, activation="relu")(L.Dense(12)(inp))
    x = L.concatenate([left, right])
    x = L.add([x, L.Dense(16)(x)])
    shared = L.Dense(16, activation="tanh", name="shared")
    x = shared(shared(x))
    return lib.Model(inp, [L.Dense(1, name="score")(x), L.Dense(3, name="label")(x)], name="dag")


def _nested(lib):
    L = lib.layers
    inner_in = lib.Input((6,))
    inner = lib.Model(inner_in, L.Dense(3)(L.Dense(5, activation="relu")(inner_in)), name="inner")
    seq = lib.Sequential([L.Dense(4), L.Dense(2)], name="head")
    a, b = lib.Input((6,), name="a"), lib.Input((6,), name="b")
    joined = L.concatenate([inner(a), inner(b)])
    return lib.Model([a, b], seq(joined))


@pytest.mark.parametrize("builder, kwargs", [
    (_mlp, {}),
    (_mlp, {"show_trainable": True}),
    (_mlp, {"line_length": 60}),
    (_dag, {}),
    (_dag, {"line_length": 70, "show_trainable": True}),
    (_nested, {}),
    (_nested, {"expand_nested": True, "show_trainable": True}),
    (_nested, {"expand_nested": True, "line_length": 80, "positions": [0.4, 0.6, 0.75, 1.0]}),
])
def test_text_matches_keras(builder, kwargs):
    expected = keras_lines(builder(keras), **kwargs)
    assert loom_lines(builder(loom), **kwargs) == expected


def test_unbuilt_sequential_matches_keras():
    def build(lib):
        return lib.Sequential([lib.layers.Dense(4), lib.layers.Dense(1)], name="later")
    lines = loom_lines(build(loom))
    assert lines == keras_lines(build(keras))
    assert any("0 (unbuilt)" in line and "?" in line for line in lines)


def test_subclassed_model_after_a_call_matches_keras():
    def build(lib):
        class Net(lib.Model):
            def __init__(self):
                super().__init__(name="net")
                self.hidden = lib.layers.Dense(6)
                self.out = lib.layers.Dense(2)

            def call(self, x):
                return self.out(self.hidden(x))
        net = Net()
        net(np.ones((3, 5), dtype="float32"))
        return net
    lines = loom_lines(build(loom))
    assert lines == keras_lines(build(keras))
    assert any("(3, 6)" in line for line in lines)


def test_totals_and_sizes():
    x = loom.Input((12,))
    model = loom.Model(x, layers.Dense(4)(x))
    lines = summary_lines(model)
    assert lines[-3:] == [" Total params: 52 (208.00 B)", " Trainable params: 52 (208.00 B)",
                          " Non-trainable params: 0 (0.00 B)"]
    assert readable_memory_size(0) == "0.00 B"
    assert readable_memory_size(3140000) == "2.99 MB"
    assert readable_memory_size(2048.0) == "2.00 KB"


def test_chain_has_no_connected_to_column_but_a_branch_has():
    x = loom.Input((3,))
    chain = loom.Model(x, layers.Dense(2)(layers.Dense(3)(x)))
    assert "Connected to" not in summary_lines(chain)[2]
    y = loom.Input((3,))
    shared = layers.Dense(3)
    reused = loom.Model(y, shared(shared(y)))
    header = summary_lines(reused)[2]
    assert "Connected to" in header
    assert any("dense_2[0][0]" in line for line in summary_lines(reused))


def test_print_fn_gets_the_whole_text_once_and_default_prints(capsys):
    """Keras 3 calls ``print_fn`` once with the whole summary ending in a newline (so ``f.write`` works)."""
    x = loom.Input((2,))
    model = loom.Model(x, layers.Dense(1)(x), name="tiny")
    received = []
    model.summary(print_fn=received.append)
    assert len(received) == 1 and received[0].startswith('Model: "tiny"\n') and received[0].endswith(")\n")
    model.summary()
    assert capsys.readouterr().out == received[0]
    k_received = []
    k_input = keras.Input((2,))
    keras.Model(k_input, keras.layers.Dense(1)(k_input), name="tiny").summary(print_fn=k_received.append)
    assert len(k_received) == 1 and k_received[0].endswith(")\n")


def test_wrapping_and_truncation():
    assert _fit("dense[0][0], dense_1[0][0]", 17, "left") == ["dense[0][0],     ", "dense_1[0][0]    "]
    assert _fit("a_very_long_single_word", 8, "left") == ["a_very_…"]
    assert _fit("Param #", 9, "right") == ["  Param #"]
    assert _fit("Y", 5, "center") == ["  Y  "]


def test_too_narrow_is_an_error():
    x = loom.Input((2,))
    model = loom.Model(x, layers.Dense(1)(x))
    with pytest.raises(ConfigError, match="Insufficient width"):
        model.summary(line_length=8)


def test_torch_module_wrapper_row():
    model = loom.Sequential([loom.Input((4,)), torch.nn.Linear(4, 2)], name="wrapped")
    lines = summary_lines(model, line_length=60)
    row = next(line for line in lines if "torch_module_wrapper" in line)
    assert "(None, 2)" in row and row.rstrip("│").rstrip().endswith("10")


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop"])
def test_totals_count_the_optimizer_state_after_fit_as_keras(optimizer):
    """Keras counts ``optimizer.variables`` (iterations, the learning rate, the slots); loom had no such list."""
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    totals = []
    for lib, lines in ((keras, keras_lines), (loom, loom_lines)):
        model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(2)])
        model.compile(optimizer, "mse")
        model.fit(x, y, verbose=0)
        totals.append([line for line in lines(model) if "params:" in line])
    assert totals[1] == totals[0]
    assert any(line.startswith(" Optimizer params:") for line in totals[1])
