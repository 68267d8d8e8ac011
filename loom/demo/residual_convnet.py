"""Demo step: a small modern convnet from :mod:`loom.applications.blocks` (residual connections, batch
normalization, depthwise separable convolutions) trained on Fashion-MNIST.

Full mode trains on a subset of the training images so the step stays around a minute on two CPU cores.
"""

from __future__ import annotations

import loom
from loom import layers
from loom.applications.blocks import conv_bn, residual_block, separable_conv_block

FULL_TRAIN_SAMPLES = 15000
QUICK_TRAIN_SAMPLES = 3000


def build() -> loom.Model:
    """28x28 grayscale -> 10 classes: a strided conv-BN stem, a residual block, an Xception-style separable
    block, and a separable residual block, then global pooling."""
    inputs = loom.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = conv_bn(x, 32, 3, strides=2, name="stem")                # 14x14x32
    x = residual_block(x, 32, name="res1")                       # identity shortcut
    x = separable_conv_block(x, 64, name="sep1")                 # 7x7x64, 1x1-projection shortcut
    x = residual_block(x, 64, separable=True, name="res2")       # separable convolutions, identity shortcut
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, activation="softmax", name="label")(x)
    return loom.Model(inputs, outputs, name="residual_convnet")


def _quicker_moving_averages(model: loom.Model, momentum: float = 0.9) -> None:
    """The BatchNormalization layers' moving statistics follow the batches faster than with Keras's default
    momentum 0.99, which needs ~500 training steps before inference-mode outputs are right."""
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = momentum


def run(ctx) -> None:
    loom.utils.set_random_seed(0)
    model = build()
    _quicker_moving_averages(model)
    model.summary()
    n = QUICK_TRAIN_SAMPLES if ctx.quick else FULL_TRAIN_SAMPLES
    x_train, y_train = ctx.x_train[:n], ctx.y_train[:n]
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["acc"])
    model.fit(x_train, y_train, batch_size=32, epochs=ctx.epochs(3), validation_split=0.1, verbose=2)
    loss, acc = model.evaluate(ctx.x_test, ctx.y_test, batch_size=500, verbose=0)
    print(f"trained on {len(x_train)} images; test accuracy: {acc:.4f} (loss {loss:.4f})")
    ctx.results["residual_convnet_test_acc"] = round(float(acc), 4)
