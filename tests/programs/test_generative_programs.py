"""Generative and gradient-based vision programs in the style of keras.io's Keras 3 examples, run on loom.

GANs with their own ``train_step`` (DCGAN, WGAN-GP, a conditional GAN), Grad-CAM, neural style transfer and
DeepDream (gradients with respect to activations and to an input image), a PixelCNN with masked convolutions,
Siamese networks with contrastive and triplet losses, and a sub-pixel super-resolution autoencoder. Each program
is a miniature on seeded synthetic data, written as a Keras user on the torch backend writes it (``keras.ops``,
``loss.backward()``, ``torch.autograd.grad``), built in Keras 3 (torch) and in loom from the same weights; losses,
outputs and weights are compared. Where a program draws random numbers (latent vectors, interpolation weights)
the comparison replays the same NumPy draws in both libraries (``_replayed_random``) and a loom-only run checks
the real seeded path.
"""

import numpy as np
import pytest
import torch

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def _rng(seed: int = 0):
    return np.random.default_rng(seed)


def _pair(build, **kwargs):
    """The same program built in Keras and in loom, loom holding Keras's initial weights."""
    km, lm = build(keras, **kwargs), build(loom, **kwargs)
    lm.set_weights(km.get_weights())
    return km, lm


def _numpy(x) -> np.ndarray:
    return np.asarray(x.detach().cpu()) if isinstance(x, torch.Tensor) else np.asarray(x)


def _replayed_random(monkeypatch, lib, seed: int = 0):
    """``lib.random.normal`` / ``uniform`` answered from one NumPy stream, so Keras and loom draw the same."""
    rng = _rng(seed)

    def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        draw = rng.normal(size=tuple(int(s) for s in shape)) * stddev + mean
        return lib.ops.convert_to_tensor(draw.astype("float32"))

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        draw = rng.uniform(minval, maxval, size=tuple(int(s) for s in shape))
        return lib.ops.convert_to_tensor(draw.astype("float32"))

    monkeypatch.setattr(lib.random, "normal", normal)
    monkeypatch.setattr(lib.random, "uniform", uniform)


# ============================================================================== 1. DCGAN overriding train_step
def _dcgan_networks(lib, latent_dim: int = 4):
    layers = lib.layers
    discriminator = lib.Sequential([
        lib.Input(shape=(8, 8, 1)),
        layers.Conv2D(4, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(8, kernel_size=4, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid"),
    ], name="discriminator")
    generator = lib.Sequential([
        lib.Input(shape=(latent_dim,)),
        layers.Dense(2 * 2 * 8),
        layers.Reshape((2, 2, 8)),
        layers.Conv2DTranspose(8, kernel_size=4, strides=2, padding="same"),
        layers.BatchNormalization(),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(4, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(1, kernel_size=5, padding="same", activation="sigmoid"),
    ], name="generator")
    return discriminator, generator


def _dcgan_cls(lib):
    ops = lib.ops

    class GAN(lib.Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.seed_generator = lib.random.SeedGenerator(1337)
            self.built = True

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn
            self.d_loss_metric = lib.metrics.Mean(name="d_loss")
            self.g_loss_metric = lib.metrics.Mean(name="g_loss")

        @property
        def metrics(self):
            return [self.d_loss_metric, self.g_loss_metric]

        def train_step(self, real_images):
            # Sample random points in the latent space and decode them to fake images
            batch_size = ops.shape(real_images)[0]
            random_latent_vectors = lib.random.normal(shape=(batch_size, self.latent_dim),
                                                      seed=self.seed_generator)
            generated_images = self.generator(random_latent_vectors)
            combined_images = ops.concatenate([generated_images, real_images], axis=0)
            labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)
            # Add random noise to the labels - important trick!
            labels = labels + 0.05 * lib.random.uniform(ops.shape(labels), seed=self.seed_generator)

            # Train the discriminator
            self.zero_grad()
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
            d_loss.backward()
            grads = [v.value.grad for v in self.discriminator.trainable_weights]
            with torch.no_grad():
                self.d_optimizer.apply(grads, self.discriminator.trainable_weights)

            # Train the generator (the discriminator's weights are not updated)
            random_latent_vectors = lib.random.normal(shape=(batch_size, self.latent_dim),
                                                      seed=self.seed_generator)
            misleading_labels = ops.zeros((batch_size, 1))
            self.zero_grad()
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
            g_loss.backward()
            grads = [v.value.grad for v in self.generator.trainable_weights]
            with torch.no_grad():
                self.g_optimizer.apply(grads, self.generator.trainable_weights)

            self.d_loss_metric.update_state(d_loss)
            self.g_loss_metric.update_state(g_loss)
            return {"d_loss": self.d_loss_metric.result(), "g_loss": self.g_loss_metric.result()}

    return GAN


def _keras_tf_binary_crossentropy(y_true, y_pred):
    """``keras.losses.BinaryCrossentropy()`` as Keras's TF and JAX backends compute it.

    Keras 3.15's torch backend hands probabilities to ``torch.nn.functional.binary_cross_entropy``, which raises on
    the noisy labels (``1 + 0.05 * u`` > 1) this program trains on; TF and JAX apply the clipped formula, which loom
    follows, so the Keras oracle uses the formula too.
    """
    ops = keras.ops
    p = ops.clip(y_pred, 1e-7, 1.0 - 1e-7)
    return ops.mean(-(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p)))


def _dcgan(lib, latent_dim: int = 4):
    discriminator, generator = _dcgan_networks(lib, latent_dim)
    gan = _dcgan_cls(lib)(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
    gan.compile(d_optimizer=lib.optimizers.Adam(learning_rate=1e-3),
                g_optimizer=lib.optimizers.Adam(learning_rate=1e-3),
                loss_fn=_keras_tf_binary_crossentropy if lib is keras else lib.losses.BinaryCrossentropy())
    return gan


def _faces(n: int = 16, seed: int = 0) -> np.ndarray:
    """Images in [0, 1]: a bright blob on a dark background, at random places."""
    rng = _rng(seed)
    rows, cols = np.mgrid[:8, :8]
    centres = rng.uniform(2, 6, size=(n, 2))
    blobs = np.exp(-((rows - centres[:, :1, None]) ** 2 + (cols - centres[:, 1:, None]) ** 2) / 4.0)
    return blobs[..., None].astype("float32")


def test_dcgan_train_step_matches_keras_and_generator_round_trips(monkeypatch, tmp_path):
    images = _faces(16)
    gans = {}
    for lib in (keras, loom):
        _replayed_random(monkeypatch, lib)
        gans[lib] = _dcgan(lib)
    gans[loom].discriminator.set_weights(gans[keras].discriminator.get_weights())
    gans[loom].generator.set_weights(gans[keras].generator.get_weights())
    before = gans[loom].generator.get_weights()
    histories = {lib: gan.fit(images, batch_size=8, epochs=2, shuffle=False, verbose=0).history
                 for lib, gan in gans.items()}
    assert set(histories[loom]) == set(histories[keras]) == {"d_loss", "g_loss"}
    for key in ("d_loss", "g_loss"):
        assert_allclose_scaled(histories[loom][key], histories[keras][key], err_msg=key)
    for part in ("discriminator", "generator"):
        assert_weights_close(getattr(gans[loom], part).get_weights(), getattr(gans[keras], part).get_weights())
    # train_step calls the networks without `training`, so BatchNormalization ran in inference mode throughout
    after = gans[loom].generator.get_weights()
    np.testing.assert_array_equal(after[-6], before[-6])  # ... its moving mean never moved
    assert int(gans[loom].d_optimizer.iterations) == int(gans[keras].d_optimizer.iterations) == 4

    z = _rng(5).normal(size=(3, 4)).astype("float32")
    path = str(tmp_path / "generator.keras")
    gans[loom].generator.save(path)
    assert_allclose_scaled(keras.models.load_model(path).predict(z, verbose=0),
                           gans[loom].generator.predict(z, verbose=0))
    gans[keras].generator.save(str(tmp_path / "k_generator.keras"))
    reloaded = loom.models.load_model(str(tmp_path / "k_generator.keras"))
    assert_allclose_scaled(reloaded.predict(z, verbose=0), gans[keras].generator.predict(z, verbose=0))


def test_dcgan_seeded_latent_sampling_replays_and_training_mode_is_explicit():
    images = _faces(16)
    runs = []
    for _ in range(2):
        loom.utils.set_random_seed(3)
        gan = _dcgan(loom)
        history = gan.fit(images, batch_size=8, epochs=2, verbose=0, shuffle=False).history
        runs.append((history, gan.generator.get_weights()))
    (h1, w1), (h2, w2) = runs
    assert h1 == h2  # the SeedGenerator(1337) draws replay exactly
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(v).all() for v in h1.values())
    assert int(gan.seed_generator.state[1]) == 3 * 2 * 2  # three draws per step, two steps per epoch
    # Called with training=True, the generator's BatchNormalization uses and updates batch statistics.
    batch_norm = gan.generator.layers[3]
    moving_mean = _numpy(batch_norm.moving_mean).copy()
    z = loom.random.normal((8, 4), seed=gan.seed_generator)
    assert not np.allclose(_numpy(gan.generator(z, training=True)), _numpy(gan.generator(z)))
    assert not np.allclose(_numpy(batch_norm.moving_mean), moving_mean)


# ============================================================================ 2. WGAN-GP overriding train_step
def _conv_block(lib, x, filters, activation, kernel_size=(3, 3), strides=(1, 1), padding="same", use_bias=True,
                use_bn=False):
    x = lib.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias)(x)
    if use_bn:
        x = lib.layers.BatchNormalization()(x)
    return activation(x)


def _upsample_block(lib, x, filters, activation, kernel_size=(3, 3), up_size=(2, 2), use_bn=False, use_bias=True):
    x = lib.layers.UpSampling2D(up_size)(x)
    x = lib.layers.Conv2D(filters, kernel_size, padding="same", use_bias=use_bias)(x)
    if use_bn:
        x = lib.layers.BatchNormalization()(x)
    return activation(x)


def _wgan_networks(lib, noise_dim: int = 4):
    """The example's critic (zero-padded to 8x8, strided convolutions; its dropout left out, as WGAN-GP's critic
    runs with training=True and the two libraries would draw different masks) and generator (upsampling,
    BatchNormalization, cropped back to 6x6)."""
    layers = lib.layers
    img_input = layers.Input(shape=(6, 6, 1))
    x = layers.ZeroPadding2D((1, 1))(img_input)
    x = _conv_block(lib, x, 4, layers.LeakyReLU(0.2), kernel_size=(3, 3), strides=(2, 2))
    x = _conv_block(lib, x, 8, layers.LeakyReLU(0.2), kernel_size=(3, 3), strides=(2, 2))
    x = layers.Flatten()(x)
    d_model = lib.models.Model(img_input, layers.Dense(1)(x), name="discriminator")

    noise = layers.Input(shape=(noise_dim,))
    x = layers.Dense(2 * 2 * 8, use_bias=False)(noise)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Reshape((2, 2, 8))(x)
    x = _upsample_block(lib, x, 4, layers.LeakyReLU(0.2), use_bias=False, use_bn=True)
    x = _upsample_block(lib, x, 1, layers.Activation("tanh"), use_bias=False, use_bn=True)
    x = layers.Cropping2D((1, 1))(x)
    g_model = lib.models.Model(noise, x, name="generator")
    return d_model, g_model


def _wgan_cls(lib):
    ops = lib.ops

    class WGAN(lib.Model):
        def __init__(self, discriminator, generator, latent_dim, discriminator_extra_steps=3, gp_weight=10.0):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.d_steps = discriminator_extra_steps
            self.gp_weight = gp_weight
            self.seed_generator = lib.random.SeedGenerator(42)
            self.built = True

        def compile(self, d_optimizer, g_optimizer, d_loss_fn, g_loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.d_loss_fn = d_loss_fn
            self.g_loss_fn = g_loss_fn

        def gradient_penalty(self, batch_size, real_images, fake_images):
            """The penalty on the critic's gradient norm at images interpolated between real and fake."""
            alpha = lib.random.normal((batch_size, 1, 1, 1), 0.0, 1.0, seed=self.seed_generator)
            diff = fake_images - real_images
            interpolated = real_images + alpha * diff
            # 1. The critic's output for the interpolated images; 2. its gradients with respect to them, kept in
            # the graph (create_graph) so that the penalty trains the critic
            pred = self.discriminator(interpolated, training=True)
            grads = torch.autograd.grad(pred, interpolated, grad_outputs=torch.ones_like(pred),
                                        create_graph=True)[0]
            # 3. The norm of the gradients
            norm = ops.sqrt(ops.sum(ops.square(grads), axis=[1, 2, 3]))
            return ops.mean((norm - 1.0) ** 2)

        def train_step(self, real_images):
            if isinstance(real_images, tuple):
                real_images = real_images[0]
            batch_size = ops.shape(real_images)[0]

            # Train the critic d_steps times per generator step
            for _ in range(self.d_steps):
                random_latent_vectors = lib.random.normal(shape=(batch_size, self.latent_dim),
                                                          seed=self.seed_generator)
                self.zero_grad()
                fake_images = self.generator(random_latent_vectors, training=True)
                fake_logits = self.discriminator(fake_images, training=True)
                real_logits = self.discriminator(real_images, training=True)
                d_cost = self.d_loss_fn(real_img=real_logits, fake_img=fake_logits)
                gp = self.gradient_penalty(batch_size, real_images, fake_images)
                d_loss = d_cost + gp * self.gp_weight
                d_loss.backward()
                d_weights = self.discriminator.trainable_variables
                with torch.no_grad():
                    self.d_optimizer.apply([v.value.grad for v in d_weights], d_weights)

            # Train the generator
            random_latent_vectors = lib.random.normal(shape=(batch_size, self.latent_dim), seed=self.seed_generator)
            self.zero_grad()
            generated_images = self.generator(random_latent_vectors, training=True)
            gen_img_logits = self.discriminator(generated_images, training=True)
            g_loss = self.g_loss_fn(gen_img_logits)
            g_loss.backward()
            g_weights = self.generator.trainable_variables
            with torch.no_grad():
                self.g_optimizer.apply([v.value.grad for v in g_weights], g_weights)
            return {"d_loss": d_loss, "g_loss": g_loss}

    return WGAN


def _wgan(lib, noise_dim: int = 4):
    ops = lib.ops

    def discriminator_loss(real_img, fake_img):
        return ops.mean(fake_img) - ops.mean(real_img)

    def generator_loss(fake_img):
        return -ops.mean(fake_img)

    d_model, g_model = _wgan_networks(lib, noise_dim)
    wgan = _wgan_cls(lib)(discriminator=d_model, generator=g_model, latent_dim=noise_dim,
                          discriminator_extra_steps=2)
    wgan.compile(d_optimizer=lib.optimizers.Adam(learning_rate=2e-3, beta_1=0.5, beta_2=0.9),
                 g_optimizer=lib.optimizers.Adam(learning_rate=2e-3, beta_1=0.5, beta_2=0.9),
                 g_loss_fn=generator_loss, d_loss_fn=discriminator_loss)
    return wgan


def _fashion_like(n: int = 16, seed: int = 1) -> np.ndarray:
    """6x6 images in [-1, 1]: vertical or horizontal bars."""
    rng = _rng(seed)
    images = -np.ones((n, 6, 6, 1), "float32")
    for image, (vertical, where) in zip(images, zip(rng.integers(0, 2, n), rng.integers(0, 5, n))):
        if vertical:
            image[:, where:where + 2] = 1.0
        else:
            image[where:where + 2] = 1.0
    return images


def test_wgan_gp_with_double_backward_penalty_matches_keras(monkeypatch, tmp_path):
    train_images = _fashion_like(16)
    wgans = {}
    for lib in (keras, loom):
        _replayed_random(monkeypatch, lib, seed=4)
        wgans[lib] = _wgan(lib)
    for part in ("discriminator", "generator"):
        getattr(wgans[loom], part).set_weights(getattr(wgans[keras], part).get_weights())
    histories = {lib: wgan.fit(train_images, batch_size=8, epochs=2, shuffle=False, verbose=0).history
                 for lib, wgan in wgans.items()}
    for key in ("d_loss", "g_loss"):  # the last step's values (the step returns tensors, not metric results)
        assert_allclose_scaled(histories[loom][key], histories[keras][key], err_msg=key)
    for part in ("discriminator", "generator"):  # BatchNormalization's moving statistics included
        assert_weights_close(getattr(wgans[loom], part).get_weights(), getattr(wgans[keras], part).get_weights())
    assert int(wgans[loom].d_optimizer.iterations) == 8 and int(wgans[loom].g_optimizer.iterations) == 4

    path = str(tmp_path / "critic.keras")
    wgans[loom].discriminator.save(path)
    critic = keras.saving.load_model(path)
    assert_allclose_scaled(critic.predict(train_images, verbose=0),
                           wgans[loom].discriminator.predict(train_images, verbose=0))


def test_wgan_gradient_penalty_is_differentiable_in_the_critic_weights():
    critic, generator = _wgan_networks(loom)
    wgan = _wgan_cls(loom)(critic, generator, latent_dim=4)
    real = loom.ops.convert_to_tensor(_fashion_like(4))
    fake = generator(loom.random.normal((4, 4), seed=1), training=True)  # depends on the generator's weights
    gp = wgan.gradient_penalty(4, real, fake)
    assert gp.requires_grad and float(gp) > 0.0
    critic.zero_grad()
    gp.backward()
    # the input gradient of a piecewise-linear critic depends on its kernels, not on its biases
    grads = [v.value.grad for v in critic.trainable_weights if v.path.endswith("kernel")]
    assert len(grads) == 3 and all(g is not None and torch.isfinite(g).all() and g.abs().sum() > 0 for g in grads)


# ===================================================================================== 3. a conditional GAN
def _conditional_gan(lib, image_size: int = 4, num_classes: int = 3, latent_dim: int = 5):
    layers, ops = lib.layers, lib.ops
    generator_in_channels = latent_dim + num_classes
    discriminator_in_channels = 1 + num_classes
    discriminator = lib.Sequential([
        lib.layers.InputLayer((image_size, image_size, discriminator_in_channels)),
        layers.Conv2D(4, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(8, (3, 3), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.GlobalMaxPooling2D(),
        layers.Dense(1),
    ], name="discriminator")
    generator = lib.Sequential([
        lib.layers.InputLayer((generator_in_channels,)),
        layers.Dense(1 * 1 * generator_in_channels),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Reshape((1, 1, generator_in_channels)),
        layers.Conv2DTranspose(8, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(8, (4, 4), strides=(2, 2), padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(1, (3, 3), padding="same", activation="sigmoid"),
    ], name="generator")

    class ConditionalGAN(lib.Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.seed_generator = lib.random.SeedGenerator(1337)
            self.gen_loss_tracker = lib.metrics.Mean(name="generator_loss")
            self.disc_loss_tracker = lib.metrics.Mean(name="discriminator_loss")
            self.built = True

        @property
        def metrics(self):
            return [self.gen_loss_tracker, self.disc_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

        def train_step(self, data):
            real_images, one_hot_labels = data
            # Labels as extra image channels, for the discriminator
            image_one_hot_labels = one_hot_labels[:, :, None, None]
            # (Keras 3.15's torch backend raises "Invalid dtype: object" on a list of repeats, which TF, JAX and
            # NumPy take, so its copy of the program passes the one count as an int: the same result.)
            repeats = [image_size * image_size] if lib is loom else image_size * image_size
            image_one_hot_labels = ops.repeat(image_one_hot_labels, repeats=repeats)
            image_one_hot_labels = ops.reshape(image_one_hot_labels, (-1, image_size, image_size, num_classes))

            # Latent vectors with the labels concatenated, for the generator
            batch_size = ops.shape(real_images)[0]
            random_latent_vectors = lib.random.normal(shape=(batch_size, self.latent_dim),
                                                      seed=self.seed_generator)
            random_vector_labels = ops.concatenate([random_latent_vectors, one_hot_labels], axis=1)
            generated_images = self.generator(random_vector_labels)

            fake_image_and_labels = ops.concatenate([generated_images, image_one_hot_labels], -1)
            real_image_and_labels = ops.concatenate([real_images, image_one_hot_labels], -1)
            combined_images = ops.concatenate([fake_image_and_labels, real_image_and_labels], axis=0)
            labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))], axis=0)

            self.zero_grad()
            d_loss = self.loss_fn(labels, self.discriminator(combined_images))
            d_loss.backward()
            grads = [v.value.grad for v in self.discriminator.trainable_weights]
            with torch.no_grad():
                self.d_optimizer.apply(grads, self.discriminator.trainable_weights)

            random_latent_vectors = lib.random.normal(shape=(batch_size, self.latent_dim),
                                                      seed=self.seed_generator)
            random_vector_labels = ops.concatenate([random_latent_vectors, one_hot_labels], axis=1)
            misleading_labels = ops.zeros((batch_size, 1))
            self.zero_grad()
            fake_images = self.generator(random_vector_labels)
            fake_image_and_labels = ops.concatenate([fake_images, image_one_hot_labels], -1)
            g_loss = self.loss_fn(misleading_labels, self.discriminator(fake_image_and_labels))
            g_loss.backward()
            grads = [v.value.grad for v in self.generator.trainable_weights]
            with torch.no_grad():
                self.g_optimizer.apply(grads, self.generator.trainable_weights)

            self.gen_loss_tracker.update_state(g_loss)
            self.disc_loss_tracker.update_state(d_loss)
            return {"g_loss": self.gen_loss_tracker.result(), "d_loss": self.disc_loss_tracker.result()}

    cond_gan = ConditionalGAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
    cond_gan.compile(d_optimizer=lib.optimizers.Adam(learning_rate=3e-3),
                     g_optimizer=lib.optimizers.Adam(learning_rate=3e-3),
                     loss_fn=lib.losses.BinaryCrossentropy(from_logits=True))
    return cond_gan


def _interpolate_class(lib, trained_gen, first_number, second_number, num_classes=3, latent_dim=5,
                       num_interpolation=4):
    """The example's walk between two classes: one noise vector, labels blended from one class to the other."""
    ops = lib.ops
    interpolation_noise = ops.convert_to_tensor(_rng(11).normal(size=(1, latent_dim)).astype("float32"))
    interpolation_noise = ops.repeat(interpolation_noise, repeats=num_interpolation)
    interpolation_noise = ops.reshape(interpolation_noise, (num_interpolation, latent_dim))
    first_label = ops.cast(lib.utils.to_categorical([first_number], num_classes), "float32")
    second_label = ops.cast(lib.utils.to_categorical([second_number], num_classes), "float32")
    percent_second_label = ops.cast(ops.linspace(0, 1, num_interpolation)[:, None], "float32")
    interpolation_labels = first_label * (1 - percent_second_label) + second_label * percent_second_label
    noise_and_labels = ops.concatenate([interpolation_noise, interpolation_labels], 1)
    fake = trained_gen.predict(noise_and_labels, verbose=0)
    converted_images = (fake * 255.0).astype(np.uint8)
    return fake, ops.convert_to_numpy(ops.image.resize(converted_images, (8, 8))).astype(np.uint8)


def test_conditional_gan_on_images_and_one_hot_labels_matches_keras(monkeypatch):
    images = _faces(12)[:, ::2, ::2]  # 4x4
    all_labels = keras.utils.to_categorical(_rng(2).integers(0, 3, 12), 3)
    np.testing.assert_array_equal(loom.utils.to_categorical(_rng(2).integers(0, 3, 12), 3), all_labels)
    gans = {}
    for lib in (keras, loom):
        _replayed_random(monkeypatch, lib, seed=6)
        gans[lib] = _conditional_gan(lib)
    for part in ("discriminator", "generator"):
        getattr(gans[loom], part).set_weights(getattr(gans[keras], part).get_weights())
    histories = {lib: gan.fit(images, all_labels, batch_size=4, epochs=2, shuffle=False, verbose=0).history
                 for lib, gan in gans.items()}
    assert set(histories[loom]) == {"g_loss", "d_loss"}
    for key in histories[keras]:
        assert_allclose_scaled(histories[loom][key], histories[keras][key], err_msg=key)
    for part in ("discriminator", "generator"):
        assert_weights_close(getattr(gans[loom], part).get_weights(), getattr(gans[keras], part).get_weights())

    (k_fake, k_small), (l_fake, l_small) = (_interpolate_class(lib, gans[lib].generator, 0, 2)
                                            for lib in (keras, loom))
    assert l_fake.shape == (4, 4, 4, 1) and l_small.shape == (4, 8, 8, 1)
    assert_allclose_scaled(l_fake, k_fake)
    assert np.abs(l_small.astype(int) - k_small.astype(int)).max() <= 1  # uint8 rounding of the same floats


# ===================================================================================== 4. Grad-CAM
def _get_img_array(lib, img_path, size):
    img = lib.utils.load_img(img_path, target_size=size)  # a PIL image of size `size`
    array = lib.utils.img_to_array(img)  # a float32 array of shape (*size, 3)
    return np.expand_dims(array, axis=0)  # a "batch" of one


def _make_gradcam_heatmap(lib, img_array, model, last_conv_layer_name, pred_index=None):
    ops = lib.ops
    # A model mapping the input image to the activations of the last conv layer and to the predictions
    grad_model = lib.models.Model(model.inputs, [model.get_layer(last_conv_layer_name).output, model.output])
    last_conv_layer_output, preds = grad_model(img_array)
    if pred_index is None:
        pred_index = ops.argmax(preds[0])
    class_channel = preds[:, pred_index]
    # The gradient of the top predicted class with respect to the output feature map of the last conv layer
    grads = torch.autograd.grad(class_channel, last_conv_layer_output, grad_outputs=torch.ones_like(class_channel))[0]
    # The mean intensity of the gradient over each feature map channel
    pooled_grads = ops.mean(grads, axis=(0, 1, 2))
    # Each channel weighted by "how important it is" for the top class, summed into the heatmap
    last_conv_layer_output = last_conv_layer_output[0]
    heatmap = last_conv_layer_output @ pooled_grads[..., None]
    heatmap = ops.squeeze(heatmap)
    heatmap = ops.maximum(heatmap, 0) / ops.max(heatmap)
    return ops.convert_to_numpy(heatmap)


def _superimposed(lib, img_path, heatmap, alpha=0.4):
    import matplotlib as mpl
    img = lib.utils.img_to_array(lib.utils.load_img(img_path))
    heatmap = np.uint8(255 * heatmap)
    jet_colors = mpl.colormaps["jet"](np.arange(256))[:, :3]
    jet_heatmap = lib.utils.array_to_img(jet_colors[heatmap])
    jet_heatmap = jet_heatmap.resize((img.shape[1], img.shape[0]))
    jet_heatmap = lib.utils.img_to_array(jet_heatmap)
    return lib.utils.array_to_img(jet_heatmap * alpha + img)


def _elephant_png(path, size=40):
    from PIL import Image
    rows, cols = np.mgrid[:size, :size]
    pixels = np.stack([rows * 6 % 256, cols * 5 % 256, (rows + cols) * 3 % 256], -1)
    Image.fromarray(pixels.astype("uint8")).save(path)


def test_grad_cam_on_a_mobilenet_v2_with_its_softmax_removed_matches_keras(tmp_path):
    img_path = str(tmp_path / "elephant.png")
    _elephant_png(img_path)
    results = {}
    for lib in (keras, loom):
        img_array = lib.applications.mobilenet_v2.preprocess_input(_get_img_array(lib, img_path, size=(96, 96)))
        lib.utils.set_random_seed(3)
        model = lib.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=3)
        if lib is loom:
            model.set_weights(results[keras]["model"].get_weights())
        probabilities = model.predict(img_array, verbose=0)
        model.layers[-1].activation = None  # the last layer's softmax removed: Grad-CAM wants the logits
        logits = model.predict(img_array, verbose=0)
        heatmap = _make_gradcam_heatmap(lib, img_array, model, "out_relu")
        superimposed_path = str(tmp_path / f"cam_{lib.__name__}.jpg")
        _superimposed(lib, img_path, heatmap).save(superimposed_path)
        results[lib] = dict(model=model, img=img_array, probabilities=probabilities, logits=logits,
                            heatmap=heatmap, cam=np.asarray(lib.utils.load_img(superimposed_path)))
    k, lo = results[keras], results[loom]
    np.testing.assert_array_equal(lo["img"], k["img"])
    assert_allclose_scaled(lo["probabilities"], k["probabilities"])
    assert_allclose_scaled(lo["logits"], k["logits"])
    probabilities = lo["probabilities"]
    np.testing.assert_allclose(lo["logits"] - lo["logits"].max(), np.log(probabilities / probabilities.max()),
                               atol=1e-4)
    assert lo["heatmap"].shape == (3, 3) and lo["heatmap"].max() == 1.0
    assert_allclose_scaled(lo["heatmap"], k["heatmap"], rel=1e-3)
    assert np.abs(lo["cam"].astype(int) - k["cam"].astype(int)).max() <= 2


# ============================================================================ 5. neural style transfer
_NROWS, _NCOLS = 12, 12


def _preprocess_image(lib, image_path):
    img = lib.utils.load_img(image_path, target_size=(_NROWS, _NCOLS))
    img = np.expand_dims(lib.utils.img_to_array(img), axis=0)
    img = lib.applications.vgg19.preprocess_input(img)
    return lib.ops.convert_to_tensor(img)


def _deprocess_image(x):
    x = x.reshape((_NROWS, _NCOLS, 3))
    x[:, :, 0] += 103.939  # remove the zero-center by mean pixel
    x[:, :, 1] += 116.779
    x[:, :, 2] += 123.68
    x = x[:, :, ::-1]  # 'BGR'->'RGB'
    return np.clip(x, 0, 255).astype("uint8")


def _vgg_like(lib):
    """A two-block VGG19-like base (include_top=False) with VGG19's layer names."""
    layers = lib.layers
    inputs = lib.Input((None, None, 3))
    x = layers.Conv2D(4, 3, activation="relu", padding="same", name="block1_conv1")(inputs)
    x = layers.Conv2D(4, 3, activation="relu", padding="same", name="block1_conv2")(x)
    x = layers.MaxPooling2D(2, strides=2, name="block1_pool")(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same", name="block2_conv1")(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same", name="block2_conv2")(x)
    x = layers.MaxPooling2D(2, strides=2, name="block2_pool")(x)
    return lib.Model(inputs, x, name="vgg19")


def _style_transfer(lib, model, base_image_path, style_reference_image_path, iterations=4):
    ops = lib.ops
    total_variation_weight, style_weight, content_weight = 1e-6, 1e-6, 2.5e-8

    def gram_matrix(x):
        x = ops.transpose(x, (2, 0, 1))
        features = ops.reshape(x, (ops.shape(x)[0], -1))
        return ops.matmul(features, ops.transpose(features))

    def style_loss(style, combination):
        S, C = gram_matrix(style), gram_matrix(combination)
        channels, size = 3, _NROWS * _NCOLS
        return ops.sum(ops.square(S - C)) / (4.0 * (channels ** 2) * (size ** 2))

    def content_loss(base, combination):
        return ops.sum(ops.square(combination - base))

    def total_variation_loss(x):
        a = ops.square(x[:, : _NROWS - 1, : _NCOLS - 1, :] - x[:, 1:, : _NCOLS - 1, :])
        b = ops.square(x[:, : _NROWS - 1, : _NCOLS - 1, :] - x[:, : _NROWS - 1, 1:, :])
        return ops.sum(ops.power(a + b, 1.25))

    # The symbolic outputs of every layer (the input layer included), by name, as one model's dict output
    outputs_dict = dict([(layer.name, layer.output) for layer in model.layers])
    feature_extractor = lib.Model(inputs=model.inputs, outputs=outputs_dict)
    style_layer_names = ["block1_conv1", "block2_conv1"]
    content_layer_name = "block2_conv2"

    def compute_loss(combination_image, base_image, style_reference_image):
        input_tensor = ops.concatenate([base_image, style_reference_image, combination_image], axis=0)
        features = feature_extractor(input_tensor)
        loss = ops.zeros(shape=())
        layer_features = features[content_layer_name]
        loss = loss + content_weight * content_loss(layer_features[0, :, :, :], layer_features[2, :, :, :])
        for layer_name in style_layer_names:
            layer_features = features[layer_name]
            sl = style_loss(layer_features[1, :, :, :], layer_features[2, :, :, :])
            loss += (style_weight / len(style_layer_names)) * sl
        loss += total_variation_weight * total_variation_loss(combination_image)
        return loss

    optimizer = lib.optimizers.SGD(lib.optimizers.schedules.ExponentialDecay(
        initial_learning_rate=100.0, decay_steps=2, decay_rate=0.96))
    base_image = _preprocess_image(lib, base_image_path)
    style_reference_image = _preprocess_image(lib, style_reference_image_path)
    combination_image = lib.Variable(_preprocess_image(lib, base_image_path))
    losses = []
    for _ in range(iterations):
        loss = compute_loss(combination_image, base_image, style_reference_image)
        grads = torch.autograd.grad(loss, combination_image.value)[0]
        with torch.no_grad():
            optimizer.apply([grads], [combination_image])
        losses.append(float(lib.ops.convert_to_numpy(loss)))
    return losses, _deprocess_image(combination_image.numpy()), sorted(feature_extractor.output)


def test_neural_style_transfer_on_a_variable_image_matches_keras(tmp_path):
    from PIL import Image
    base_path, style_path = str(tmp_path / "paris.png"), str(tmp_path / "starry_night.png")
    rows, cols = np.mgrid[:20, :20]
    Image.fromarray(np.stack([rows * 12, cols * 12, (rows * cols) % 256], -1).astype("uint8")).save(base_path)
    Image.fromarray(_rng(3).integers(0, 256, (20, 20, 3)).astype("uint8")).save(style_path)
    km, lm = _pair(_vgg_like)
    (k_losses, k_img, k_names), (l_losses, l_img, l_names) = (
        _style_transfer(lib, model, base_path, style_path) for lib, model in ((keras, km), (loom, lm)))
    # every layer's output by name, the input layer's included (its automatic name counts earlier Inputs)
    assert l_names[:-1] == k_names[:-1] and l_names[-1].startswith("input_layer") and len(l_names) == 7
    assert_allclose_scaled(l_losses, k_losses)
    assert l_losses[-1] < l_losses[0]
    assert np.abs(l_img.astype(int) - k_img.astype(int)).max() <= 1
    assert l_img.shape == (12, 12, 3) and l_img.dtype == np.uint8


# ==================================================================================== 6. DeepDream
def _inception_like(lib):
    """A small fully-convolutional base whose 'mixed' layers concatenate two branches, as InceptionV3's."""
    layers = lib.layers
    inputs = lib.Input((None, None, 3))
    x = layers.Conv2D(4, 3, strides=2, activation="relu", name="stem")(inputs)
    for i in (3, 4, 5):
        a = layers.Conv2D(3, 1, activation="relu", padding="same")(x)
        b = layers.Conv2D(3, 3, activation="relu", padding="same")(x)
        x = layers.Concatenate(name=f"mixed{i}")([a, b])
    return lib.Model(inputs, x, name="inception_v3")


def _deep_dream(lib, model, base_image_path, step=0.05, num_octave=3, octave_scale=1.4, iterations=3,
                max_loss=15.0):
    ops = lib.ops
    layer_settings = {"mixed4": 1.0, "mixed5": 1.5}
    outputs_dict = dict([(layer.name, layer.output)
                         for layer in [model.get_layer(name) for name in layer_settings.keys()]])
    feature_extractor = lib.Model(inputs=model.inputs, outputs=outputs_dict)

    def preprocess_image(image_path):
        img = lib.utils.load_img(image_path)
        img = np.expand_dims(lib.utils.img_to_array(img), axis=0)
        return lib.applications.inception_v3.preprocess_input(img)

    def deprocess_image(x):
        x = x.reshape((x.shape[1], x.shape[2], 3))
        x = (x / 2.0 + 0.5) * 255.0  # undo inception v3 preprocessing
        return np.clip(x, 0, 255).astype("uint8")

    def compute_loss(input_image):
        features = feature_extractor(input_image)
        loss = ops.zeros(shape=())
        for name in features.keys():
            coeff = layer_settings[name]
            activation = features[name]
            scaling = ops.prod(ops.cast(ops.shape(activation), "float32"))
            # Border artifacts are avoided by only involving non-border pixels in the loss
            loss += coeff * ops.sum(ops.square(activation[:, 2:-2, 2:-2, :])) / scaling
        return loss

    def gradient_ascent_step(img, learning_rate):
        img = img.detach().requires_grad_(True)
        loss = compute_loss(img)
        grads = torch.autograd.grad(loss, img)[0]
        grads /= ops.maximum(ops.mean(ops.abs(grads)), 1e-6)
        return loss.detach(), img.detach() + learning_rate * grads

    def gradient_ascent_loop(img, iterations, learning_rate, max_loss=None):
        losses = []
        for _ in range(iterations):
            loss, img = gradient_ascent_step(img, learning_rate)
            if max_loss is not None and loss > max_loss:
                break
            losses.append(float(loss))
        return img, losses

    original_img = ops.convert_to_tensor(preprocess_image(base_image_path))
    original_shape = original_img.shape[1:3]
    successive_shapes = [tuple(original_shape)]
    for i in range(1, num_octave):
        successive_shapes.append(tuple([int(dim / (octave_scale ** i)) for dim in original_shape]))
    successive_shapes = successive_shapes[::-1]
    shrunk_original_img = ops.image.resize(original_img, successive_shapes[0])

    img = ops.copy(original_img)
    all_losses = []
    for shape in successive_shapes:
        img = ops.image.resize(img, shape)
        img, losses = gradient_ascent_loop(img, iterations=iterations, learning_rate=step, max_loss=max_loss)
        all_losses.append(losses)
        upscaled_shrunk_original_img = ops.image.resize(shrunk_original_img, shape)
        same_size_original = ops.image.resize(original_img, shape)
        lost_detail = same_size_original - upscaled_shrunk_original_img
        img += lost_detail
        shrunk_original_img = ops.image.resize(original_img, shape)
    return all_losses, deprocess_image(ops.convert_to_numpy(img)), successive_shapes


def test_deep_dream_gradient_ascent_over_octaves_matches_keras(tmp_path):
    from PIL import Image
    base_image_path = str(tmp_path / "sky.png")
    rows, cols = np.mgrid[:27, :27]
    Image.fromarray(np.stack([rows * 9, 255 - cols * 9, (rows + cols) * 4], -1).astype("uint8")).save(base_image_path)
    km, lm = _pair(_inception_like)
    results = {}
    for lib, model in ((keras, km), (loom, lm)):
        losses, dream, shapes = _deep_dream(lib, model, base_image_path)
        result_path = str(tmp_path / f"dream_{lib.__name__}.png")
        lib.utils.save_img(result_path, dream)
        results[lib] = losses, np.asarray(lib.utils.load_img(result_path)), shapes
    (k_losses, k_dream, k_shapes), (l_losses, l_dream, l_shapes) = results[keras], results[loom]
    assert l_shapes == k_shapes == [(13, 13), (19, 19), (27, 27)]
    assert [len(v) for v in l_losses] == [len(v) for v in k_losses] == [3, 3, 3]
    for l_octave, k_octave in zip(l_losses, k_losses):
        assert_allclose_scaled(l_octave, k_octave)
        assert l_octave[-1] > l_octave[0]  # gradient *ascent*
    assert l_dream.shape == (27, 27, 3)
    assert np.abs(l_dream.astype(int) - k_dream.astype(int)).max() <= 1


# ================================================================================ 7. PixelCNN
def _pixelcnn_layers(lib):
    layers, ops = lib.layers, lib.ops

    class PixelConvLayer(layers.Layer):
        """A Conv2D whose kernel is masked, so that a pixel only sees the pixels above and to its left."""

        def __init__(self, mask_type, name=None, **kwargs):
            super().__init__(name=name)
            self.mask_type = mask_type
            self.conv_kwargs = kwargs
            self.conv = layers.Conv2D(**kwargs)

        def build(self, input_shape):
            # Build the conv2d layer to initialize kernel variables, then the mask from the kernel's shape
            self.conv.build(input_shape)
            kernel_shape = ops.shape(self.conv.kernel)
            self.mask = np.zeros(shape=kernel_shape)
            self.mask[: kernel_shape[0] // 2, ...] = 1.0
            self.mask[kernel_shape[0] // 2, : kernel_shape[1] // 2, ...] = 1.0
            if self.mask_type == "B":
                self.mask[kernel_shape[0] // 2, kernel_shape[1] // 2, ...] = 1.0

        def call(self, inputs):
            self.conv.kernel.assign(self.conv.kernel * self.mask)
            return self.conv(inputs)

        def get_config(self):
            return {**super().get_config(), "mask_type": self.mask_type, **self.conv_kwargs}

    class ResidualBlock(layers.Layer):
        def __init__(self, filters, **kwargs):
            super().__init__(**kwargs)
            self.filters = filters
            self.conv1 = layers.Conv2D(filters=filters, kernel_size=1, activation="relu")
            self.pixel_conv = PixelConvLayer(mask_type="B", filters=filters // 2, kernel_size=3, activation="relu",
                                             padding="same")
            self.conv2 = layers.Conv2D(filters=filters, kernel_size=1, activation="relu")

        def call(self, inputs):
            x = self.conv1(inputs)
            x = self.pixel_conv(x)
            x = self.conv2(x)
            return layers.add([inputs, x])

        def get_config(self):
            return {**super().get_config(), "filters": self.filters}

    return PixelConvLayer, ResidualBlock


def _pixel_cnn(lib, input_shape=(3, 3, 1), n_residual_blocks=2, filters=8):
    PixelConvLayer, ResidualBlock = _pixelcnn_layers(lib)
    inputs = lib.Input(shape=input_shape)
    x = PixelConvLayer(mask_type="A", filters=filters, kernel_size=5, activation="relu", padding="same")(inputs)
    for _ in range(n_residual_blocks):
        x = ResidualBlock(filters=filters)(x)
    for _ in range(2):
        x = PixelConvLayer(mask_type="B", filters=filters, kernel_size=1, strides=1, activation="relu",
                           padding="valid")(x)
    out = lib.layers.Conv2D(filters=1, kernel_size=1, strides=1, activation="sigmoid", padding="valid")(x)
    pixel_cnn = lib.Model(inputs, out)
    pixel_cnn.compile(optimizer=lib.optimizers.Adam(learning_rate=5e-3), loss="binary_crossentropy")
    return pixel_cnn


def _binary_digits(n=20):
    data = _faces(n)[:, 3:6, 3:6]
    return np.where(data < 0.33, 0, 1).astype(np.float32)


def _generate_pixels(lib, pixel_cnn, batch=2):
    pixels = np.zeros(shape=(batch,) + (pixel_cnn.input_shape)[1:], dtype="float32")
    batch, rows, cols, channels = pixels.shape
    for row in range(rows):
        for col in range(cols):
            for channel in range(channels):
                # The probabilities of the next pixel, from which its value is drawn. (The example's
                # `probs - keras.random.uniform(...)`, a NumPy array minus a tensor, fails on the torch backend,
                # in Keras as in loom: torch tensors do not take NumPy operands, so ops.subtract it is.)
                probs = pixel_cnn.predict(pixels, verbose=0)[:, row, col, channel]
                pixels[:, row, col, channel] = lib.ops.ceil(lib.ops.subtract(probs, lib.random.uniform(probs.shape)))
    return pixels


def test_pixel_cnn_with_masked_kernels_matches_keras_and_generates_pixel_by_pixel(monkeypatch, tmp_path):
    data = _binary_digits()
    km, lm = _pair(_pixel_cnn)
    histories = {lib: model.fit(x=data, y=data, batch_size=8, epochs=2, validation_split=0.2, shuffle=False,
                                verbose=0).history for lib, model in ((keras, km), (loom, lm))}
    for key in ("loss", "val_loss"):
        assert_allclose_scaled(histories[loom][key], histories[keras][key], err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())
    # The masked taps of every kernel stay zero through training (the mask is applied before each call).
    first = lm.layers[1]
    kernel = first.conv.get_weights()[0]
    np.testing.assert_array_equal(kernel[2, 2:], 0.0)
    np.testing.assert_array_equal(kernel[3:], 0.0)
    assert np.count_nonzero(kernel[:2]) > 0

    generated = {}
    for lib, model in ((keras, km), (loom, lm)):
        _replayed_random(monkeypatch, lib, seed=8)
        generated[lib] = _generate_pixels(lib, model)
    np.testing.assert_array_equal(generated[loom], generated[keras])
    assert set(np.unique(generated[loom])) <= {0.0, 1.0}

    PixelConvLayer, ResidualBlock = _pixelcnn_layers(loom)
    path = str(tmp_path / "pixel_cnn.keras")
    lm.save(path)
    custom = {"PixelConvLayer": PixelConvLayer, "ResidualBlock": ResidualBlock}
    reloaded = loom.models.load_model(path, custom_objects=custom)
    np.testing.assert_allclose(reloaded.predict(data, verbose=0), lm.predict(data, verbose=0), rtol=1e-6)
    k_custom = dict(zip(("PixelConvLayer", "ResidualBlock"), _pixelcnn_layers(keras)))
    k_reloaded = keras.models.load_model(path, custom_objects=k_custom)
    assert_allclose_scaled(k_reloaded.predict(data, verbose=0), lm.predict(data, verbose=0))
    k_path = str(tmp_path / "k_pixel_cnn.keras")
    km.save(k_path)
    from_keras = loom.models.load_model(k_path, custom_objects=custom)
    assert_allclose_scaled(from_keras.predict(data, verbose=0), km.predict(data, verbose=0))
    from_keras.fit(data, data, batch_size=8, epochs=1, verbose=0)  # the compiled model trains on


# ======================================================================== 8. Siamese network, contrastive loss
def euclidean_distance(vects):
    """The Euclidean distance between two vectors (module level, so that the Lambda using it can be saved)."""
    x, y = vects
    sum_square = loom.ops.sum(loom.ops.square(x - y), axis=1, keepdims=True)
    return loom.ops.sqrt(loom.ops.maximum(sum_square, loom.backend.epsilon()))


def keras_euclidean_distance(vects):
    """``euclidean_distance`` in the Keras copy of the program."""
    x, y = vects
    sum_square = keras.ops.sum(keras.ops.square(x - y), axis=1, keepdims=True)
    return keras.ops.sqrt(keras.ops.maximum(sum_square, keras.backend.epsilon()))


def _siamese(lib, margin=1.0):
    layers, ops = lib.layers, lib.ops
    input = layers.Input((8, 8, 1))
    x = layers.BatchNormalization()(input)
    x = layers.Conv2D(4, (3, 3), activation="tanh")(x)
    x = layers.AveragePooling2D(pool_size=(2, 2))(x)
    x = layers.Conv2D(4, (2, 2), activation="tanh")(x)
    x = layers.AveragePooling2D(pool_size=(2, 2))(x)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dense(6, activation="tanh")(x)
    embedding_network = lib.Model(input, x)

    input_1 = layers.Input((8, 8, 1))
    input_2 = layers.Input((8, 8, 1))
    # The two towers share the embedding network (and its weights)
    tower_1 = embedding_network(input_1)
    tower_2 = embedding_network(input_2)
    distance = euclidean_distance if lib is loom else keras_euclidean_distance
    merge_layer = layers.Lambda(distance, output_shape=(1,))([tower_1, tower_2])
    normal_layer = layers.BatchNormalization()(merge_layer)
    output_layer = layers.Dense(1, activation="sigmoid")(normal_layer)
    siamese = lib.Model(inputs=[input_1, input_2], outputs=output_layer)

    def loss(margin=1):
        def contrastive_loss(y_true, y_pred):
            square_pred = ops.square(y_pred)
            margin_square = ops.square(ops.maximum(margin - (y_pred), 0))
            return ops.mean((1 - y_true) * square_pred + (y_true) * margin_square)
        return contrastive_loss

    siamese.compile(loss=loss(margin=margin), optimizer="RMSprop", metrics=["accuracy"])
    return siamese, embedding_network


def _make_pairs(x, y, seed=0):
    """Pairs of images with label 1 when they show the same class, else 0 (alternating)."""
    rng = _rng(seed)
    digit_indices = [np.where(y == i)[0] for i in range(int(y.max()) + 1)]
    pairs, labels = [], []
    for idx1 in range(len(x)):
        label1 = y[idx1]
        pairs.append([x[idx1], x[rng.choice(digit_indices[label1])]])
        labels.append(0)
        label2 = (label1 + 1 + rng.integers(0, len(digit_indices) - 1)) % len(digit_indices)
        pairs.append([x[idx1], x[rng.choice(digit_indices[label2])]])
        labels.append(1)
    return np.array(pairs), np.array(labels).astype("float32")


def _digit_pairs(n=16, seed=0):
    rng = _rng(seed)
    y = rng.integers(0, 3, n)
    x = np.zeros((n, 8, 8, 1), "float32")
    for image, label in zip(x, y):
        image[:, 2 * label:2 * label + 3] = 1.0
    x += 0.1 * rng.normal(size=x.shape).astype("float32")
    return _make_pairs(x, y, seed)


def test_siamese_network_with_contrastive_loss_and_shared_towers_matches_keras(tmp_path):
    pairs_train, labels_train = _digit_pairs(16)
    pairs_val, labels_val = _digit_pairs(6, seed=1)
    x_train_1, x_train_2 = pairs_train[:, 0], pairs_train[:, 1]
    (ks, k_embedding), (ls, l_embedding) = _siamese(keras), _siamese(loom)
    assert len(ls.weights) == len(ks.weights) == 20  # the shared embedding network's 14 counted once
    ls.set_weights(ks.get_weights())
    histories = {}
    for lib, siamese in ((keras, ks), (loom, ls)):
        histories[lib] = siamese.fit([x_train_1, x_train_2], labels_train,
                                     validation_data=([pairs_val[:, 0], pairs_val[:, 1]], labels_val),
                                     batch_size=8, epochs=2, shuffle=False, verbose=0).history
    assert sorted(histories[loom]) == sorted(histories[keras])
    for key in histories[keras]:
        assert_allclose_scaled(histories[loom][key], histories[keras][key], err_msg=key)
    assert_weights_close(ls.get_weights(), ks.get_weights())
    results = [siamese.evaluate([pairs_val[:, 0], pairs_val[:, 1]], labels_val, verbose=0) for siamese in (ks, ls)]
    assert_allclose_scaled(results[1], results[0])
    assert_allclose_scaled(l_embedding.predict(x_train_1, verbose=0), k_embedding.predict(x_train_1, verbose=0))

    path = str(tmp_path / "siamese.keras")
    ls.save(path)
    with pytest.raises(loom.errors.UnsafeLoadError, match="Lambda"):
        loom.models.load_model(path)
    custom = {"contrastive_loss": lambda y_true, y_pred: loom.ops.mean(y_pred)}
    reloaded = loom.models.load_model(path, safe_mode=False, custom_objects=custom)  # imports euclidean_distance
    np.testing.assert_allclose(reloaded.predict([x_train_1, x_train_2], verbose=0),
                               ls.predict([x_train_1, x_train_2], verbose=0), rtol=1e-6)
    # Keras finds functions saved by name (its own files say module 'builtins') in custom_objects only
    k_custom = {"euclidean_distance": keras_euclidean_distance, "contrastive_loss": lambda y_true, y_pred: 0.0}
    k_reloaded = keras.models.load_model(path, custom_objects=k_custom)
    assert_allclose_scaled(k_reloaded.predict([x_train_1, x_train_2], verbose=0),
                           ls.predict([x_train_1, x_train_2], verbose=0))
    k_path = str(tmp_path / "k_siamese.keras")
    ks.save(k_path)
    from_keras = loom.models.load_model(k_path, custom_objects={"keras_euclidean_distance": euclidean_distance,
                                                                "contrastive_loss": custom["contrastive_loss"]})
    assert_allclose_scaled(from_keras.predict([x_train_1, x_train_2], verbose=0),
                           ks.predict([x_train_1, x_train_2], verbose=0))


# ================================================================ 9. Siamese network, triplet loss, test_step
def _triplet_siamese(lib, margin=0.5):
    layers, ops = lib.layers, lib.ops

    class DistanceLayer(layers.Layer):
        """The squared distances anchor-positive and anchor-negative (a layer called on three tensors)."""

        def call(self, anchor, positive, negative):
            ap_distance = ops.sum(ops.square(anchor - positive), -1)
            an_distance = ops.sum(ops.square(anchor - negative), -1)
            return (ap_distance, an_distance)

    image = layers.Input((6, 6, 3))
    base_cnn = lib.Model(image, layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(image)),
                         name="base_cnn")  # the example's ResNet50(include_top=False), in miniature
    flatten = layers.Flatten()(base_cnn.output)
    dense1 = layers.Dense(8, activation="relu")(flatten)
    dense1 = layers.BatchNormalization()(dense1)
    output = layers.Dense(4)(dense1)
    embedding = lib.Model(base_cnn.input, output, name="Embedding")

    anchor_input = layers.Input(name="anchor", shape=(6, 6, 3))
    positive_input = layers.Input(name="positive", shape=(6, 6, 3))
    negative_input = layers.Input(name="negative", shape=(6, 6, 3))
    preprocess = lib.applications.resnet.preprocess_input
    distances = DistanceLayer()(embedding(preprocess(anchor_input)), embedding(preprocess(positive_input)),
                                embedding(preprocess(negative_input)))
    siamese_network = lib.Model(inputs=[anchor_input, positive_input, negative_input], outputs=distances)

    class SiameseModel(lib.Model):
        """Computes the triplet loss from the distances the Siamese network returns."""

        def __init__(self, siamese_network, margin=0.5):
            super().__init__()
            self.siamese_network = siamese_network
            self.margin = margin
            self.loss_tracker = lib.metrics.Mean(name="loss")

        def call(self, inputs):
            return self.siamese_network(inputs)

        def train_step(self, data):
            self.zero_grad()
            loss = self._compute_loss(data)
            # the loss is one value per triplet: TF's tape.gradient of a vector is that of its sum
            ops.sum(loss).backward()
            trainable_weights = self.siamese_network.trainable_weights
            with torch.no_grad():
                self.optimizer.apply([v.value.grad for v in trainable_weights], trainable_weights)
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result()}

        def test_step(self, data):
            loss = self._compute_loss(data)
            self.loss_tracker.update_state(loss)
            return {"loss": self.loss_tracker.result()}

        def _compute_loss(self, data):
            # The difference between the distances, and the triplet loss: max(ap - an + margin, 0)
            ap_distance, an_distance = self.siamese_network(data)
            loss = ap_distance - an_distance
            return ops.maximum(loss + self.margin, 0.0)

        @property
        def metrics(self):
            return [self.loss_tracker]

    siamese_model = SiameseModel(siamese_network, margin=margin)
    siamese_model.compile(optimizer=lib.optimizers.Adam(1e-2))
    return siamese_model, embedding


def _triplets(n=12, seed=0):
    """Anchor and positive images share a colour; the negative has another one."""
    rng = _rng(seed)
    colours = rng.uniform(0, 255, size=(4, 3))
    which = rng.integers(0, 4, size=n)
    other = (which + rng.integers(1, 4, size=n)) % 4

    def images(index):
        return (colours[index][:, None, None, :] + rng.normal(0, 20, size=(n, 6, 6, 3))).astype("float32")

    return images(which), images(which), images(other)


def test_triplet_siamese_model_with_train_and_test_steps_matches_keras():
    anchors, positives, negatives = _triplets(12)
    val = _triplets(6, seed=1)
    (k_model, k_embedding), (l_model, l_embedding) = _triplet_siamese(keras), _triplet_siamese(loom)
    l_model.siamese_network.set_weights(k_model.siamese_network.get_weights())
    histories = {lib: model.fit([anchors, positives, negatives], epochs=2, batch_size=4, shuffle=False,
                                validation_data=(list(val),), verbose=0).history
                 for lib, model in ((keras, k_model), (loom, l_model))}
    assert sorted(histories[loom]) == sorted(histories[keras]) == ["loss", "val_loss"]
    for key in ("loss", "val_loss"):
        assert_allclose_scaled(histories[loom][key], histories[keras][key], err_msg=key)
    assert_weights_close(l_model.siamese_network.get_weights(), k_model.siamese_network.get_weights())
    evaluations = [model.evaluate(list(val), batch_size=3, verbose=0) for model in (k_model, l_model)]
    assert_allclose_scaled(evaluations[1], evaluations[0])
    k_distances, l_distances = (model.predict([anchors, positives, negatives], verbose=0)
                                for model in (k_model, l_model))
    assert isinstance(l_distances, tuple) == isinstance(k_distances, tuple) and len(l_distances) == 2
    for k_d, l_d in zip(k_distances, l_distances):
        assert_allclose_scaled(l_d, k_d)

    # The embeddings of a triplet, compared by cosine similarity
    similarities = {}
    for lib, embedding in ((keras, k_embedding), (loom, l_embedding)):
        preprocess = lib.applications.resnet.preprocess_input
        anchor_embedding, positive_embedding, negative_embedding = (
            embedding(preprocess(images[:4].copy())) for images in (anchors, positives, negatives))
        cosine_similarity = lib.metrics.CosineSimilarity()
        positive_similarity = float(cosine_similarity(anchor_embedding, positive_embedding))
        cosine_similarity.reset_state()
        negative_similarity = float(cosine_similarity(anchor_embedding, negative_embedding))
        similarities[lib] = positive_similarity, negative_similarity
    assert_allclose_scaled(similarities[loom], similarities[keras])


# ======================================================= 10. super-resolution with a sub-pixel layer (ESPCN)
def _espcn(lib, upscale_factor=3, channels=1):
    layers, ops = lib.layers, lib.ops

    class DepthToSpace(layers.Layer):
        """Sub-pixel upsampling written with keras.ops only: depth blocks become spatial blocks."""

        def __init__(self, block_size, **kwargs):
            super().__init__(**kwargs)
            self.block_size = block_size

        def call(self, input):
            batch, height, width, depth = ops.shape(input)
            depth = depth // (self.block_size ** 2)
            x = ops.reshape(input, [batch, height, width, self.block_size, self.block_size, depth])
            x = ops.transpose(x, [0, 1, 3, 2, 4, 5])
            return ops.reshape(x, [batch, height * self.block_size, width * self.block_size, depth])

        def get_config(self):
            return {**super().get_config(), "block_size": self.block_size}

    class SuperResolution(lib.Model):
        """The functional ESPCN with its own evaluation (loss and PSNR) and prediction (clipped to [0, 1])."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.psnr_tracker = lib.metrics.Mean(name="psnr")

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred)
            mse = ops.mean(ops.square(y - y_pred), axis=(1, 2, 3))
            self.psnr_tracker.update_state(10.0 * ops.log10(1.0 / mse))
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
            return {m.name: m.result() for m in self.metrics}

        def predict_step(self, data):
            x, _, _ = lib.utils.unpack_x_y_sample_weight(data)
            return ops.clip(self(x, training=False), 0.0, 1.0)

    conv_args = {"activation": "relu", "kernel_initializer": "orthogonal", "padding": "same"}
    inputs = lib.Input(shape=(None, None, channels))
    x = layers.Conv2D(8, 5, **conv_args)(inputs)
    x = layers.Conv2D(8, 3, **conv_args)(x)
    x = layers.Conv2D(channels * (upscale_factor ** 2), 3, **conv_args)(x)
    outputs = DepthToSpace(upscale_factor)(x)
    model = SuperResolution(inputs, outputs)
    model.compile(optimizer=lib.optimizers.Adam(learning_rate=3e-3), loss=lib.losses.MeanSquaredError())
    return model, DepthToSpace, SuperResolution


def _low_and_high_resolution(lib, n=12, size=9, upscale_factor=3, seed=0):
    rng = _rng(seed)
    rows, cols = np.mgrid[:size, :size]
    phase = rng.uniform(0, 3, size=(n, 1, 1))
    high = (0.5 + 0.5 * np.sin(rows / 2.0 + phase) * np.cos(cols / 3.0 - phase))[..., None].astype("float32")
    low = lib.ops.image.resize(high, (size // upscale_factor, size // upscale_factor), interpolation="bicubic")
    return lib.ops.convert_to_numpy(low), high


def test_espcn_super_resolution_with_test_and_predict_steps_matches_keras(tmp_path):
    (k_model, _, _), (l_model, DepthToSpace, SuperResolution) = _espcn(keras), _espcn(loom)
    l_model.set_weights(k_model.get_weights())
    (k_low, high), (l_low, _) = _low_and_high_resolution(keras), _low_and_high_resolution(loom)
    np.testing.assert_allclose(l_low, k_low, rtol=1e-5, atol=1e-6)
    results = {}
    for lib, model in ((keras, k_model), (loom, l_model)):
        class ESPCNCallback(lib.callbacks.Callback):
            """PSNR per validation batch, from the loss the batch logs carry."""

            def on_epoch_begin(self, epoch, logs=None):
                self.psnr = []

            def on_test_batch_end(self, batch, logs=None):
                self.psnr.append(10 * np.log10(1 / logs["loss"]))

        callback = ESPCNCallback()
        history = model.fit(k_low, high, epochs=2, batch_size=4, shuffle=False, validation_data=(k_low[:6], high[:6]),
                            callbacks=[callback], verbose=0).history
        results[lib] = history, callback.psnr, model.predict(k_low, verbose=0), model.evaluate(
            k_low, high, verbose=0, return_dict=True)
    (k_history, k_psnr, k_pred, k_eval), (l_history, l_psnr, l_pred, l_eval) = results[keras], results[loom]
    assert sorted(l_history) == sorted(k_history) == ["loss", "psnr", "val_loss", "val_psnr"]
    for key in k_history:
        assert_allclose_scaled(l_history[key], k_history[key], err_msg=key)
    assert_allclose_scaled(l_psnr, k_psnr)
    assert l_pred.shape == (12, 9, 9, 1) and l_pred.min() >= 0.0 and l_pred.max() <= 1.0
    assert_allclose_scaled(l_pred, k_pred)
    assert sorted(l_eval) == sorted(k_eval) == ["loss", "psnr"]
    for key in k_eval:
        assert_allclose_scaled(l_eval[key], k_eval[key], err_msg=key)
    # the model takes any image size: a 4x upscale of a 2x2 image gives 6x6
    assert l_model.predict(k_low[:1, :2, :2], verbose=0).shape == (1, 6, 6, 1)

    path = str(tmp_path / "espcn.keras")
    l_model.save(path)
    custom = {"DepthToSpace": DepthToSpace, "SuperResolution": SuperResolution}
    reloaded = loom.models.load_model(path, custom_objects=custom)
    assert isinstance(reloaded, SuperResolution)
    np.testing.assert_allclose(reloaded.predict(k_low, verbose=0), l_pred, rtol=1e-6)
    _, k_depth_to_space, k_super_resolution = _espcn(keras)
    k_reloaded = keras.models.load_model(path, custom_objects={"DepthToSpace": k_depth_to_space,
                                                               "SuperResolution": k_super_resolution})
    assert_allclose_scaled(k_reloaded.predict(k_low, verbose=0), l_pred)
    k_path = str(tmp_path / "k_espcn.keras")
    k_model.save(k_path)
    from_keras = loom.models.load_model(k_path, custom_objects=custom)
    assert_allclose_scaled(from_keras.predict(k_low, verbose=0), k_pred)
    assert sorted(from_keras.evaluate(k_low, high, verbose=0, return_dict=True)) == ["loss", "psnr"]
