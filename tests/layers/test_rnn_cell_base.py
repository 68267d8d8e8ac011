"""AbstractRNNCell (a user's cell base) and the shared zero-state helper."""

import torch

import loom
from loom.layers.rnn_cell_base import zero_states


class Running(loom.layers.AbstractRNNCell):
    """A cell with two states (sum and count) and a weight."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.state_size = [units, 1]
        self.output_size = units

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1], self.output_size), initializer="ones", name="scale")

    def call(self, inputs, states):
        total, count = states
        total = total + inputs @ self.scale
        count = count + 1.0
        return total / count, [total, count]


def test_abstract_cell_runs_inside_rnn_with_default_zero_states():
    layer = loom.layers.RNN(Running(2), return_state=True)
    mean, total, count = layer(torch.ones(3, 4, 5))
    torch.testing.assert_close(mean, torch.full((3, 2), 5.0))
    assert total.shape == (3, 2) and torch.equal(count, torch.full((3, 1), 4.0))
    assert [s.shape for s in Running(2).get_initial_state(3)] == [(3, 2), (3, 1)]
    assert layer(loom.Input((None, 5)))[0].shape == (None, 2)


def test_zero_states_keep_nesting():
    states = zero_states([[3, 3], 2], 4)
    assert [s.shape for s in states[0]] == [(4, 3), (4, 3)] and states[1].shape == (4, 2)
