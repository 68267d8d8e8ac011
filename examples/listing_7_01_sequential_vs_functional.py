"""DLwP 7.1.1: a Sequential model and its functional-API equivalent, trained on the same random data."""

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
n = 256 if args.smoke else 1000

seq_model = keras.Sequential()
seq_model.add(layers.Dense(32, activation="relu", input_shape=(64,)))
seq_model.add(layers.Dense(32, activation="relu"))
seq_model.add(layers.Dense(10, activation="softmax"))

input_tensor = keras.Input(shape=(64,))
x = layers.Dense(32, activation="relu")(input_tensor)
x = layers.Dense(32, activation="relu")(x)
output_tensor = layers.Dense(10, activation="softmax")(x)
model = keras.Model(input_tensor, output_tensor)
model.summary()

model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
x_train = np.random.random((n, 64))
y_train = keras.utils.to_categorical(np.random.randint(0, 10, n), 10)
model.fit(x_train, y_train, epochs=2 if args.smoke else 10, batch_size=128, verbose=2)
score = model.evaluate(x_train, y_train, verbose=0)
print("loss:", score)

# The two models have the same architecture: weights move from one to the other.
seq_model.set_weights(model.get_weights())
assert np.allclose(seq_model.predict(x_train, verbose=0), model.predict(x_train, verbose=0), atol=1e-6)
print("Sequential and functional models agree.")
