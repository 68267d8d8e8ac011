"""DLwP 7.3.1-7.3.2: batch normalization and depthwise separable convolutions: the book's lightweight
SeparableConv2D convnet for 64x64 RGB images, plus a BatchNormalization variant."""

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
height, width, channels = 64, 64, 3
num_classes = 10

model = keras.Sequential()
model.add(layers.SeparableConv2D(32, 3, activation="relu", input_shape=(height, width, channels)))
model.add(layers.SeparableConv2D(64, 3, activation="relu"))
model.add(layers.MaxPooling2D(2))
model.add(layers.SeparableConv2D(64, 3, activation="relu"))
model.add(layers.SeparableConv2D(128, 3, activation="relu"))
model.add(layers.MaxPooling2D(2))
model.add(layers.SeparableConv2D(64, 3, activation="relu"))
model.add(layers.SeparableConv2D(128, 3, activation="relu"))
model.add(layers.GlobalAveragePooling2D())
model.add(layers.Dense(32, activation="relu"))
model.add(layers.Dense(num_classes, activation="softmax"))
model.summary()
model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["acc"])

n = 32 if args.smoke else 512
x = np.random.random((n, height, width, channels)).astype("float32")
y = keras.utils.to_categorical(np.random.randint(0, num_classes, n), num_classes)
model.fit(x, y, epochs=1 if args.smoke else 5, batch_size=32, verbose=2)

# Batch normalization after a convolution, before the activation.
bn_model = keras.Sequential([
    layers.Conv2D(32, 3, input_shape=(height, width, channels)),
    layers.BatchNormalization(),
    layers.Activation("relu"),
    layers.GlobalAveragePooling2D(),
    layers.Dense(num_classes, activation="softmax"),
])
bn_model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=["acc"])
bn_model.fit(x, y, epochs=1, batch_size=32, verbose=2)
bn = bn_model.layers[1]
print("BatchNormalization momentum/epsilon:", bn.momentum, bn.epsilon)
