import torch

import loom
from loom.layers.recurrent_weights import WEIGHT_ARGS, add_recurrent_weights, forget_bias_initializer


def test_forget_bias_initializer_sets_the_forget_gate_to_one():
    bias = forget_bias_initializer(loom.initializers.Zeros(), 3)((12,))
    assert bias.tolist() == [0.0] * 3 + [1.0] * 3 + [0.0] * 6


def test_add_recurrent_weights_uses_the_layer_arguments():
    cell = loom.layers.LSTMCell(2, kernel_constraint="non_neg", use_bias=False)
    add_recurrent_weights(cell, (3, 8), (2, 8), (8,), cell.bias_initializer)
    assert [w.shape for w in cell.get_weights()] == [(3, 8), (2, 8)]
    for name in WEIGHT_ARGS:
        assert name in cell.get_config()
    assert torch.is_tensor(cell.kernel)
