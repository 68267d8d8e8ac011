"""Keras 3 vision programs (keras.io examples and guides) run unchanged on loom, with Keras 3 (torch) as oracle.

Each test is a miniature of one program: the same layers, calls and training API a user writes, on tiny seeded
synthetic data. Where the program is deterministic the model is built in both libraries, the weights copied, and
losses / outputs / weights compared; elsewhere the test asserts properties (shapes, learning, round trips).
"""

import numpy as np
import pytest
import torch

import loom
from tests.keras_oracle import keras
from tests.tolerance import assert_allclose_scaled, assert_weights_close


def _pair(build):
    """The same program built in Keras and in loom, loom holding Keras's initial weights."""
    keras.utils.set_random_seed(1234)
    km = build(keras)
    lm = build(loom)
    lm.set_weights(km.get_weights())
    return km, lm


# ------------------------------------------------------------------------ 1. Simple MNIST convnet
def _mnist_convnet(lib, dropout: float = 0.5):
    return lib.Sequential([
        lib.Input(shape=(12, 12, 1)),
        lib.layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
        lib.layers.MaxPooling2D(pool_size=(2, 2)),
        lib.layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        lib.layers.MaxPooling2D(pool_size=(2, 2)),
        lib.layers.Flatten(),
        lib.layers.Dropout(dropout),
        lib.layers.Dense(3, activation="softmax"),
    ])


def _digits(n: int = 40, classes: int = 3):
    """Tiny 'digits': class k lights up row band k of a 12x12 image, plus noise."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, classes, size=(n,))
    x = rng.random((n, 12, 12, 1)).astype("float32") * 0.3
    for i, k in enumerate(y):
        x[i, 4 * k:4 * k + 4, :, 0] += 0.7
    return x, y


def test_mnist_convnet_fit_with_validation_split_and_evaluate_match_keras():
    x, y = _digits()
    results = {}
    km, lm = _pair(lambda lib: _mnist_convnet(lib, dropout=0.0))
    for lib, model in ((keras, km), (loom, lm)):
        y_cat = lib.utils.to_categorical(y, 3)
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        history = model.fit(x, y_cat, batch_size=8, epochs=2, validation_split=0.1, shuffle=False, verbose=0)
        score = model.evaluate(x, y_cat, verbose=0)
        results[lib] = history.history, score, model.get_weights()
    (k_hist, k_score, k_weights), (l_hist, l_score, l_weights) = results[keras], results[loom]
    assert sorted(l_hist) == sorted(k_hist) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    for key in k_hist:
        assert_allclose_scaled(l_hist[key], k_hist[key], err_msg=key)
    assert isinstance(l_score, list) and len(l_score) == 2  # [test loss, test accuracy]
    assert_allclose_scaled(l_score, k_score)
    assert_weights_close(l_weights, k_weights)


def test_mnist_convnet_with_dropout_learns_and_summary_counts_params():
    x, y = _digits(n=96)
    model = _mnist_convnet(loom)
    lines = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    text = "\n".join(lines)
    k_lines = []
    _mnist_convnet(keras).summary(print_fn=lambda line, *args, **kwargs: k_lines.append(line))
    k_text = "\n".join(k_lines)
    for needle in ("Total params: 363", "Trainable params: 363", "Non-trainable params: 0"):
        assert needle in text and needle in k_text
    model.compile(loss="categorical_crossentropy", optimizer=loom.optimizers.Adam(1e-2), metrics=["accuracy"])
    y_cat = loom.utils.to_categorical(y, 3)
    history = model.fit(x, y_cat, batch_size=16, epochs=8, validation_split=0.1, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    loss, acc = model.evaluate(x, y_cat, verbose=0)
    assert acc > 0.8
    assert model.predict(x[:5], verbose=0).shape == (5, 3)
    np.testing.assert_allclose(model.predict(x[:5], verbose=0).sum(axis=-1), 1.0, rtol=1e-5)


# ------------------------------------------------------ 4. Convolutional autoencoder for image denoising
def _autoencoder(lib):
    inputs = lib.Input(shape=(8, 8, 1))
    x = lib.layers.Conv2D(4, (3, 3), activation="relu", padding="same")(inputs)
    x = lib.layers.MaxPooling2D((2, 2), padding="same")(x)
    x = lib.layers.Conv2D(4, (3, 3), activation="relu", padding="same")(x)
    x = lib.layers.MaxPooling2D((2, 2), padding="same")(x)
    x = lib.layers.Conv2DTranspose(4, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = lib.layers.Conv2DTranspose(4, (3, 3), strides=2, activation="relu", padding="same")(x)
    x = lib.layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)
    autoencoder = lib.Model(inputs, x)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    return autoencoder


def _noisy_images(n: int = 32):
    rng = np.random.default_rng(1)
    clean = (rng.random((n, 8, 8, 1)) > 0.5).astype("float32")
    noisy = np.clip(clean + 0.4 * rng.normal(size=clean.shape), 0.0, 1.0)  # float64, as the program's noise()
    return noisy, clean


def test_denoising_autoencoder_training_steps_match_keras():
    noisy, clean = _noisy_images()
    km, lm = _pair(_autoencoder)
    k_hist = km.fit(noisy, clean, epochs=3, batch_size=8, shuffle=False,
                    validation_data=(noisy[:8], clean[:8]), verbose=0).history
    l_hist = lm.fit(noisy, clean, epochs=3, batch_size=8, shuffle=False,
                    validation_data=(noisy[:8], clean[:8]), verbose=0).history
    assert_allclose_scaled(l_hist["loss"], k_hist["loss"])
    assert_allclose_scaled(l_hist["val_loss"], k_hist["val_loss"])
    assert_weights_close(lm.get_weights(), km.get_weights())
    predictions = lm.predict(noisy, verbose=0)
    assert predictions.shape == (32, 8, 8, 1)
    assert_allclose_scaled(predictions, km.predict(noisy, verbose=0))


# ------------------------------------------------------- 2. Image classification from scratch (files on disk)
def _write_image_tree(root, per_class: int = 6, jpeg: bool = True):
    """Cats are dark, dogs bright: PNG (and JPEG) files of 20x24 pixels under ``root/<class>/``."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label, name in enumerate(["Cat", "Dog"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = (rng.random((20, 24, 3)) * 90 + 140 * label).astype("uint8")
            Image.fromarray(pixels).save(root / name / f"{i}.{'jpg' if i % 2 and jpeg else 'png'}")
    return str(root)


def _xception_like(lib, augmentation, input_shape=(16, 16, 3), num_classes: int = 2, dropout: float = 0.25):
    layers = lib.layers
    inputs = lib.Input(shape=input_shape)
    x = augmentation(inputs)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(8, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    previous_block_activation = x
    for size in [8, 16]:
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous_block_activation)
        x = layers.add([x, residual])
        previous_block_activation = x
    x = layers.SeparableConv2D(16, 3, padding="same")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(1 if num_classes == 2 else num_classes, activation=None)(x)
    return lib.Model(inputs, outputs)


def _augmentation(lib):
    augmentation_layers = [lib.layers.RandomFlip("horizontal"), lib.layers.RandomRotation(0.1)]

    def data_augmentation(images):
        for layer in augmentation_layers:
            images = layer(images)
        return images
    return data_augmentation


def test_image_dataset_from_directory_split_matches_keras(tmp_path):
    root = _write_image_tree(tmp_path / "PetImages")
    splits = {}
    for lib in (keras, loom):
        train_ds, val_ds = lib.utils.image_dataset_from_directory(
            root, validation_split=0.25, subset="both", seed=1337, image_size=(16, 16), batch_size=4)
        assert train_ds.class_names == val_ds.class_names == ["Cat", "Dog"]
        splits[lib] = [sorted(ds.file_paths) for ds in (train_ds, val_ds)]
        assert len(train_ds) == 3 and len(val_ds) == 1
    assert splits[loom] == splits[keras]
    # Unshuffled, the PNG images (decoded without loss) and their bilinear resize equal Keras's pixels.
    pixels = {}
    for lib in (keras, loom):
        ds = lib.utils.image_dataset_from_directory(root, shuffle=False, image_size=(16, 16), batch_size=4)
        images = np.concatenate([np.asarray(x) for x, _ in ds])
        labels = np.concatenate([np.asarray(y) for _, y in ds])
        pixels[lib] = images[::2], labels  # files 0, 2, 4 of each class are PNG
    assert_allclose_scaled(pixels[loom][0], pixels[keras][0], rel=1e-5)
    np.testing.assert_array_equal(pixels[loom][1], pixels[keras][1])


def test_xception_like_training_on_image_files_matches_keras(tmp_path):
    """The program without its random parts (no augmentation, no dropout) trains like Keras, batch for batch.

    PNG files only: JPEG decoders (PIL here, libjpeg in TensorFlow) may differ by a few pixel levels.
    """
    root = _write_image_tree(tmp_path / "PetImages", per_class=8, jpeg=False)
    km, lm = _pair(lambda lib: _xception_like(lib, lambda x: x, dropout=0.0))
    histories = {}
    for lib, model in ((keras, km), (loom, lm)):
        train_ds, val_ds = lib.utils.image_dataset_from_directory(
            root, validation_split=0.25, subset="both", seed=7, shuffle=False, image_size=(16, 16), batch_size=4,
            label_mode="binary", verbose=False)
        model.compile(optimizer=lib.optimizers.Adam(3e-3), loss=lib.losses.BinaryCrossentropy(from_logits=True),
                      metrics=[lib.metrics.BinaryAccuracy(name="acc")])
        histories[lib] = model.fit(train_ds, epochs=2, validation_data=val_ds, verbose=0).history
    for key, values in histories[keras].items():
        assert_allclose_scaled(histories[loom][key], values, rel=1e-3, err_msg=key)
    # A bias right before BatchNormalization has a zero gradient in exact math; Adam turns the rounding noise
    # left in its place into full-size steps, so those biases are no yardstick.
    before_norm = {layer.bias.path for layer, after in zip(km.layers, km.layers[1:])
                   if isinstance(after, keras.layers.BatchNormalization)}
    keep = [i for i, v in enumerate(km.weights) if v.path not in before_norm]
    assert len(keep) == len(km.weights) - 6
    l_weights, k_weights = lm.get_weights(), km.get_weights()
    assert_weights_close([l_weights[i] for i in keep], [k_weights[i] for i in keep], rel=1e-3)


def test_program_summaries_match_keras():
    x_train, _ = _cifar_like()
    for build in (lambda lib: _xception_like(lib, _augmentation(lib)), lambda lib: _vit(lib, x_train)):
        texts = []
        for lib in (keras, loom):
            lib.backend.clear_session()
            lines = []
            build(lib).summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
            texts.append("\n".join(lines))
        assert texts[1] == texts[0]


@pytest.mark.parametrize("name, kwargs", [
    ("RandomRotation", {"factor": (0.1, 0.1)}),
    ("RandomRotation", {"factor": (-0.25, -0.25), "fill_mode": "constant", "fill_value": 3.0}),
    ("RandomZoom", {"height_factor": (0.2, 0.2), "width_factor": (0.2, 0.2)}),
    ("RandomZoom", {"height_factor": (-0.3, -0.3), "width_factor": None, "fill_mode": "nearest"}),
])
def test_augmentation_geometry_with_fixed_factors_matches_keras(name, kwargs):
    """With a one-point factor range the programs' random layers are deterministic, so pixels can be compared."""
    images = np.random.default_rng(5).random((2, 9, 12, 3)).astype("float32") * 255
    want = keras.ops.convert_to_numpy(getattr(keras.layers, name)(**kwargs)(images, training=True))
    got = getattr(loom.layers, name)(**kwargs)(images, training=True)
    assert_allclose_scaled(loom.ops.convert_to_numpy(got), want, rel=1e-5)


def test_image_classification_from_scratch_program(tmp_path, monkeypatch):
    root = _write_image_tree(tmp_path / "PetImages")
    train_ds, val_ds = loom.utils.image_dataset_from_directory(
        root, validation_split=0.25, subset="both", seed=1337, image_size=(16, 16), batch_size=4)
    for images, labels in train_ds.take(1):
        assert tuple(images.shape) == (4, 16, 16, 3) and tuple(labels.shape) == (4,)
    # Augmentation applied to the dataset, as the program does on CPU.
    data_augmentation = _augmentation(loom)
    augmented_ds = train_ds.map(lambda img, label: (data_augmentation(img), label),
                                num_parallel_calls=-1).prefetch(-1)
    images, labels = next(iter(augmented_ds))
    assert tuple(images.shape) == (4, 16, 16, 3) and labels.dtype == torch.int32

    # ... and inside the model: the same weights as the Keras model, which sits in the graph the same way.
    model = _xception_like(loom, _augmentation(loom))
    k_model = _xception_like(keras, _augmentation(keras))
    assert len(model.weights) == len(k_model.weights) == 47
    assert len(model.trainable_weights) == len(k_model.trainable_weights)
    assert model.count_params() == k_model.count_params()
    model.set_weights(k_model.get_weights())
    batch = np.asarray(next(iter(val_ds))[0])
    assert_allclose_scaled(model.predict(batch, verbose=0), k_model.predict(batch, verbose=0))  # no augmentation

    monkeypatch.chdir(tmp_path)
    callbacks = [loom.callbacks.ModelCheckpoint("save_at_{epoch}.keras")]
    model.compile(optimizer=loom.optimizers.Adam(3e-3), loss=loom.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[loom.metrics.BinaryAccuracy(name="acc")])
    history = model.fit(augmented_ds, epochs=2, callbacks=callbacks, validation_data=val_ds, verbose=0)
    assert sorted(history.history) == ["acc", "loss", "val_acc", "val_loss"]
    assert (tmp_path / "save_at_1.keras").exists() and (tmp_path / "save_at_2.keras").exists()

    reloaded = loom.models.load_model("save_at_2.keras")
    img = loom.utils.load_img(f"{root}/Dog/3.jpg", target_size=(16, 16))
    img_array = loom.utils.img_to_array(img)
    img_array = loom.ops.expand_dims(img_array, 0)  # Create batch axis
    predictions = reloaded.predict(img_array, verbose=0)
    assert predictions.shape == (1, 1)
    np.testing.assert_array_equal(predictions, model.predict(img_array, verbose=0))
    score = float(loom.ops.sigmoid(predictions[0][0]))
    assert 0.0 < score < 1.0
    np.testing.assert_allclose(score, 1 / (1 + np.exp(-float(predictions[0][0]))), rtol=1e-6)


# ------------------------------------------------------------- 3. Image classification with Vision Transformer
def _vit_layers(lib):
    """The program's two custom layers, written against ``lib``."""
    layers, ops = lib.layers, lib.ops

    class Patches(layers.Layer):
        def __init__(self, patch_size, **kwargs):
            super().__init__(**kwargs)
            self.patch_size = patch_size

        def call(self, images):
            batch_size, height, width, channels = ops.shape(images)
            patches = ops.image.extract_patches(images, size=self.patch_size)
            count = (height // self.patch_size) * (width // self.patch_size)
            return ops.reshape(patches, (batch_size, count, self.patch_size * self.patch_size * channels))

        def get_config(self):
            config = super().get_config()
            config.update({"patch_size": self.patch_size})
            return config

    class PatchEncoder(layers.Layer):
        def __init__(self, num_patches, projection_dim, **kwargs):
            super().__init__(**kwargs)
            self.num_patches = num_patches
            self.projection_dim = projection_dim
            self.projection = layers.Dense(units=projection_dim)
            self.position_embedding = layers.Embedding(input_dim=num_patches, output_dim=projection_dim)

        def call(self, patch):
            positions = ops.expand_dims(ops.arange(start=0, stop=self.num_patches, step=1), axis=0)
            return self.projection(patch) + self.position_embedding(positions)

        def get_config(self):
            config = super().get_config()
            config.update({"num_patches": self.num_patches, "projection_dim": self.projection_dim})
            return config

    return Patches, PatchEncoder


def _vit(lib, x_train, random_augmentation: bool = True, dropout: float = 0.1, image_size: int = 12,
         patch_size: int = 4, projection_dim: int = 8, num_classes: int = 6):
    layers = lib.layers
    Patches, PatchEncoder = _vit_layers(lib)
    random_layers = [layers.RandomFlip("horizontal"), layers.RandomRotation(factor=0.02),
                     layers.RandomZoom(height_factor=0.2, width_factor=0.2)] if random_augmentation else []
    data_augmentation = lib.Sequential([layers.Normalization(), layers.Resizing(image_size, image_size)]
                                       + random_layers, name="data_augmentation")
    data_augmentation.layers[0].adapt(x_train)  # mean and variance of the training images

    def mlp(x, hidden_units, dropout_rate):
        for units in hidden_units:
            x = layers.Dense(units, activation=lib.activations.gelu)(x)
            x = layers.Dropout(dropout_rate)(x)
        return x

    inputs = lib.Input(shape=x_train.shape[1:])
    patches = Patches(patch_size)(data_augmentation(inputs))
    encoded_patches = PatchEncoder((image_size // patch_size) ** 2, projection_dim)(patches)
    for _ in range(2):
        x1 = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
        attention_output = layers.MultiHeadAttention(num_heads=2, key_dim=projection_dim, dropout=dropout)(x1, x1)
        x2 = layers.Add()([attention_output, encoded_patches])
        x3 = layers.LayerNormalization(epsilon=1e-6)(x2)
        x3 = mlp(x3, hidden_units=[projection_dim * 2, projection_dim], dropout_rate=dropout)
        encoded_patches = layers.Add()([x3, x2])
    representation = layers.LayerNormalization(epsilon=1e-6)(encoded_patches)
    representation = layers.Dropout(dropout)(layers.Flatten()(representation))
    features = mlp(representation, hidden_units=[16, 8], dropout_rate=dropout)
    model = lib.Model(inputs=inputs, outputs=layers.Dense(num_classes)(features))
    model.compile(optimizer=lib.optimizers.AdamW(learning_rate=1e-3, weight_decay=1e-4),
                  loss=lib.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=[lib.metrics.SparseCategoricalAccuracy(name="accuracy"),
                           lib.metrics.SparseTopKCategoricalAccuracy(5, name="top-5-accuracy")])
    return model


def _cifar_like(n: int = 24):
    """uint8 images and (n, 1) integer labels, as ``keras.datasets.cifar100.load_data()`` returns them."""
    rng = np.random.default_rng(2)
    return (rng.random((n, 10, 10, 3)) * 255).astype("uint8"), rng.integers(0, 6, size=(n, 1))


def test_vision_transformer_deterministic_part_trains_like_keras():
    x_train, y_train = _cifar_like()
    km, lm = _pair(lambda lib: _vit(lib, x_train, random_augmentation=False, dropout=0.0))
    assert len(lm.weights) == len(km.weights)
    assert_allclose_scaled(lm.predict(x_train, verbose=0), km.predict(x_train, verbose=0))
    k_hist = km.fit(x_train, y_train, batch_size=8, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    l_hist = lm.fit(x_train, y_train, batch_size=8, epochs=2, validation_split=0.25, shuffle=False, verbose=0)
    assert sorted(l_hist.history) == sorted(k_hist.history)
    for key, values in k_hist.history.items():
        assert_allclose_scaled(l_hist.history[key], values, err_msg=key)
    assert_weights_close(lm.get_weights(), km.get_weights())
    l_eval, k_eval = lm.evaluate(x_train, y_train, verbose=0), km.evaluate(x_train, y_train, verbose=0)
    assert len(l_eval) == 3  # loss, accuracy, top-5-accuracy
    assert_allclose_scaled(l_eval, k_eval)


def test_vision_transformer_best_checkpoint_and_patch_display_match_keras(tmp_path):
    x_train, y_train = _cifar_like()
    km, lm = _pair(lambda lib: _vit(lib, x_train, random_augmentation=False, dropout=0.0))
    results = {}
    for lib, model in ((keras, km), (loom, lm)):
        checkpoint_filepath = str(tmp_path / f"{lib.__name__}.weights.h5")
        checkpoint_callback = lib.callbacks.ModelCheckpoint(checkpoint_filepath, monitor="val_accuracy",
                                                            save_best_only=True, save_weights_only=True)
        history = model.fit(x_train, y_train, batch_size=8, epochs=3, validation_split=0.25, shuffle=False,
                            callbacks=[checkpoint_callback], verbose=0)
        model.load_weights(checkpoint_filepath)
        results[lib] = history.history["val_accuracy"], model.evaluate(x_train, y_train, verbose=0)
    assert_allclose_scaled(results[loom][0], results[keras][0])
    assert_allclose_scaled(results[loom][1], results[keras][1])

    # Showing the patches of one image: a batch of one built with convert_to_tensor([image]), kept uint8.
    image = x_train[3]
    patch_pixels = {}
    for lib in (keras, loom):
        resized_image = lib.ops.image.resize(lib.ops.convert_to_tensor([image]), size=(12, 12))
        patches = _vit_layers(lib)[0](4)(resized_image)
        assert tuple(patches.shape) == (1, 9, 48)
        patch_pixels[lib] = [lib.ops.convert_to_numpy(lib.ops.reshape(patch, (4, 4, 3))).astype("uint8")
                             for patch in patches[0]]
    np.testing.assert_array_equal(np.stack(patch_pixels[loom]), np.stack(patch_pixels[keras]))


def test_vision_transformer_program_with_augmentation_and_custom_layer_configs(tmp_path):
    x_train, y_train = _cifar_like()
    model = _vit(loom, x_train)
    history = model.fit(x_train, y_train, batch_size=8, epochs=2, validation_split=0.1, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "top-5-accuracy", "val_accuracy", "val_loss",
                                       "val_top-5-accuracy"]
    _, accuracy, top_5_accuracy = model.evaluate(x_train, y_train, verbose=0)
    assert 0.0 <= accuracy <= top_5_accuracy <= 1.0
    normalization = model.get_layer("data_augmentation").layers[0]
    np.testing.assert_allclose(np.asarray(normalization.mean).reshape(-1),
                               x_train.reshape(-1, 3).mean(axis=0), rtol=1e-5)

    Patches, PatchEncoder = _vit_layers(loom)
    patches = Patches(4)(loom.ops.convert_to_tensor(x_train[:2, :8, :8]))
    assert tuple(patches.shape) == (2, 4, 48)
    np.testing.assert_array_equal(np.asarray(patches[0, 1]), x_train[0, :4, 4:8].reshape(-1))
    assert Patches.from_config(Patches(4).get_config()).patch_size == 4
    encoder = PatchEncoder.from_config(PatchEncoder(4, 8, name="enc").get_config())
    assert (encoder.num_patches, encoder.projection_dim, encoder.name) == (4, 8, "enc")
    assert tuple(encoder(patches).shape) == (2, 4, 8)

    path = str(tmp_path / "vit.keras")
    model.save(path)
    reloaded = loom.models.load_model(path, custom_objects={"Patches": Patches, "PatchEncoder": PatchEncoder})
    np.testing.assert_array_equal(reloaded.predict(x_train, verbose=0), model.predict(x_train, verbose=0))
    k_patches, k_patch_encoder = _vit_layers(keras)  # the same file in Keras, custom classes by their names
    k_model = keras.models.load_model(path, custom_objects={"Patches": k_patches, "PatchEncoder": k_patch_encoder})
    assert_allclose_scaled(k_model.predict(x_train, verbose=0), model.predict(x_train, verbose=0))


# -------------------------------------------------------------------------- 5. Transfer learning & fine-tuning
def _moving_statistics(model):
    return [np.asarray(v) for v in model.non_trainable_weights if "moving" in v.path]


def _transfer_model(lib, dropout: float = 0.2):
    base_model = lib.applications.MobileNetV2(weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35)
    base_model.trainable = False  # freeze the base before building the new model on top
    inputs = lib.Input(shape=(32, 32, 3))
    x = lib.layers.Rescaling(scale=1 / 127.5, offset=-1)(inputs)
    x = base_model(x, training=False)  # BatchNormalization keeps inference mode, even once unfrozen
    x = lib.layers.GlobalAveragePooling2D()(x)
    x = lib.layers.Dropout(dropout)(x)
    outputs = lib.layers.Dense(1)(x)
    return lib.Model(inputs, outputs), base_model


def _compile_binary(lib, model, learning_rate: float):
    model.compile(optimizer=lib.optimizers.Adam(learning_rate),
                  loss=lib.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[lib.metrics.BinaryAccuracy()])


def test_layer_trainable_flags_move_weights_like_keras():
    for lib in (keras, loom):
        layer = lib.layers.Dense(3)
        layer.build((None, 4))
        layer.trainable = False
        assert (len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights)) == (2, 0, 2)
        bn = lib.layers.BatchNormalization()
        bn.build((None, 4))
        assert (len(bn.trainable_weights), len(bn.non_trainable_weights)) == (2, 2)
        bn.trainable = False
        assert (len(bn.trainable_weights), len(bn.non_trainable_weights)) == (0, 4)


def test_trainable_is_recursive_and_summary_shows_it_like_keras():
    texts, flags = [], []
    for lib in (keras, loom):
        lib.backend.clear_session()
        model, base_model = _transfer_model(lib)
        lines = []
        model.summary(show_trainable=True, print_fn=lines.append)
        texts.append("".join(lines))
        inner = lib.Sequential([lib.Input((3,)), lib.layers.Dense(3), lib.layers.BatchNormalization()])
        outer = lib.Sequential([lib.Input((3,)), inner, lib.layers.Dense(3, activation="relu")])
        outer.trainable = False  # every layer inside becomes frozen too
        flags.append([layer.trainable for layer in inner.layers] + [len(outer.trainable_weights),
                                                                    len(outer.non_trainable_weights)])
    assert texts[1] == texts[0] and "Trai" in texts[1]
    assert flags[1] == flags[0] == [False, False, 0, 8]


def _binary_images(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = (rng.random((n, 32, 32, 3)) * 255).astype("float32")
    return x, (x.mean(axis=(1, 2, 3)) > 127.5).astype("float32")[:, None]


def test_transfer_learning_then_fine_tuning_matches_keras():
    """Frozen base, new head; then fine-tuning with the BatchNormalization layers kept frozen (the guide's
    ``layer.trainable = False`` advice), so both libraries run them in inference mode and agree step by step."""
    x, y = _binary_images(16, seed=3)
    keras.utils.set_random_seed(1234)
    k_model, k_base = _transfer_model(keras, dropout=0.0)
    l_model, l_base = _transfer_model(loom, dropout=0.0)
    l_model.set_weights(k_model.get_weights())
    statistics = _moving_statistics(l_base)
    assert len(statistics) == 2 * 52  # moving mean and variance of MobileNetV2's 52 BatchNormalization layers

    counts = []
    for stage, learning_rate in (("frozen", 1e-2), ("fine-tuning", 1e-5)):
        if stage == "fine-tuning":
            for base in (k_base, l_base):
                base.trainable = True
                for layer in base.layers:
                    if isinstance(layer, (keras.layers.BatchNormalization, loom.layers.BatchNormalization)):
                        layer.trainable = False
        for lib, model in ((keras, k_model), (loom, l_model)):
            _compile_binary(lib, model, learning_rate)  # recompile after changing `trainable`
            counts.append((lib.__name__, stage, len(model.trainable_weights), len(model.non_trainable_weights)))
        k_loss = k_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
        l_loss = l_model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history["loss"]
        assert_allclose_scaled(l_loss, k_loss, err_msg=stage)
        assert_weights_close(l_model.get_weights(), k_model.get_weights())
        for after, before in zip(_moving_statistics(l_base), statistics):
            np.testing.assert_array_equal(after, before)
    assert counts == [("keras", "frozen", 2, 260), ("loom", "frozen", 2, 260),
                      ("keras", "fine-tuning", 54, 208), ("loom", "fine-tuning", 54, 208)]
    assert_allclose_scaled(l_model.predict(x, verbose=0), k_model.predict(x, verbose=0))


def test_fine_tuning_under_training_false_keeps_batchnorm_statistics(tmp_path):
    """``base_model(x, training=False)`` keeps BatchNormalization in inference mode once the base is unfrozen.

    That is what the Keras guide promises (and tf.keras did). Keras 3.15 itself, on every backend, lets the outer
    ``training=True`` of ``fit`` override the ``training=False`` recorded at the node (``operation_fn`` in
    ``keras/src/models/functional.py``), so its statistics drift; loom follows the documented semantics.
    """
    x, y = _binary_images(16, seed=5)
    model, base_model = _transfer_model(loom)
    _compile_binary(loom, model, 1e-2)
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    statistics = _moving_statistics(base_model)
    base_model.trainable = True
    _compile_binary(loom, model, 1e-5)
    assert (len(model.trainable_weights), len(model.non_trainable_weights)) == (158, 104)
    trainable_before = [np.array(v) for v in base_model.trainable_weights]
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for after, before in zip(_moving_statistics(base_model), statistics):
        np.testing.assert_array_equal(after, before)
    moved = [not np.array_equal(np.asarray(v), b) for v, b in zip(base_model.trainable_weights, trainable_before)]
    assert any(moved)  # while the base itself does train

    model.save(tmp_path / "fine_tuned.keras")  # fine-tuning goes on after a reload, still in inference mode
    reloaded = loom.models.load_model(tmp_path / "fine_tuned.keras")
    reloaded_base = reloaded.get_layer(base_model.name)
    reloaded.fit(x, y, batch_size=8, epochs=1, verbose=0)
    for after, before in zip(_moving_statistics(reloaded_base), statistics):
        np.testing.assert_array_equal(after, before)


def test_frozen_base_weights_do_not_move_while_the_head_learns():
    x, y = _binary_images(32, seed=4)
    model, base_model = _transfer_model(loom)
    base_before = [np.array(w) for w in base_model.get_weights()]
    head_before = model.layers[-1].get_weights()
    _compile_binary(loom, model, 1e-2)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    for after, before in zip(base_model.get_weights(), base_before):
        np.testing.assert_array_equal(after, before)
    assert not np.array_equal(model.layers[-1].get_weights()[0], head_before[0])
