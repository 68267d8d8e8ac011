"""StackedRNNCells: state structure, one step against Keras, weights order and config (with Keras's)."""

import json

import numpy as np
import torch

import loom
from tests.keras_oracle import keras


def _cells(K):
    return [K.layers.LSTMCell(3), K.layers.SimpleRNNCell(2), K.layers.GRUCell(4)]


def test_one_step_matches_keras_with_per_cell_states():
    k, cells = keras.layers.StackedRNNCells(_cells(keras)), loom.layers.StackedRNNCells(_cells(loom))
    k.build((None, 5))
    cells.build((None, 5))
    assert cells.state_size == [[3, 3], 2, 4] and cells.output_size == 4
    cells.set_weights(k.get_weights())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5)).astype("float32")
    states = [[rng.normal(size=(2, 3)).astype("float32")] * 2, rng.normal(size=(2, 2)).astype("float32"),
              rng.normal(size=(2, 4)).astype("float32")]
    as_torch = [[torch.tensor(s) for s in states[0]], torch.tensor(states[1]), torch.tensor(states[2])]
    k_out, k_states = k(torch.tensor(x), as_torch)
    out, new_states = cells(torch.tensor(x), as_torch)
    flat_k = loom.structure.flatten([k_out, k_states])
    flat = loom.structure.flatten([out, new_states])
    assert len(flat) == len(flat_k) == 5
    for a, b in zip(flat_k, flat):
        np.testing.assert_allclose(b.detach().numpy(), keras.ops.convert_to_numpy(a), atol=1e-5, rtol=1e-5)
    initial = cells.get_initial_state(batch_size=2)
    assert [len(s) for s in initial] == [2, 1, 1]  # each cell's get_initial_state is a list, as in Keras


def test_config_round_trip_and_keys_match_keras():
    cells = loom.layers.StackedRNNCells(_cells(loom))
    config = json.loads(json.dumps(cells.get_config()))
    assert set(config) == set(keras.layers.StackedRNNCells(_cells(keras)).get_config())
    clone = loom.layers.StackedRNNCells.from_config(config)
    assert [type(c).__name__ for c in clone.cells] == ["LSTMCell", "SimpleRNNCell", "GRUCell"]
    rnn = loom.layers.RNN(clone)
    rnn(torch.zeros(2, 3, 5))
    assert len(rnn.get_weights()) == 9
