"""RNN(cell) against Keras 3 and against loom's fused layers: outputs, states, gradients, masks (also through
nested models), initial states, stateful carry-over, custom cells, Bidirectional, .keras archives, bad input."""

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError, ShapeError
from tests.keras_oracle import keras
from tests.layer_testing import run_layer_test

B, T, D, U = 3, 6, 4, 5
STATES = {"SimpleRNNCell": 1, "LSTMCell": 2, "GRUCell": 1}
LAYER_OF = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}


def _np(seed, shape):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _hole_mask():
    mask = np.ones((B, T), bool)
    mask[0, 4:] = False  # padding after
    mask[1, [0, 3]] = False  # holes: the step loop
    return mask


def _post_mask():
    mask = np.ones((B, T), bool)
    mask[0, 4:] = False
    mask[2, 2:] = False  # padding only: the packed fused kernel
    return mask


def _rnn_pair(cell_name, cell_kwargs, rnn_kwargs, seed=1):
    k = keras.layers.RNN(getattr(keras.layers, cell_name)(U, **cell_kwargs), **rnn_kwargs)
    k.build((B if k.stateful else None, T, D))
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=w.shape).astype("float32") * 0.5 for w in k.get_weights()]
    k.set_weights(weights)
    layer = loom.layers.RNN(getattr(loom.layers, cell_name)(U, **cell_kwargs), **rnn_kwargs)
    layer(torch.zeros(B, T, D))
    layer.set_weights(weights)
    if layer.stateful:
        layer.reset_states()
    return k, layer, weights


def _flat(y):
    return list(loom.structure.flatten(list(y) if isinstance(y, (list, tuple)) else [y]))


def _assert_same(keras_out, loom_out, atol=1e-5):
    keras_out, loom_out = _flat(keras_out), _flat(loom_out)
    assert len(keras_out) == len(loom_out)
    for a, b in zip(keras_out, loom_out):
        np.testing.assert_allclose(b.detach().numpy(), keras.ops.convert_to_numpy(a), atol=atol, rtol=1e-5)


def test_layer_checks_and_parity():
    run_layer_test(loom.layers.RNN, {"cell": loom.layers.LSTMCell(U), "return_sequences": True, "return_state": True},
                   input_shape=(B, T, D), expected_output_shape=[(B, T, U), (B, U), (B, U)],
                   expected_num_trainable_weights=3, supports_masking=True, keras_cls=keras.layers.RNN,
                   keras_init_kwargs={"cell": keras.layers.LSTMCell(U), "return_sequences": True,
                                      "return_state": True})


CONFIGS = [{}, {"return_sequences": True, "go_backwards": True}, {"return_state": True},
           {"return_sequences": True, "zero_output_for_mask": True}]
CELL_VARIANTS = [("SimpleRNNCell", {}), ("LSTMCell", {}), ("LSTMCell", {"activation": "relu"}), ("GRUCell", {}),
                 ("GRUCell", {"reset_after": False})]


@pytest.mark.parametrize("cell_name,cell_kwargs", CELL_VARIANTS)
@pytest.mark.parametrize("rnn_kwargs", CONFIGS)
def test_outputs_match_keras_with_masks_and_initial_states(cell_name, cell_kwargs, rnn_kwargs):
    k, layer, _ = _rnn_pair(cell_name, cell_kwargs, rnn_kwargs)
    x = _np(0, (B, T, D))
    states = [_np(7 + i, (B, U)) for i in range(STATES[cell_name])]
    _assert_same(k(x), layer(torch.tensor(x)))
    for mask in (_hole_mask(), _post_mask()):
        _assert_same(k(x, mask=mask), layer(torch.tensor(x), mask=torch.tensor(mask)))
    _assert_same(k(x, initial_state=states, mask=_hole_mask()),
                 layer(torch.tensor(x), initial_state=[torch.tensor(s) for s in states],
                       mask=torch.tensor(_hole_mask())))


@pytest.mark.parametrize("cell_name", sorted(STATES))
def test_gradients_match_keras(cell_name):
    k, layer, _ = _rnn_pair(cell_name, {}, {"return_sequences": True})
    x = _np(0, (B, T, D))
    for mask in (None, _hole_mask()):
        k_out = k(torch.tensor(x), mask=None if mask is None else torch.tensor(mask))
        out = layer(torch.tensor(x), mask=None if mask is None else torch.tensor(mask))
        (k_out ** 2).sum().backward()
        (out ** 2).sum().backward()
        for kv, lv in zip(k.trainable_weights, layer.trainable_weights):
            np.testing.assert_allclose(lv.grad.numpy(), kv.value.grad.numpy(), atol=1e-4, rtol=1e-4)
            kv.value.grad = None
            lv.grad = None


@pytest.mark.parametrize("cell_name", sorted(STATES))
def test_rnn_of_cell_equals_the_fused_layer(cell_name):
    _, layer, weights = _rnn_pair(cell_name, {}, {"return_sequences": True, "return_state": True})
    fused = getattr(loom.layers, LAYER_OF[cell_name])(U, return_sequences=True, return_state=True)
    fused(torch.zeros(1, T, D))
    fused.set_weights(weights)
    x = torch.tensor(_np(0, (B, T, D)), requires_grad=True)
    states = [torch.tensor(_np(7 + i, (B, U))) for i in range(STATES[cell_name])]
    for kwargs in ({}, {"mask": torch.tensor(_hole_mask())}, {"initial_state": states}):
        a, b = layer(x, **kwargs), fused(x, **kwargs)
        for u, v in zip(a, b):
            torch.testing.assert_close(u, v, atol=1e-5, rtol=1e-5)
        grad_a = torch.autograd.grad(sum(t.sum() for t in a), [x, *layer.trainable_weights])
        grad_b = torch.autograd.grad(sum(t.sum() for t in b), [x, *fused.trainable_weights])
        torch.testing.assert_close(grad_a[0], grad_b[0], atol=1e-5, rtol=1e-5)


FUSED = [("SimpleRNNCell", {}, True), ("LSTMCell", {}, True), ("GRUCell", {}, True),
         ("GRUCell", {"reset_after": False}, False), ("LSTMCell", {"activation": "relu"}, False)]


@pytest.mark.parametrize("cell_name,cell_kwargs,fused", FUSED)
def test_built_in_cells_with_default_activations_take_the_fused_kernel(cell_name, cell_kwargs, fused):
    _, layer, _ = _rnn_pair(cell_name, cell_kwargs, {})
    x = torch.zeros(B, T, D)
    states = layer.get_initial_state(B)
    assert (layer._fused(x, states, None, False) is not None) == fused
    assert (layer._fused(x, states, torch.tensor(_post_mask()), False) is not None) == fused  # packed padding


def test_stacked_cells_match_keras():
    k = keras.layers.RNN([keras.layers.LSTMCell(U), keras.layers.GRUCell(3)], return_state=True,
                         return_sequences=True)
    layer = loom.layers.RNN([loom.layers.LSTMCell(U), loom.layers.GRUCell(3)], return_state=True,
                            return_sequences=True)
    x = _np(0, (B, T, D))
    k(x)
    layer(torch.tensor(x))
    layer.set_weights(k.get_weights())
    _assert_same(k(x, mask=_hole_mask()), layer(torch.tensor(x), mask=torch.tensor(_hole_mask())))
    out, (h1, c1), (h2,) = layer(torch.tensor(x))  # as Keras: GRUCell's initial state is a one-tensor list
    assert [len(s) for s in k(x)[1:]] == [2, 1]
    assert out.shape == (B, T, 3) and h1.shape == c1.shape == (B, U) and h2.shape == (B, 3)


def _custom_cell(K):
    """The same cell source for Keras and loom (``K`` is either module): a minimal RNN with a gate."""

    class MinimalCell(K.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="glorot_uniform",
                                          name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="orthogonal",
                                                    name="recurrent_kernel")

        def call(self, inputs, states):
            previous = states[0]
            gate = K.ops.sigmoid(K.ops.matmul(previous, self.recurrent_kernel))
            output = gate * K.ops.tanh(K.ops.matmul(inputs, self.kernel)) + (1.0 - gate) * previous
            return output, [output]
    return MinimalCell


def test_custom_cell_written_with_ops_matches_keras():
    k = keras.layers.RNN(_custom_cell(keras)(U), return_sequences=True, go_backwards=True)
    layer = loom.layers.RNN(_custom_cell(loom)(U), return_sequences=True, go_backwards=True)
    x = _np(0, (B, T, D))
    k(x)
    layer(torch.tensor(x))
    layer.set_weights(k.get_weights())
    _assert_same(k(x), layer(torch.tensor(x)))
    _assert_same(k(x, mask=_hole_mask()), layer(torch.tensor(x), mask=torch.tensor(_hole_mask())))
    symbolic = layer(loom.Input((None, D)))
    assert symbolic.shape == (None, None, U)


def test_stateful_carries_states_and_resets():
    x = _np(0, (B, 2 * T, D))
    k, layer, weights = _rnn_pair("LSTMCell", {}, {"stateful": True, "return_sequences": True})
    whole = loom.layers.RNN(loom.layers.LSTMCell(U), return_sequences=True)
    whole(torch.tensor(x))
    whole.set_weights(weights)
    first, second = layer(torch.tensor(x[:, :T])), layer(torch.tensor(x[:, T:]))
    torch.testing.assert_close(torch.cat([first, second], 1), whole(torch.tensor(x)), atol=1e-5, rtol=1e-5)
    _assert_same([k(x[:, :T]), k(x[:, T:])], [first, second])
    with pytest.raises(InputError, match="batches of 3"):
        layer(torch.tensor(x[:2, :T]))
    layer.reset_states()
    k.reset_state()
    _assert_same(k(x[:, :T]), layer(torch.tensor(x[:, :T])))
    with pytest.raises(ConfigError, match="fixed batch size"):
        loom.layers.RNN(loom.layers.GRUCell(U), stateful=True)(loom.Input((T, D)))
    assert loom.layers.RNN(loom.layers.GRUCell(U), stateful=True)(loom.Input((T, D), batch_size=B)).shape == (B, U)
    with pytest.raises(ConfigError, match="not stateful"):
        loom.layers.RNN(loom.layers.GRUCell(U)).reset_states()


def _masked_model(K, nested):
    inputs = K.Input((T,), dtype="int32")
    x = K.layers.Embedding(10, D, mask_zero=True)(inputs)
    rnn = K.layers.RNN(K.layers.GRUCell(U), return_sequences=True)
    if nested:
        inner_in = K.Input((T, D))
        inner = K.Model(inner_in, K.layers.RNN(K.layers.LSTMCell(U))(rnn(inner_in)))
        return K.Model(inputs, inner(x))
    return K.Model(inputs, K.layers.RNN(K.layers.LSTMCell(U))(rnn(x)))


@pytest.mark.filterwarnings("ignore:Layer .functional")  # Keras warns, yet its nested model does see the mask
@pytest.mark.parametrize("nested", [False, True])
def test_masks_from_embedding_reach_the_cells_also_through_a_nested_model(nested):
    ids = np.random.default_rng(0).integers(1, 10, (B, T)).astype("int32")
    ids[0, 3:] = 0
    ids[1, 5:] = 0
    k_model, model = _masked_model(keras, nested), _masked_model(loom, nested)
    model.set_weights(k_model.get_weights())
    _assert_same(k_model(ids), model(torch.tensor(ids)))
    unmasked = ids.copy()
    unmasked[0, 3:] = 7
    assert not np.allclose(model(torch.tensor(ids)).detach().numpy(), model(torch.tensor(unmasked)).detach().numpy())


def test_masking_layer_and_bidirectional_over_rnn_of_cell():
    x = _np(0, (B, T, D))
    x[0, 4:] = 0.0
    k_in = keras.Input((T, D))
    k_y = keras.layers.Bidirectional(keras.layers.RNN(keras.layers.LSTMCell(U), return_sequences=True))(
        keras.layers.Masking(0.0)(k_in))
    k_model = keras.Model(k_in, k_y)
    inputs = loom.Input((T, D))
    y = loom.layers.Bidirectional(loom.layers.RNN(loom.layers.LSTMCell(U), return_sequences=True))(
        loom.layers.Masking(0.0)(inputs))
    model = loom.Model(inputs, y)
    model.set_weights(k_model.get_weights())
    _assert_same(k_model(x), model(torch.tensor(x)))
    bidi = loom.layers.Bidirectional(loom.layers.RNN(loom.layers.GRUCell(U), return_state=True))
    out, forward_h, backward_h = bidi(torch.tensor(x))
    assert out.shape == (B, 2 * U) and forward_h.shape == backward_h.shape == (B, U)


def test_dropout_in_training_only_with_one_mask_per_sequence():
    layer = loom.layers.RNN(loom.layers.LSTMCell(U, dropout=0.5, recurrent_dropout=0.3, seed=0),
                            return_sequences=True)
    x = torch.tensor(_np(0, (B, T, D)))
    inference = layer(x)
    torch.testing.assert_close(layer(x, training=False), inference)
    a, b = layer(x, training=True), layer(x, training=True)
    assert not torch.allclose(a, inference) and not torch.allclose(a, b)  # masks are redrawn per call
    assert layer.cell.get_dropout_mask(x[:, 0]) is not None  # drawn on demand, not left over from the call
    fused = loom.layers.RNN(loom.layers.GRUCell(U, dropout=0.5, seed=0))  # input dropout only: fused kernel
    assert not torch.allclose(fused(x, training=True), fused(x))
    assert fused.cell.fused_spec(True) is not None


def test_bad_input_is_refused_with_clear_errors():
    class NoStateSize(loom.layers.Layer):
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ConfigError, match="state_size"):
        loom.layers.RNN(NoStateSize())
    with pytest.raises(ConfigError, match="state_size"):
        loom.layers.StackedRNNCells([loom.layers.LSTMCell(2), NoStateSize()])
    layer = loom.layers.RNN(loom.layers.LSTMCell(U))
    x = torch.zeros(B, T, D)
    with pytest.raises(InputError, match="expects 2 initial state"):
        layer(x, initial_state=[torch.zeros(B, U)])
    with pytest.raises(InputError, match=r"\(3, 5\)"):
        layer(x, initial_state=[torch.zeros(B, U), torch.zeros(B, U + 1)])
    with pytest.raises(InputError, match="mask"):
        layer(x, mask=torch.ones(B, T + 1, dtype=torch.bool))
    with pytest.raises(ShapeError, match="timesteps"):
        layer(torch.zeros(B, D))


def test_initial_state_as_a_flat_list_for_stacked_cells():
    layer = loom.layers.RNN([loom.layers.LSTMCell(U), loom.layers.SimpleRNNCell(2)], return_state=True)
    x = torch.tensor(_np(0, (B, T, D)))
    states = [torch.tensor(_np(i, (B, s))) for i, s in enumerate([U, U, 2])]
    nested = layer(x, initial_state=[states[:2], states[2]])
    flat = layer(x, initial_state=states)
    for a, b in zip(_flat(nested), _flat(flat)):
        torch.testing.assert_close(a, b)


def _archive_model(K):
    seq = K.Input((T, D))
    frames = K.Input((3, 6, 6, 2))
    a = K.layers.RNN(K.layers.LSTMCell(U), return_sequences=True)(seq)
    a = K.layers.RNN([K.layers.GRUCell(3), K.layers.SimpleRNNCell(2)])(a)
    b = K.layers.ConvLSTM2D(2, 3, padding="same", return_sequences=False)(frames)
    b = K.layers.GlobalAveragePooling2D()(b)
    out = K.layers.Dense(1)(K.layers.concatenate([a, b]))
    return K.Model([seq, frames], out)


def test_keras_archive_both_ways(tmp_path):
    x = [_np(0, (B, T, D)), _np(1, (B, 3, 6, 6, 2))]
    keras.utils.set_random_seed(0)
    k_model = _archive_model(keras)
    k_model.save(str(tmp_path / "k.keras"))
    model = loom.models.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(model.predict(x, verbose=0), k_model.predict(x, verbose=0), atol=1e-5, rtol=1e-5)
    loom.utils.set_random_seed(0)
    mine = _archive_model(loom)
    mine.save(tmp_path / "l.keras")
    theirs = keras.models.load_model(str(tmp_path / "l.keras"))
    np.testing.assert_allclose(theirs.predict(x, verbose=0), mine.predict(x, verbose=0), atol=1e-5, rtol=1e-5)
