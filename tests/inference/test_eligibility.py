"""Which layers inference rewrites may touch (loom/inference/eligibility.py)."""

import pytest
import torch

import loom
from loom import layers
from loom.inference import eligibility


def _node(layer, *shape):
    x = loom.Input(shape, batch_size=5)
    return layer(x).node


def test_own_call_means_loom_class_and_nothing_replaced():
    class Mine(layers.Activation):
        pass
    plain = layers.Activation("relu")
    assert eligibility.own_call(plain)
    assert not eligibility.own_call(Mine("relu"))  # any subclass outside loom is run as written
    patched = layers.Activation("relu")
    patched.call = lambda inputs: inputs
    assert not eligibility.own_call(patched)
    assert eligibility.declares(plain, "_runs_in_place") and not eligibility.declares(Mine("relu"), "_runs_in_place")


@pytest.mark.parametrize("layer, shape, mixes", [
    (layers.Softmax(axis=0), (4,), True),
    (layers.Softmax(axis=-2), (4,), True),        # -2 of a rank-2 tensor is the batch axis
    (layers.Softmax(axis=-1), (4,), False),
    (layers.LayerNormalization(axis=[1, 2]), (3, 4), False),
    (layers.LayerNormalization(axis=[0, 1]), (3, 4), True),
    (layers.Dense(2), (4,), False),
    (layers.Dense(2, activity_regularizer="l1"), (4,), True),
    (layers.Lambda(lambda t: t), (4,), True),
])
def test_layers_mixing_samples_are_found_by_their_axes(layer, shape, mixes):
    node = _node(layer, *shape)
    assert eligibility.mixes_samples(node.layer, node) is mixes


def test_unknown_layers_are_assumed_to_mix_and_nested_graphs_are_checked_inside():
    class Custom(layers.Layer):
        def call(self, inputs):
            return inputs

    assert eligibility.mixes_samples(*(lambda n: (n.layer, n))(_node(Custom(), 4)))
    x = loom.Input((4,))
    per_sample = loom.Model(x, layers.Dense(2)(x))
    mixing = loom.Model(x, layers.Softmax(axis=0)(x))
    for inner, mixes in ((per_sample, False), (mixing, True)):
        node = _node(inner, 4)
        assert eligibility.mixes_samples(node.layer, node) is mixes


def test_hooks_on_any_module_or_globally_are_seen():
    dense = layers.Dense(2)
    assert not eligibility.any_hooked([dense])
    handle = dense.register_forward_pre_hook(lambda m, args: None)
    assert eligibility.any_hooked([dense])
    handle.remove()
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, args, out: None)
    try:
        assert eligibility.any_hooked([dense])
    finally:
        handle.remove()
