"""TorchModuleWrapper (loom/layers/torch_module.py) and loom models inside plain torch code."""

import numpy as np
import pytest
import torch

import loom
from loom import layers
from loom.errors import ConfigError
from tests.keras_oracle import keras


def test_wrapped_module_in_a_functional_model():
    linear = torch.nn.Linear(8, 3)
    wrapper = layers.TorchModuleWrapper(linear)
    assert wrapper.name == "torch_module_wrapper" and wrapper.built
    x = loom.Input((8,))
    y = wrapper(x)
    assert y.shape == (None, 3)
    model = loom.Model(x, layers.Dense(1)(y))
    data = torch.randn(4, 8)
    expected = linear(data) @ model.layers[2].kernel + model.layers[2].bias
    torch.testing.assert_close(model(data), expected)
    assert model.count_params() == 8 * 3 + 3 + 3 + 1


def test_weights_are_the_module_parameters_in_torch_order_like_keras():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    wrapper = layers.TorchModuleWrapper(module)
    k_wrapper = keras.layers.TorchModuleWrapper(module)
    k_wrapper(np.ones((2, 4), dtype="float32"))
    ours = wrapper.get_weights()
    theirs = k_wrapper.get_weights()
    for a, b in zip(ours, theirs):  # Keras lists parameters; loom adds the buffers after them
        np.testing.assert_array_equal(a, b)
    assert [w.shape for w in ours[len(theirs):]] == [(3,), (3,), ()]
    assert len(wrapper.trainable_weights) == 4 and len(wrapper.non_trainable_weights) == 3
    new = [np.full_like(w, 0.5) for w in ours]
    wrapper.set_weights(new)
    torch.testing.assert_close(module[0].bias, torch.full((3,), 0.5))
    torch.testing.assert_close(module[1].running_mean, torch.full((3,), 0.5))


def test_wrapper_mode_follows_loom_and_training_argument():
    module = torch.nn.Dropout(0.5)
    wrapper = layers.TorchModuleWrapper(module)
    ones = torch.ones(1000)
    assert not module.training and torch.equal(wrapper(ones), ones)
    out = wrapper(ones, training=True)
    assert (out == 0).any() and not module.training


def test_lazy_module_is_built_by_the_symbolic_call():
    lazy = torch.nn.LazyLinear(3)
    x = loom.Input((5,))
    y = layers.TorchModuleWrapper(lazy)(x)
    assert y.shape == (None, 3)
    assert tuple(lazy.weight.shape) == (3, 5)
    model = loom.Model(x, y)
    assert model(np.ones((2, 5))).shape == (2, 3)


def test_numpy_input_and_freezing():
    wrapper = layers.TorchModuleWrapper(torch.nn.Linear(2, 1))
    out = wrapper(np.ones((3, 2)))
    assert out.shape == (3, 1) and out.dtype == torch.float32
    wrapper.trainable = False
    assert all(not p.requires_grad for p in wrapper.module.parameters())


def test_wrapper_errors():
    with pytest.raises(ConfigError, match="torch.nn.Module"):
        layers.TorchModuleWrapper("linear")
    with pytest.raises(ConfigError, match="no config"):
        layers.TorchModuleWrapper(torch.nn.ReLU()).get_config()


def test_loom_model_inside_plain_torch_code():
    x = loom.Input((4,))
    model = loom.Model(x, layers.Dense(2)(x))
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), model, torch.nn.Softmax(dim=-1))
    out = net(torch.randn(5, 3))
    assert out.shape == (5, 2)
    torch.testing.assert_close(out.sum(dim=-1), torch.ones(5))
    assert len(list(net.parameters())) == 4
