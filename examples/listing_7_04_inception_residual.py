"""DLwP 7.1.4: directed acyclic graphs of layers: an Inception module and residual connections."""

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
size = 16 if args.smoke else 64

# An Inception module: four parallel branches concatenated along the channel axis.
x = keras.Input(shape=(size, size, 32))
branch_a = layers.Conv2D(128, 1, activation="relu", strides=2)(x)
branch_b = layers.Conv2D(128, 1, activation="relu")(x)
branch_b = layers.Conv2D(128, 3, activation="relu", strides=2, padding="same")(branch_b)
branch_c = layers.AveragePooling2D(3, strides=2, padding="same")(x)
branch_c = layers.Conv2D(128, 3, activation="relu", padding="same")(branch_c)
branch_d = layers.Conv2D(128, 1, activation="relu")(x)
branch_d = layers.Conv2D(128, 3, activation="relu", padding="same")(branch_d)
branch_d = layers.Conv2D(128, 3, activation="relu", strides=2, padding="same")(branch_d)
output = layers.concatenate([branch_a, branch_b, branch_c, branch_d], axis=-1)
inception = keras.Model(x, output, name="inception_module")
inception.summary()

# Residual connection with an identity shortcut (same shapes) ...
r_in = keras.Input(shape=(size, size, 128))
y = layers.Conv2D(128, 3, activation="relu", padding="same")(r_in)
y = layers.Conv2D(128, 3, activation="relu", padding="same")(y)
y = layers.add([y, r_in])
# ... and with a 1x1 projection shortcut when the shapes differ.
z = layers.Conv2D(128, 3, activation="relu", padding="same")(y)
z = layers.MaxPooling2D(2, strides=2)(z)
residual = layers.Conv2D(128, 1, strides=2, padding="same")(y)
z = layers.add([z, residual])
resnet_block = keras.Model(r_in, z, name="residual_blocks")
resnet_block.summary()

batch = np.random.random((2, size, size, 32)).astype("float32")
print("inception output:", inception.predict(batch, verbose=0).shape)
print("residual output:", resnet_block.predict(np.random.random((2, size, size, 128)), verbose=0).shape)
