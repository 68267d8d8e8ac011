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
    # eagerly the mask rides on the output and reaches the next layer's `mask` argument, as in Keras
    MaskedMean, CustomEmbedding = _masking_layers(loom)
    embedded = emb(tokens)
    np.testing.assert_array_equal(np.asarray(embedded._keras_mask), tokens != 0)
    assert_allclose_scaled(np.asarray(MaskedMean()(embedded).detach()), ly)


def _mask_chain(lib):
    class Scale(lib.layers.Layer):
        """Passes the mask through untouched (``supports_masking``)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs):
            return inputs * 2.0

    class MaskFirstStep(lib.layers.Layer):
        """Also masks the first time step."""

        def call(self, inputs, mask=None):
            return inputs

        def compute_mask(self, inputs, mask=None):
            if mask is None:
                return None
            later = lib.ops.arange(lib.ops.shape(mask)[1]) > 0
            return lib.ops.logical_and(mask, lib.ops.expand_dims(later, 0))

    inputs = lib.Input((5,), dtype="int32")
    h = lib.layers.Embedding(10, 4, mask_zero=True)(inputs)
    h = MaskFirstStep()(Scale()(h))
    return lib.Model(inputs, lib.layers.LSTM(3)(h))


def test_custom_layers_passing_and_changing_the_mask_before_an_lstm():
    tokens = np.array([[3, 5, 0, 0, 0], [1, 2, 7, 4, 0]], "int32")
    km, lm = _mask_chain(keras), _mask_chain(loom)
    lm.set_weights(km.get_weights())
    out = lm.predict(tokens, verbose=0)
    assert_allclose_scaled(out, km.predict(tokens, verbose=0))
    # the first row keeps one step (5): the same as the LSTM on that step alone
    alone = lm.predict(np.array([[5, 0, 0, 0, 0]], "int32"), verbose=0)
    assert not np.allclose(out[0], alone[0])  # step 5 alone is masked as the first step
    np.testing.assert_allclose(lm.predict(np.array([[9, 5, 0, 0, 0]], "int32"), verbose=0)[0], out[0], rtol=1e-5)


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


def _add_loss_model(lib):
    class Autoencoder(lib.Model):
        """A subclassed model adding a penalty on its code in ``call``, trained with a compiled loss too."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.encode = lib.layers.Dense(3, activation="tanh")
            self.decode = lib.layers.Dense(4)

        def call(self, inputs):
            code = self.encode(inputs)
            self.add_loss(0.1 * lib.ops.mean(lib.ops.square(code)))
            return self.decode(code)

    return Autoencoder()


def test_subclassed_model_with_add_loss_in_call_fit_matches_keras():
    x = _rng().normal(size=(32, 4)).astype("float32")
    km, lm = _add_loss_model(keras), _add_loss_model(loom)
    km(x[:1]), lm(x[:1])
    lm.set_weights(km.get_weights())
    for model, lib in ((km, keras), (lm, loom)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss=lib.losses.MeanSquaredError())
    kh = km.fit(x, x, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    lh = lm.fit(x, x, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert_allclose_scaled(lh["loss"], kh["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
    assert len(lm.losses) == 1


def _endpoint_model(lib):
    class LogisticEndpoint(lib.layers.Layer):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.loss_fn = lib.losses.BinaryCrossentropy(from_logits=True)

        def call(self, targets, logits, sample_weights=None):
            self.add_loss(self.loss_fn(targets, logits, sample_weights))
            return lib.ops.softmax(logits)

    inputs = lib.Input((3,), name="inputs")
    targets = lib.Input((10,), name="targets")
    logits = lib.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    model = lib.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer=lib.optimizers.Adam(1e-2))  # no loss: the endpoint layer adds it
    return model


def test_endpoint_layer_adding_the_loss_fit_without_targets():
    rng = _rng(7)
    data = {"inputs": rng.normal(size=(24, 3)).astype("float32"),
            "targets": (rng.random(size=(24, 10)) > 0.5).astype("float32")}
    km, lm = _endpoint_model(keras), _endpoint_model(loom)
    lm.set_weights(km.get_weights())
    kh = km.fit(data, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    lh = lm.fit(data, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    assert set(lh) == set(kh) == {"loss"}
    assert_allclose_scaled(lh["loss"], kh["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
    assert lh["loss"][-1] < lh["loss"][0]
    probs = lm.predict(data, verbose=0)
    assert probs.shape == (24, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


# ======================================================================== 2. a variational autoencoder
def _vae(lib, latent_dim: int = 2):
    ops = lib.ops

    class Sampling(lib.layers.Layer):
        """Draws z from N(z_mean, exp(z_log_var)) with the reparameterization trick."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seed_generator = lib.random.SeedGenerator(1337)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
            epsilon = lib.random.normal(shape=(batch, dim), seed=self.seed_generator)
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    enc_in = lib.Input((8, 8, 1))
    h = lib.layers.Conv2D(4, 3, activation="relu", strides=2, padding="same")(enc_in)
    h = lib.layers.Conv2D(8, 3, activation="relu", strides=2, padding="same")(h)
    h = lib.layers.Flatten()(h)
    h = lib.layers.Dense(8, activation="relu")(h)
    z_mean = lib.layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = lib.layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling()([z_mean, z_log_var])
    encoder = lib.Model(enc_in, [z_mean, z_log_var, z], name="encoder")

    dec_in = lib.Input((latent_dim,))
    h = lib.layers.Dense(2 * 2 * 8, activation="relu")(dec_in)
    h = lib.layers.Reshape((2, 2, 8))(h)
    h = lib.layers.Conv2DTranspose(8, 3, activation="relu", strides=2, padding="same")(h)
    h = lib.layers.Conv2DTranspose(4, 3, activation="relu", strides=2, padding="same")(h)
    dec_out = lib.layers.Conv2DTranspose(1, 3, activation="sigmoid", padding="same")(h)
    decoder = lib.Model(dec_in, dec_out, name="decoder")

    class VAE(lib.Model):
        def __init__(self, encoder, decoder, **kwargs):
            super().__init__(**kwargs)
            self.encoder, self.decoder = encoder, decoder
            self.total_loss_tracker = lib.metrics.Mean(name="total_loss")
            self.reconstruction_loss_tracker = lib.metrics.Mean(name="reconstruction_loss")
            self.kl_loss_tracker = lib.metrics.Mean(name="kl_loss")

        @property
        def metrics(self):
            return [self.total_loss_tracker, self.reconstruction_loss_tracker, self.kl_loss_tracker]

        def train_step(self, data):
            z_mean, z_log_var, z = self.encoder(data)
            reconstruction = self.decoder(z)
            reconstruction_loss = ops.mean(ops.sum(
                lib.losses.binary_crossentropy(data, reconstruction), axis=(1, 2)))
            kl_loss = -0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
            kl_loss = ops.mean(ops.sum(kl_loss, axis=1))
            total_loss = reconstruction_loss + kl_loss
            self.zero_grad()
            total_loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            grads = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(grads, trainable_weights)
            self.total_loss_tracker.update_state(total_loss)
            self.reconstruction_loss_tracker.update_state(reconstruction_loss)
            self.kl_loss_tracker.update_state(kl_loss)
            return {m.name: m.result() for m in self.metrics}

    return VAE(encoder, decoder), encoder, decoder


def test_vae_with_sampling_layer_and_custom_train_step():
    images = (_rng().random(size=(32, 8, 8, 1)) > 0.5).astype("float32")
    vae, encoder, decoder = _vae(loom)
    vae.compile(optimizer=loom.optimizers.Adam(1e-2))
    history = vae.fit(images, epochs=4, batch_size=16, verbose=0).history
    assert set(history) == {"total_loss", "reconstruction_loss", "kl_loss"}
    assert all(len(v) == 4 for v in history.values())
    np.testing.assert_allclose(np.array(history["total_loss"]),
                               np.array(history["reconstruction_loss"]) + np.array(history["kl_loss"]), rtol=1e-5)
    assert history["total_loss"][-1] < history["total_loss"][0]
    # the step's returned values are what the trackers hold at the end of the epoch
    assert history["kl_loss"][-1] == pytest.approx(float(vae.kl_loss_tracker.result()), rel=1e-6)
    z_mean, z_log_var, z = encoder.predict(images[:4], verbose=0)
    assert z_mean.shape == z_log_var.shape == z.shape == (4, 2)
    assert decoder.predict(z, verbose=0).shape == (4, 8, 8, 1)
    # the sampling layer draws different noise per call (its seed generator advances)
    _, _, z2 = encoder.predict(images[:4], verbose=0)
    assert not np.allclose(z, z2)


def test_vae_deterministic_parts_match_keras():
    """With the Sampling noise replaced by z_mean (the encoder's first output), a step matches Keras."""
    images = (_rng().random(size=(16, 8, 8, 1)) > 0.5).astype("float32")
    results = {}
    models = {lib: _vae(lib) for lib in (keras, loom)}
    models[loom][0].set_weights(models[keras][0].get_weights())
    for lib, (vae, encoder, decoder) in models.items():
        ops = lib.ops
        optimizer = lib.optimizers.Adam(1e-2)
        losses = []
        for _ in range(3):
            z_mean, z_log_var, _ = encoder(images)
            reconstruction = decoder(z_mean)
            rec = ops.mean(ops.sum(lib.losses.binary_crossentropy(images, reconstruction), axis=(1, 2)))
            kl = ops.mean(ops.sum(-0.5 * (1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)), axis=1))
            total = rec + kl
            vae.zero_grad()
            total.backward()
            weights = list(vae.trainable_weights)
            with torch.no_grad():
                optimizer.apply([v.value.grad for v in weights], weights)
            losses.append(float(total.detach()))
        results[lib] = losses
    assert_allclose_scaled(results[loom], results[keras])
    assert_weights_close(models[loom][0].get_weights(), models[keras][0].get_weights())


# ===================================================== 3. customizing what happens in fit() with PyTorch
def _custom_model_cls(lib, with_sample_weight: bool = False):
    class CustomModel(lib.Model):
        def train_step(self, data):
            if with_sample_weight:
                x, y, sample_weight = lib.utils.unpack_x_y_sample_weight(data)
            else:
                x, y = data
                sample_weight = None
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred, sample_weight=sample_weight)
            loss.backward()
            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)
            return {m.name: m.result() for m in self.metrics}

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    return CustomModel


def _custom_model(lib, with_sample_weight=False):
    inputs = lib.Input((4,))
    h = lib.layers.Dense(8, activation="relu")(inputs)
    model = _custom_model_cls(lib, with_sample_weight)(inputs, lib.layers.Dense(1)(h))
    model.compile(optimizer=lib.optimizers.Adam(1e-2), loss="mse", metrics=["mae"])
    return model


@pytest.mark.parametrize("with_sample_weight", [False, True])
def test_custom_train_step_with_compute_loss_and_compiled_metrics(with_sample_weight):
    x = _rng().normal(size=(48, 4)).astype("float32")
    y = (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], "float32"))
    sw = _rng(2).random(size=(48,)).astype("float32")
    km, lm = _custom_model(keras, with_sample_weight), _custom_model(loom, with_sample_weight)
    lm.set_weights(km.get_weights())
    kwargs = dict(batch_size=16, epochs=3, shuffle=False, verbose=0)
    if with_sample_weight:
        kwargs["sample_weight"] = sw
    kh = km.fit(x, y, validation_data=(x[:16], y[:16]), **kwargs).history
    lh = lm.fit(x, y, validation_data=(x[:16], y[:16]), **kwargs).history
    assert set(lh) == set(kh) == {"loss", "mae", "val_loss", "val_mae"}
    for key in kh:
        assert_allclose_scaled(lh[key], kh[key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())
    assert lh["loss"][-1] < lh["loss"][0]
    kev = km.evaluate(x, y, verbose=0, return_dict=True)
    lev = lm.evaluate(x, y, verbose=0, return_dict=True)
    assert set(lev) == set(kev)
    for key in kev:
        assert_allclose_scaled(lev[key], kev[key], err_msg=key)


def _gan(lib, latent_dim: int = 3):
    ops = lib.ops
    discriminator = lib.Sequential([lib.Input((4,)), lib.layers.Dense(8, activation="relu"), lib.layers.Dense(1)],
                                   name="discriminator")
    generator = lib.Sequential([lib.Input((latent_dim,)), lib.layers.Dense(8, activation="relu"),
                                lib.layers.Dense(4)], name="generator")

    class GAN(lib.Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator, self.generator, self.latent_dim = discriminator, generator, latent_dim
            self.d_loss_tracker = lib.metrics.Mean(name="d_loss")
            self.g_loss_tracker = lib.metrics.Mean(name="g_loss")
            self.seed_generator = lib.random.SeedGenerator(1337)
            self.built = True

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer, self.g_optimizer, self.loss_fn = d_optimizer, g_optimizer, loss_fn

        def train_step(self, real):
            batch_size = ops.shape(real)[0]
            noise = lib.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            fake = self.generator(noise)
            images = ops.concatenate([fake, real], axis=0)
            labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
            labels = labels + 0.05 * lib.random.uniform(ops.shape(labels), seed=self.seed_generator)

            self.zero_grad()
            d_loss = self.loss_fn(labels, self.discriminator(images))
            d_loss.backward()
            d_weights = list(self.discriminator.trainable_weights)
            with torch.no_grad():
                self.d_optimizer.apply([v.value.grad for v in d_weights], d_weights)

            noise = lib.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
            misleading = ops.zeros((batch_size, 1))
            self.zero_grad()
            g_loss = self.loss_fn(misleading, self.discriminator(self.generator(noise)))
            g_loss.backward()
            g_weights = list(self.generator.trainable_weights)
            with torch.no_grad():
                self.g_optimizer.apply([v.value.grad for v in g_weights], g_weights)

            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    return GAN(discriminator, generator, latent_dim)


def test_gan_with_two_optimizers_and_compile_override():
    real = (_rng().normal(size=(64, 4)) * 0.5 + 2.0).astype("float32")
    gan = _gan(loom)
    d_before = [w.copy() for w in gan.discriminator.get_weights()]
    g_before = [w.copy() for w in gan.generator.get_weights()]
    gan.compile(d_optimizer=loom.optimizers.Adam(1e-3), g_optimizer=loom.optimizers.Adam(1e-3),
                loss_fn=loom.losses.BinaryCrossentropy(from_logits=True))
    history = gan.fit(real, batch_size=16, epochs=2, verbose=0).history
    assert set(history) == {"d_loss", "g_loss"} and all(len(v) == 2 for v in history.values())
    assert all(np.isfinite(v).all() for v in history.values())
    assert int(gan.d_optimizer.iterations) == 8 and int(gan.g_optimizer.iterations) == 8
    assert not any(np.allclose(a, b) for a, b in zip(gan.discriminator.get_weights(), d_before))
    assert not any(np.allclose(a, b) for a, b in zip(gan.generator.get_weights(), g_before))
    assert gan.generator.predict(np.zeros((2, 3), "float32"), verbose=0).shape == (2, 4)


# ======================================================= 4. a training loop from scratch in PyTorch
def _mnist_like(n: int = 64):
    rng = _rng(3)
    x = rng.normal(size=(n, 12)).astype("float32")
    labels = (x[:, :4].argmax(axis=1)).astype("int64")
    y = np.eye(4, dtype="float32")[labels]
    return x, y


def _classifier(lib):
    inputs = lib.Input((12,), name="digits")
    h = lib.layers.Dense(16, activation="relu")(inputs)
    h = lib.layers.Dense(16, activation="relu")(h)
    return lib.Model(inputs, lib.layers.Dense(4, name="predictions")(h))


def _loop_from_scratch(lib, model, x, y, torch_optimizer: bool = False, epochs: int = 2):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y)),
                                         batch_size=16, shuffle=False)
    val_loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.as_tensor(x[:32]), torch.as_tensor(y[:32])), batch_size=16)
    if torch_optimizer:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    else:
        optimizer = lib.optimizers.Adam(learning_rate=1e-2)
    loss_fn = lib.losses.CategoricalCrossentropy(from_logits=True)
    train_acc, val_acc = lib.metrics.CategoricalAccuracy(), lib.metrics.CategoricalAccuracy()
    record = {"loss": [], "acc": [], "val_acc": []}
    for _ in range(epochs):
        for x_batch, y_batch in loader:
            logits = model(x_batch)
            loss = loss_fn(y_batch, logits)
            model.zero_grad()
            loss.backward()
            if torch_optimizer:
                optimizer.step()
            else:
                trainable_weights = [v for v in model.trainable_weights]
                gradients = [v.value.grad for v in trainable_weights]
                with torch.no_grad():
                    optimizer.apply(gradients, trainable_weights)
            train_acc.update_state(y_batch, logits)
            record["loss"].append(float(loss.detach()))
        record["acc"].append(float(train_acc.result()))
        train_acc.reset_state()
        for x_batch, y_batch in val_loader:
            val_acc.update_state(y_batch, model(x_batch, training=False))
        record["val_acc"].append(float(val_acc.result()))
        val_acc.reset_state()
    assert float(train_acc.result()) == 0.0 and float(val_acc.result()) == 0.0
    return record


def test_training_loop_adds_model_losses_from_an_activity_regularization_layer():
    x, y = _mnist_like(32)

    def build(lib):
        class ActivityRegularizationLayer(lib.layers.Layer):
            def call(self, inputs):
                self.add_loss(1e-2 * lib.ops.sum(inputs))
                return inputs

        inputs = lib.Input((12,))
        h = ActivityRegularizationLayer()(lib.layers.Dense(8, activation="relu")(inputs))
        return lib.Model(inputs, lib.layers.Dense(4)(h))

    km, lm = build(keras), build(loom)
    lm.set_weights(km.get_weights())
    records = {}
    for lib, model in ((keras, km), (loom, lm)):
        optimizer = lib.optimizers.SGD(learning_rate=1e-2)
        loss_fn = lib.losses.CategoricalCrossentropy(from_logits=True)
        values = []
        for start in range(0, 32, 8):
            logits = model(x[start:start + 8], training=True)
            loss = loss_fn(torch.as_tensor(y[start:start + 8]), logits)
            assert len(model.losses) == 1
            loss = loss + sum(model.losses)
            model.zero_grad()
            loss.backward()
            weights = list(model.trainable_weights)
            with torch.no_grad():
                optimizer.apply([v.value.grad for v in weights], weights)
            values.append(float(loss.detach()))
        records[lib] = values
    assert_allclose_scaled(records[loom], records[keras])
    assert_weights_close(lm.get_weights(), km.get_weights())


@pytest.mark.parametrize("torch_optimizer", [False, True])
def test_training_loop_from_scratch_matches_keras(torch_optimizer):
    x, y = _mnist_like()
    km, lm = _classifier(keras), _classifier(loom)
    lm.set_weights(km.get_weights())
    kr = _loop_from_scratch(keras, km, x, y, torch_optimizer)
    lr = _loop_from_scratch(loom, lm, x, y, torch_optimizer)
    assert_allclose_scaled(lr["loss"], kr["loss"], err_msg="loss")
    np.testing.assert_allclose(lr["acc"], kr["acc"])
    np.testing.assert_allclose(lr["val_acc"], kr["val_acc"])
    assert_weights_close(lm.get_weights(), km.get_weights())
    assert lr["loss"][-1] < lr["loss"][0]


# ================================================== 5. training & evaluation with built-in methods
def _custom_loss_cls(lib):
    class CustomMSE(lib.losses.Loss):
        def __init__(self, regularization_factor=0.1, name="custom_mse"):
            super().__init__(name=name)
            self.regularization_factor = regularization_factor

        def call(self, y_true, y_pred):
            mse = lib.ops.mean(lib.ops.square(y_true - y_pred), axis=-1)
            reg = lib.ops.mean(lib.ops.square(0.5 - y_pred), axis=-1)
            return mse + reg * self.regularization_factor

        def get_config(self):
            return {"regularization_factor": self.regularization_factor, "name": self.name}

    return CustomMSE


def _true_positives_cls(lib):
    class CategoricalTruePositives(lib.metrics.Metric):
        def __init__(self, name="categorical_true_positives", **kwargs):
            super().__init__(name=name, **kwargs)
            self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

        def update_state(self, y_true, y_pred, sample_weight=None):
            y_pred = lib.ops.reshape(lib.ops.argmax(y_pred, axis=1), (-1, 1))
            values = lib.ops.cast(y_true, "int32") == lib.ops.cast(y_pred, "int32")
            values = lib.ops.cast(values, "float32")
            if sample_weight is not None:
                values = lib.ops.multiply(values, lib.ops.cast(sample_weight, "float32"))
            self.true_positives.assign_add(lib.ops.sum(values))

        def result(self):
            return self.true_positives

        def reset_state(self):
            self.true_positives.assign(0.0)

    return CategoricalTruePositives


def test_custom_loss_subclass_matches_keras_and_round_trips_config():
    x, y = _mnist_like()
    y = y * 0.8 + 0.1
    models = {}
    for lib in (keras, loom):
        model = _classifier(lib)
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss=_custom_loss_cls(lib)(regularization_factor=0.2))
        models[lib] = model
    models[loom].set_weights(models[keras].get_weights())
    kh = models[keras].fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    lh = models[loom].fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert_allclose_scaled(lh["loss"], kh["loss"])
    assert_weights_close(models[loom].get_weights(), models[keras].get_weights())
    CustomMSE = _custom_loss_cls(loom)
    clone = CustomMSE.from_config(CustomMSE(0.3).get_config())
    assert clone.regularization_factor == 0.3 and clone.name == "custom_mse"
    yt, yp = torch.as_tensor(y[:4]), torch.as_tensor(x[:4, :4])
    assert_allclose_scaled(float(clone(yt, yp)), float(_custom_loss_cls(keras)(0.3)(yt, yp)))


def test_custom_metric_subclass_with_add_variable():
    x, y = _mnist_like()
    labels = y.argmax(axis=1)[:, None].astype("float32")
    results = {}
    for lib in (keras, loom):
        metric = _true_positives_cls(lib)()
        metric.update_state(labels[:8], x[:8, :4])
        metric.update_state(labels[8:16], x[8:16, :4], sample_weight=np.full((8, 1), 0.5, "float32"))
        results[lib] = float(metric.result())
        metric.reset_state()
        assert float(metric.result()) == 0.0
        assert len(metric.variables) == 1
    expected = (labels[:8, 0] == x[:8, :4].argmax(1)).sum() + 0.5 * (labels[8:16, 0] == x[8:16, :4].argmax(1)).sum()
    assert results[loom] == results[keras] == pytest.approx(expected)
    # used in compile: sparse labels, history key named after the metric
    km, lm = _classifier(keras), _classifier(loom)
    lm.set_weights(km.get_weights())
    hist = {}
    for lib, model in ((keras, km), (loom, lm)):
        model.compile(optimizer=lib.optimizers.RMSprop(1e-3),
                      loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=[_true_positives_cls(lib)()])
        hist[lib] = model.fit(x, labels, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert set(hist[loom]) == set(hist[keras]) == {"loss", "categorical_true_positives"}
    for key in hist[keras]:
        assert_allclose_scaled(hist[loom][key], hist[keras][key], err_msg=key)


def _multi_output(lib):
    image = lib.Input((6, 6, 1), name="img_input")
    ts = lib.Input((None, 3), name="ts_input")
    a = lib.layers.GlobalMaxPooling2D()(lib.layers.Conv2D(3, 3)(image))
    b = lib.layers.GlobalMaxPooling1D()(lib.layers.Conv1D(3, 3)(ts))
    h = lib.layers.concatenate([a, b])
    score = lib.layers.Dense(1, name="score_output")(h)
    cls = lib.layers.Dense(5, name="class_output")(h)
    return lib.Model(inputs=[image, ts], outputs=[score, cls])


def test_multi_output_model_with_loss_dict_loss_weights_and_metrics_dict():
    rng = _rng(4)
    img = rng.random(size=(32, 6, 6, 1)).astype("float32")
    ts = rng.random(size=(32, 7, 3)).astype("float32")
    score = rng.random(size=(32, 1)).astype("float32")
    cls = rng.random(size=(32, 5)).astype("float32")
    histories, models = {}, {}
    for lib in (keras, loom):
        model = _multi_output(lib)
        model.compile(
            optimizer=lib.optimizers.RMSprop(1e-3),
            loss={"score_output": lib.losses.MeanSquaredError(),
                  "class_output": lib.losses.CategoricalCrossentropy()},
            loss_weights={"score_output": 2.0, "class_output": 1.0},
            metrics={"score_output": [lib.metrics.MeanAbsolutePercentageError(), lib.metrics.MeanAbsoluteError()],
                     "class_output": [lib.metrics.CategoricalAccuracy()]})
        models[lib] = model
    models[loom].set_weights(models[keras].get_weights())
    for lib, model in models.items():
        histories[lib] = model.fit({"img_input": img, "ts_input": ts},
                                   {"score_output": score, "class_output": cls},
                                   batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert set(histories[loom]) == set(histories[keras])
    for key in histories[keras]:
        assert_allclose_scaled(histories[loom][key], histories[keras][key], rel=1e-3, err_msg=key)
    assert_weights_close(models[loom].get_weights(), models[keras].get_weights(), rel=1e-3)


def test_class_weight_and_sample_weight_in_fit_match_keras():
    x, y = _mnist_like()
    labels = y.argmax(axis=1)
    class_weight = {0: 1.0, 1: 2.0, 2: 0.5, 3: 3.0}
    sample_weight = np.where(labels == 3, 2.0, 1.0).astype("float32")
    for kwargs in ({"class_weight": class_weight}, {"sample_weight": sample_weight}):
        models = {}
        for lib in (keras, loom):
            model = _classifier(lib)
            model.compile(optimizer=lib.optimizers.Adam(1e-2),
                          loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=[lib.metrics.SparseCategoricalAccuracy(name="acc")])
            models[lib] = model
        models[loom].set_weights(models[keras].get_weights())
        kh = models[keras].fit(x, labels, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs).history
        lh = models[loom].fit(x, labels, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs).history
        for key in kh:
            assert_allclose_scaled(lh[key], kh[key], err_msg=f"{key} with {list(kwargs)}")
        assert_weights_close(models[loom].get_weights(), models[keras].get_weights())


def test_exponential_decay_schedule_in_an_optimizer():
    x, y = _mnist_like()
    models = {}
    for lib in (keras, loom):
        schedule = lib.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)
        model = _classifier(lib)
        model.compile(optimizer=lib.optimizers.SGD(learning_rate=schedule),
                      loss=lib.losses.CategoricalCrossentropy(from_logits=True))
        models[lib] = model
    models[loom].set_weights(models[keras].get_weights())
    kh = models[keras].fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    lh = models[loom].fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert_allclose_scaled(lh["loss"], kh["loss"])
    assert_weights_close(models[loom].get_weights(), models[keras].get_weights())
    assert float(models[loom].optimizer.learning_rate) == pytest.approx(0.1 * 0.5 ** 4)
    schedule = loom.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    clone = loom.optimizers.schedules.ExponentialDecay.from_config(schedule.get_config())
    assert float(clone(3)) == pytest.approx(float(schedule(3))) == pytest.approx(0.1 * 0.5 ** 1.5)


def _recorder(lib):
    class LogRecorder(lib.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.batches, self.epochs = [], []

        def on_train_batch_end(self, batch, logs=None):
            self.batches.append((batch, dict(logs)))

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append((epoch, dict(logs)))

    return LogRecorder()


def test_callbacks_early_stopping_checkpoint_reduce_lr_and_custom_logs(tmp_path, capsys):
    rng = _rng(5)
    x = rng.normal(size=(48, 12)).astype("float32")
    y = rng.normal(size=(48, 4)).astype("float32")  # noise: the validation loss stops improving quickly
    runs = {}
    for lib in (keras, loom):
        model = _classifier(lib)
        model.compile(optimizer=lib.optimizers.Adam(5e-2), loss="mse")
        runs[lib] = model
    runs[loom].set_weights(runs[keras].get_weights())
    results = {}
    for lib, model in runs.items():
        recorder = _recorder(lib)
        callbacks = [
            lib.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1),
            lib.callbacks.ModelCheckpoint(str(tmp_path / f"{lib.__name__}_best.keras"), monitor="val_loss",
                                          save_best_only=True),
            lib.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-4),
            recorder,
        ]
        history = model.fit(x[:32], y[:32], validation_data=(x[32:], y[32:]), batch_size=16, epochs=20,
                            shuffle=False, verbose=0, callbacks=callbacks)
        results[lib] = (history, recorder, callbacks[0])
    out = capsys.readouterr().out
    kh, kr, ke = results[keras]
    lh, lr, le = results[loom]
    assert len(lh.epoch) == len(kh.epoch) < 20 and le.stopped_epoch == ke.stopped_epoch
    assert out.count("early stopping") == 2
    assert set(lh.history) == set(kh.history) == {"loss", "val_loss", "learning_rate"}
    for key in kh.history:
        assert_allclose_scaled(lh.history[key], kh.history[key], rel=1e-3, err_msg=key)
    assert [b for b, _ in lr.batches] == [b for b, _ in kr.batches]
    assert all(set(logs) == {"loss"} for _, logs in lr.batches)
    assert [set(logs) for _, logs in lr.epochs] == [set(logs) for _, logs in kr.epochs]
    assert_allclose_scaled([logs["val_loss"] for _, logs in lr.epochs], lh.history["val_loss"])
    best = loom.saving.load_model(str(tmp_path / "loom_best.keras"))
    best_epoch = int(np.argmin(lh.history["val_loss"]))
    assert best_epoch < len(lh.epoch) - 1
    assert best.evaluate(x[32:], y[32:], verbose=0) == pytest.approx(lh.history["val_loss"][best_epoch], rel=1e-5)


def test_validation_split_and_validation_data_tuple():
    x, y = _mnist_like(80)
    models = {}
    for lib in (keras, loom):
        model = _classifier(lib)
        model.compile(optimizer=lib.optimizers.Adam(1e-2), loss=lib.losses.CategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        models[lib] = model
    models[loom].set_weights(models[keras].get_weights())
    for kwargs in ({"validation_split": 0.2}, {"validation_data": (x[:16], y[:16])}):
        kh = models[keras].fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs).history
        lh = models[loom].fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, **kwargs).history
        assert set(lh) == set(kh) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        for key in kh:
            assert_allclose_scaled(lh[key], kh[key], err_msg=f"{key} with {list(kwargs)}")
    assert_weights_close(models[loom].get_weights(), models[keras].get_weights())


def test_fit_on_a_torch_dataloader_and_a_pydataset():
    x, y = _mnist_like(48)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(x), torch.as_tensor(y)),
                                         batch_size=16, shuffle=False)

    def pydataset(lib):
        class Batches(lib.utils.PyDataset):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)

            def __len__(self):
                return 3

            def __getitem__(self, index):
                return x[index * 16:(index + 1) * 16], y[index * 16:(index + 1) * 16]

        return Batches()

    for source in ("loader", "pydataset"):
        models = {}
        for lib in (keras, loom):
            model = _classifier(lib)
            model.compile(optimizer=lib.optimizers.Adam(1e-2),
                          loss=lib.losses.CategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
            models[lib] = model
        models[loom].set_weights(models[keras].get_weights())
        hist = {}
        for lib, model in models.items():
            data = loader if source == "loader" else pydataset(lib)
            hist[lib] = model.fit(data, validation_data=loader, epochs=2, shuffle=False, verbose=0).history
        assert set(hist[loom]) == set(hist[keras]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
        for key in hist[keras]:
            assert_allclose_scaled(hist[loom][key], hist[keras][key], err_msg=f"{key} from a {source}")
        assert_weights_close(models[loom].get_weights(), models[keras].get_weights())


def test_subclassed_model_with_get_config_saved_as_keras_and_loaded(tmp_path):
    @loom.saving.register_keras_serializable(package="ProgC")
    class Classifier(loom.Model):
        def __init__(self, hidden=8, classes=4, **kwargs):
            super().__init__(**kwargs)
            self.hidden, self.classes = hidden, classes
            self.block = _mlp_block(loom)()
            self.head = loom.layers.Dense(classes)

        def call(self, inputs):
            return self.head(loom.activations.relu(self.block(inputs)))

        def get_config(self):
            config = super().get_config()
            config.update({"hidden": self.hidden, "classes": self.classes})
            return config

    x, y = _mnist_like(32)
    model = Classifier(hidden=6, classes=4)
    model.compile(optimizer="adam", loss=loom.losses.CategoricalCrossentropy(from_logits=True))
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    path = str(tmp_path / "classifier.keras")
    model.save(path)
    loaded = loom.saving.load_model(path)
    assert isinstance(loaded, Classifier) and (loaded.hidden, loaded.classes) == (6, 4)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.optimizer is not None
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0)  # the loaded model trains on


def test_custom_loss_function_and_a_callback_stopping_training():
    x, y = _mnist_like(32)

    def build(lib):
        def custom_mean_squared_error(y_true, y_pred):
            return lib.ops.mean(lib.ops.square(y_true - y_pred), axis=-1)

        class StopAfterTwo(lib.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == 1:
                    self.model.stop_training = True

        model = _classifier(lib)
        model.compile(optimizer=lib.optimizers.Adam(1e-2), loss=custom_mean_squared_error)
        return model, StopAfterTwo()

    (km, kcb), (lm, lcb) = build(keras), build(loom)
    lm.set_weights(km.get_weights())
    kh = km.fit(x, y, batch_size=8, epochs=10, shuffle=False, verbose=0, callbacks=[kcb]).history
    lh = lm.fit(x, y, batch_size=8, epochs=10, shuffle=False, verbose=0, callbacks=[lcb]).history
    assert len(lh["loss"]) == len(kh["loss"]) == 2
    assert_allclose_scaled(lh["loss"], kh["loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
