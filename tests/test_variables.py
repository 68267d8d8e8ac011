"""Keras variables that are torch Parameters: the API on layer weights and free-standing loom Variables."""

import copy
import pickle

import numpy as np
import pytest
import torch

import loom
from loom.errors import ConfigError, InputError
from loom.variables import Variable
from tests.keras_oracle import keras


def test_layer_weights_are_parameters_with_the_keras_variable_api():
    layer = loom.layers.Dense(3, name="dense_v")
    layer(np.ones((2, 4)))
    kernel, bias = layer.weights
    assert isinstance(kernel, torch.nn.Parameter) and isinstance(kernel, Variable)
    assert [w.name for w in layer.weights] == ["kernel", "bias"]
    assert [w.path for w in layer.weights] == ["dense_v/kernel", "dense_v/bias"]
    assert kernel.trainable and tuple(kernel.shape) == (4, 3) and kernel.dtype == torch.float32
    assert kernel.dtype_name == "float32"
    assert kernel.value is kernel
    np.testing.assert_array_equal(kernel.numpy(), layer.get_weights()[0])


def test_value_grad_is_the_gradient():
    layer = loom.layers.Dense(1)
    x = torch.ones(2, 3)
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.kernel.value.grad.numpy(), np.full((3, 1), 2.0))
    assert all(v.value.grad is not None for v in layer.trainable_weights)


def test_assign_family_writes_in_place_without_gradient():
    layer = loom.layers.Dense(2)
    layer(torch.ones(1, 2))
    kernel = layer.kernel
    before = id(kernel)
    kernel.assign(np.ones((2, 2)))
    kernel.assign_add(torch.full((2, 2), 2.0))
    kernel.assign_sub(np.full((2, 2), 0.5))
    assert id(layer.kernel) == before and not kernel.grad_fn
    np.testing.assert_allclose(kernel.numpy(), np.full((2, 2), 2.5))
    with pytest.raises(InputError, match="dense.*kernel.*shape"):
        kernel.assign(np.ones((3, 2)))


def test_conv_kernel_reads_and_writes_keras_layout():
    klayer = keras.layers.Conv2D(4, (3, 2))
    klayer(np.zeros((1, 5, 5, 3), "float32"))
    layer = loom.layers.Conv2D(4, (3, 2))
    layer(np.zeros((1, 5, 5, 3), "float32"))
    keras_kernel = klayer.kernel.numpy()
    layer.kernel.assign(keras_kernel)  # Keras's (kh, kw, in, out) layout
    assert layer.kernel.numpy().shape == (3, 2, 3, 4)
    np.testing.assert_array_equal(layer.kernel.numpy(), keras_kernel)
    np.testing.assert_array_equal(layer.get_weights()[0], keras_kernel)
    stored = layer.kernel.detach().clone()
    layer.kernel.assign(stored * 2)  # the stored layout, as a tensor computed from the weight itself
    np.testing.assert_allclose(layer.kernel.numpy(), keras_kernel * 2)


def test_keras_code_sees_a_conv_kernel_in_keras_layout():
    """PixelCNN's masked convolution: ``ops.shape(conv.kernel)`` is Keras's shape, ``conv.kernel * numpy_mask``
    a Keras-layout tensor that keeps the gradient (as a Keras variable's operators do), and assigning it back
    works, also while a functional model is being built (weights on the meta device)."""
    results = {}
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 2)).astype("float32")
    for lib in (keras, loom):
        conv = lib.layers.Conv2D(3, (3, 2), padding="same")
        conv.build((None, 4, 4, 2))
        kernel_shape = lib.ops.shape(conv.kernel)
        mask = np.zeros(kernel_shape)
        mask[:1] = 1.0
        product = conv.kernel * mask
        results[lib] = kernel_shape, tuple(product.shape), product.dtype, product.requires_grad
        assert tuple(lib.ops.convert_to_tensor(conv.kernel).shape) == (3, 2, 2, 3)
        assert tuple((mask * conv.kernel).shape) == (3, 2, 2, 3)
    assert results[loom] == results[keras] == ((3, 2, 2, 3), (3, 2, 2, 3), torch.float64, True)

    class Masked(loom.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv = loom.layers.Conv2D(3, 3, padding="same")

        def build(self, input_shape):
            self.conv.build(input_shape)
            self.mask = np.zeros(loom.ops.shape(self.conv.kernel))
            self.mask[0] = 1.0

        def call(self, inputs):
            self.conv.kernel.assign(self.conv.kernel * self.mask)
            return self.conv(inputs)

    inputs = loom.Input((4, 4, 2))
    model = loom.Model(inputs, Masked()(inputs))  # shape inference runs call() on meta weights
    model(x)
    kernel = model.layers[1].conv.kernel.numpy()
    np.testing.assert_array_equal(kernel[1:], 0.0)
    assert np.count_nonzero(kernel[0])


def test_free_standing_variable_matches_keras():
    for kwargs in ({"initializer": [[1.0, 2.0], [3.0, 4.0]]},
                   {"initializer": "ones", "shape": (2, 3), "dtype": "float32"},
                   {"initializer": np.arange(3), "dtype": "int32", "trainable": False}):
        kv, lv = keras.Variable(**kwargs, name="v"), Variable(**kwargs, name="v")
        np.testing.assert_array_equal(lv.numpy(), kv.numpy())
        assert lv.name == kv.name and lv.dtype_name == kv.dtype and tuple(lv.shape) == tuple(kv.shape)
        assert lv.trainable == kv.trainable
        kv.assign_add(np.ones(kv.shape, kv.dtype))
        lv.assign_add(np.ones(tuple(lv.shape), lv.dtype_name))
        np.testing.assert_array_equal(lv.numpy(), kv.numpy())
    np.testing.assert_array_equal(np.asarray(Variable([1.0, 2.0])), [1.0, 2.0])


def test_variable_bad_arguments():
    with pytest.raises(ConfigError, match="initial value or an initializer"):
        Variable()
    with pytest.raises(ConfigError, match="needs a `shape`"):
        Variable("zeros")
    with pytest.raises(ConfigError, match="shape"):
        Variable([1.0, 2.0], shape=(3,))


def test_trainable_setter_and_optimizer_apply_on_free_variables():
    v = Variable(np.array([1.0, 2.0], "float32"))
    v.trainable = False
    assert not v.requires_grad
    v.trainable = True
    opt = loom.optimizers.SGD(learning_rate=0.5)
    (v * v).sum().backward()
    with torch.no_grad():
        opt.apply([v.value.grad], [v])
    np.testing.assert_allclose(v.numpy(), [0.0, 0.0])
    w = Variable(np.array([1.0], "float32"))
    opt2 = loom.optimizers.SGD(learning_rate=0.5)
    opt2.apply_gradients(zip([torch.ones(1)], [w]))
    np.testing.assert_allclose(w.numpy(), [0.5])


def test_variable_assigned_to_a_layer_is_a_weight():
    class Counter(loom.layers.Layer):
        def __init__(self):
            super().__init__()
            self.scale = Variable(np.ones(2, "float32"), name="scale")
            self.count = Variable(np.zeros((), "float32"), trainable=False, name="count")

        def call(self, x):
            self.count.assign_add(1.0)
            return x * self.scale

    layer = Counter()
    layer(torch.ones(1, 2))
    assert [w.name for w in layer.trainable_weights] == ["scale"]
    assert [w.name for w in layer.non_trainable_weights] == ["count"]
    assert float(layer.count) == 1.0


def test_add_weight_with_keras_arguments_and_aliases():
    class Linear(loom.layers.Layer):
        def __init__(self, units):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)
            self.steps = self.add_weight(shape=(), initializer="zeros", dtype="int64", trainable=False,
                                         name="steps")

        def call(self, x):
            return x @ self.w + self.b

    layer = Linear(3)
    out = layer(np.ones((2, 4), "float32"))
    assert tuple(out.shape) == (2, 3)
    assert [w.name for w in layer.weights] == ["variable", "variable_1", "steps"]
    assert layer.w is layer.weights[0] and len(list(layer.parameters())) == 2
    assert [n for n, _ in layer.named_parameters()] == ["w", "b"]
    assert layer.steps.dtype == torch.int64 and not layer.steps.trainable
    assert [tuple(w.shape) for w in layer.get_weights()] == [(4, 3), (3,), ()]


def test_deepcopy_and_pickle_keep_the_variable():
    layer = loom.layers.Dense(2, name="dense_copy")
    layer(torch.ones(1, 3))
    clone = copy.deepcopy(layer)
    assert isinstance(clone.kernel, Variable) and clone.kernel.path == "dense_copy/kernel"
    clone.kernel.assign(np.zeros((3, 2)))
    assert float(layer.kernel.detach().abs().sum()) > 0
    restored = pickle.loads(pickle.dumps(layer.kernel))
    assert isinstance(restored, Variable) and restored.name == "kernel"
    np.testing.assert_array_equal(restored.numpy(), layer.kernel.numpy())


def _paths_of_models(lib):
    class MyModel(lib.Model):
        def __init__(self):
            super().__init__()
            self.d1 = lib.layers.Dense(3)
            self.d2 = lib.layers.Dense(1)

        def call(self, x):
            return self.d2(self.d1(x))

    x = np.ones((1, 4), "float32")
    sequential = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2), lib.layers.Dense(1)])
    lazy = lib.Sequential([lib.layers.Dense(2), lib.layers.Dense(1)])
    lazy(x)
    subclassed = MyModel()
    subclassed(x)
    inputs = lib.Input((4,))
    inner = lib.Sequential([lib.Input((4,)), lib.layers.Dense(2)])
    nested = lib.Model(inputs, lib.layers.Dense(1)(inner(inputs)))
    return [[w.path.split("/")[:-1] for w in m.weights] for m in (sequential, lazy, subclassed, nested)]


def test_weight_paths_follow_keras_name_scopes():
    import re

    def plain(paths):  # auto-name counters differ with what else the process built
        return [[re.sub(r"_\d+$", "", part) for part in p] for p in paths]
    keras_paths, loom_paths = _paths_of_models(keras), _paths_of_models(loom)
    assert [plain(p) for p in loom_paths] == [plain(p) for p in keras_paths]
    assert plain(loom_paths[2])[0] == ["my_model", "dense"]
