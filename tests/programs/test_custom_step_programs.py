"""Keras 3 programs with custom layers, custom train steps and hand-written loops, run on loom.

Written after keras.io's Keras 3 guides (subclassing, VAE, customizing fit() with PyTorch, a training loop from
scratch in PyTorch, training & evaluation with built-in methods); where a program is deterministic it runs in
loom and in Keras 3 (torch backend) from the same weights and the results are compared.
"""

import numpy as np
import pytest
import torch

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def _rng(seed: int = 0):
    return np.random.default_rng(seed)


# ===================================================================== 1. making new layers via subclassing
def _linear_cls(lib, in_build: bool):
    class Linear(lib.layers.Layer):
        def __init__(self, units=32, input_dim=None, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            if not in_build:
                self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal", trainable=True)
                self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

        def build(self, input_shape):
            if in_build:
                self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal",
                                         trainable=True)
                self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

        def call(self, inputs):
            return lib.ops.matmul(inputs, self.w) + self.b

    return Linear


@pytest.mark.parametrize("in_build", [False, True])
def test_linear_layer_weights_in_init_or_build(in_build):
    x = _rng().normal(size=(2, 3)).astype("float32")
    layers = {}
    for lib in (keras, loom):
        Linear = _linear_cls(lib, in_build)
        layers[lib] = Linear(4, 3) if not in_build else Linear(4)
        if in_build:
            layers[lib](x)
    kl, ll = layers[keras], layers[loom]
    assert len(ll.weights) == 2 and len(ll.trainable_weights) == 2 and not ll.non_trainable_weights
    assert ll.weights[0].shape == (3, 4)
    ll.set_weights(kl.get_weights())
    assert_allclose_scaled(np.asarray(ll(x).detach()), np.asarray(kl(x).detach()))
    assert isinstance(ll, torch.nn.Module) and len(list(ll.parameters())) == 2


def _compute_sum(lib):
    class ComputeSum(lib.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

        def call(self, inputs):
            self.total.assign_add(lib.ops.sum(inputs, axis=0))
            return self.total

    return ComputeSum


def test_non_trainable_weight_updated_with_assign_add():
    layer = _compute_sum(loom)(2)
    x = loom.ops.ones((2, 2))
    np.testing.assert_allclose(np.asarray(layer(x).detach()), [2.0, 2.0])
    np.testing.assert_allclose(np.asarray(layer(x).detach()), [4.0, 4.0])
    assert len(layer.weights) == 1 and len(layer.non_trainable_weights) == 1 and not layer.trainable_weights


def _mlp_block(lib):
    Linear = _linear_cls(lib, in_build=True)

    class MLPBlock(lib.layers.Layer):
        def __init__(self):
            super().__init__()
            self.linear_1 = Linear(8)
            self.linear_2 = Linear(8)
            self.linear_3 = Linear(1)

        def call(self, inputs):
            x = lib.activations.relu(self.linear_1(inputs))
            x = lib.activations.relu(self.linear_2(x))
            return self.linear_3(x)

    return MLPBlock


def test_nested_layers_are_tracked():
    x = _rng().normal(size=(3, 5)).astype("float32")
    kb, lb = _mlp_block(keras)(), _mlp_block(loom)()
    ky, ly = kb(x), lb(x)
    assert len(lb.weights) == len(kb.weights) == 6
    assert len(lb.trainable_weights) == 6
    assert tuple(ly.shape) == (3, 1)
    lb.set_weights(kb.get_weights())
    assert_allclose_scaled(np.asarray(lb(x).detach()), np.asarray(kb(x).detach()))


def _activity_reg(lib):
    class ActivityRegularizationLayer(lib.layers.Layer):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * lib.ops.mean(inputs))
            return inputs

    class OuterLayer(lib.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularizationLayer(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    return ActivityRegularizationLayer, OuterLayer


def test_add_loss_in_call_reset_per_call_and_used_by_fit():
    _, OuterLayer = _activity_reg(loom)
    layer = OuterLayer()
    assert len(layer.losses) == 0
    layer(loom.ops.zeros((1, 1)))
    assert len(layer.losses) == 1
    layer(loom.ops.zeros((1, 1)))
    assert len(layer.losses) == 1  # reset at the start of each top-level call
    layer(loom.ops.ones((2, 2)))
    np.testing.assert_allclose(float(layer.losses[0]), 1e-2, rtol=1e-6)

    x = _rng().normal(size=(32, 4)).astype("float32")
    y = _rng(1).normal(size=(32, 1)).astype("float32")

    def build(lib):
        Reg, _ = _activity_reg(lib)
        inputs = lib.Input((4,))
        h = Reg(0.5)(lib.layers.Dense(3)(inputs))
        model = lib.Model(inputs, lib.layers.Dense(1)(h))
        model.compile(optimizer=lib.optimizers.SGD(0.01), loss="mse")
        return model

    km, lm = build(keras), build(loom)
    lm.set_weights(km.get_weights())
    kh = km.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    lh = lm.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert_allclose_scaled(lh["loss"], kh["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())


def _dropout_like(lib):
    class CustomDropout(lib.layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seed_generator = lib.random.SeedGenerator(1337)

        def call(self, inputs, training=None):
            if training:
                return lib.random.dropout(inputs, rate=self.rate, seed=self.seed_generator)
            return inputs

    return CustomDropout


def test_layer_with_training_argument():
    layer = _dropout_like(loom)(0.5)
    x = loom.ops.ones((4, 64))
    np.testing.assert_array_equal(np.asarray(layer(x).detach()), 1.0)
    np.testing.assert_array_equal(np.asarray(layer(x, training=False).detach()), 1.0)
    out = np.asarray(layer(x, training=True).detach())
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == 0).any() and (out == 2).any()
    inputs = loom.Input((64,))
    model = loom.Model(inputs, _dropout_like(loom)(0.5)(inputs))
    np.testing.assert_array_equal(model.predict(np.ones((2, 64), "float32"), verbose=0), 1.0)


def _masking_layers(lib):
    class MaskedMean(lib.layers.Layer):
        """Mean over time steps where the mask is true."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            if mask is None:
                return lib.ops.mean(inputs, axis=1)
            m = lib.ops.expand_dims(lib.ops.cast(mask, inputs.dtype), -1)
            return lib.ops.sum(inputs * m, axis=1) / lib.ops.maximum(lib.ops.sum(m, axis=1), 1.0)

        def compute_mask(self, inputs, mask=None):
            return None

    class CustomEmbedding(lib.layers.Layer):
        def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
            super().__init__(**kwargs)
            self.input_dim, self.output_dim, self.mask_zero = input_dim, output_dim, mask_zero
            self.embeddings = self.add_weight(shape=(input_dim, output_dim), initializer="random_normal")

        def call(self, inputs):
            inputs = lib.ops.cast(inputs, "int32")
            return lib.ops.take(self.embeddings, inputs, axis=0)

        def compute_mask(self, inputs, mask=None):
            if not self.mask_zero:
                return None
            return lib.ops.not_equal(inputs, 0)

    return MaskedMean, CustomEmbedding


def test_masking_compute_mask_and_a_layer_receiving_mask():
    tokens = np.array([[3, 5, 0, 0], [1, 2, 7, 0]], "int32")
    outs = {}
    for lib in (keras, loom):
        MaskedMean, CustomEmbedding = _masking_layers(lib)
        inputs = lib.Input((4,), dtype="int32")
        emb = CustomEmbedding(10, 3, mask_zero=True)
        x = emb(inputs)
        model = lib.Model(inputs, MaskedMean()(x))
        outs[lib] = model
    outs[loom].set_weights(outs[keras].get_weights())
    ly, ky = outs[loom].predict(tokens, verbose=0), outs[keras].predict(tokens, verbose=0)
    assert_allclose_scaled(ly, ky)
    table = outs[loom].get_weights()[0]
    np.testing.assert_allclose(ly[0], table[[3, 5]].mean(axis=0), rtol=1e-5)
    # compute_mask called directly gives the padding mask
    emb = outs[loom].layers[1]
    np.testing.assert_array_equal(np.asarray(emb.compute_mask(torch.as_tensor(tokens))), tokens != 0)


def test_get_config_register_serializable_and_keras_round_trip(tmp_path):
    @loom.saving.register_keras_serializable(package="ProgC")
    class ScaledLinear(loom.layers.Layer):
        def __init__(self, units=4, scale=1.0, **kwargs):
            super().__init__(**kwargs)
            self.units, self.scale = units, scale

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

        def call(self, inputs):
            return self.scale * (loom.ops.matmul(inputs, self.w) + self.b)

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units, "scale": self.scale})
            return config

    layer = ScaledLinear(5, scale=2.0, name="scaled")
    config = layer.get_config()
    assert config["units"] == 5 and config["scale"] == 2.0 and config["name"] == "scaled"
    clone = ScaledLinear.from_config(config)
    assert clone.units == 5 and clone.scale == 2.0 and clone.name == "scaled"
    assert loom.saving.get_registered_name(ScaledLinear) == "ProgC>ScaledLinear"

    inputs = loom.Input((3,))
    model = loom.Model(inputs, ScaledLinear(2, scale=0.5)(inputs))
    model.compile(optimizer="adam", loss="mse")
    x = _rng().normal(size=(8, 3)).astype("float32")
    model.fit(x, _rng(1).normal(size=(8, 2)).astype("float32"), epochs=1, verbose=0)
    path = str(tmp_path / "scaled.keras")
    model.save(path)
    loaded = loom.saving.load_model(path)
    assert type(loaded.layers[-1]).__name__ == "ScaledLinear" and loaded.layers[-1].scale == 0.5
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def _subclassed_model(lib):
    class MLP(lib.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = lib.layers.Dense(8, activation="relu")
            self.out = lib.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    return MLP


def test_subclassed_model_with_call_used_with_fit():
    x = _rng().normal(size=(32, 4)).astype("float32")
    y = (x.sum(axis=1, keepdims=True) > 0).astype("float32")
    km, lm = _subclassed_model(keras)(), _subclassed_model(loom)()
    km(x[:1]), lm(x[:1])
    lm.set_weights(km.get_weights())
    for m, lib in ((km, keras), (lm, loom)):
        m.compile(optimizer=lib.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"])
    kh = km.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    lh = lm.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert set(lh) == set(kh)
    assert_allclose_scaled(lh["loss"], kh["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
