"""DLwP 7.1.5: layer weight sharing: one LSTM encodes both sentences of a pair (a siamese model)."""

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)

lstm = layers.LSTM(32)
left_input = keras.Input(shape=(None, 128))
left_output = lstm(left_input)
right_input = keras.Input(shape=(None, 128))
right_output = lstm(right_input)
merged = layers.concatenate([left_output, right_output], axis=-1)
predictions = layers.Dense(1, activation="sigmoid")(merged)

model = keras.Model([left_input, right_input], predictions)
model.summary()
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])

n, length = (32, 10) if args.smoke else (512, 40)
left_data = np.random.random((n, length, 128))
right_data = np.random.random((n, length, 128))
targets = np.random.randint(0, 2, (n, 1))
model.fit([left_data, right_data], targets, epochs=1 if args.smoke else 5, batch_size=32, verbose=2)
assert sum(1 for layer in model.layers if isinstance(layer, layers.LSTM)) == 1
print("one LSTM, used twice; parameters:", model.count_params())
