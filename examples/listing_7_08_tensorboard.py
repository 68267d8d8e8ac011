"""DLwP 7.2.2: TensorBoard. The IMDB Conv1D text classifier trained with a TensorBoard callback writing
weight/activation histograms and embeddings every epoch (random word indices stand in for IMDB), then the
model drawn with plot_model. Look at the logs with `loom board my_log_dir`."""

import numpy as np

import loom as keras
from loom import layers
from loom.utils import plot_model
from _common import parse_args

args = parse_args(__doc__)
max_features = 2000  # number of words to consider as features
max_len = 100 if args.smoke else 500  # cut texts after this number of words
n = 128 if args.smoke else 2000
rng = np.random.default_rng(0)
x_train = rng.integers(1, max_features, (n, max_len))
y_train = (x_train[:, :10].mean(axis=1) > max_features / 2).astype("float32")

model = keras.models.Sequential()
model.add(layers.Embedding(max_features, 128, input_length=max_len, name="embed"))
model.add(layers.Conv1D(32, 7, activation="relu"))
model.add(layers.MaxPooling1D(5))
model.add(layers.Conv1D(32, 7, activation="relu"))
model.add(layers.GlobalMaxPooling1D())
model.add(layers.Dense(1, activation="sigmoid"))
model.summary()
model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["acc"])

callbacks = [
    keras.callbacks.TensorBoard(
        log_dir="my_log_dir",  # log files are written here
        histogram_freq=1,  # activation histograms every epoch
        embeddings_freq=1,  # embedding data every epoch
    )
]
history = model.fit(x_train, y_train, epochs=1 if args.smoke else 20, batch_size=128, validation_split=0.2,
                    callbacks=callbacks, verbose=2)

plot_model(model, show_shapes=True, to_file="model.png")
print("TensorBoard logs in my_log_dir; run: loom board my_log_dir")
print("model plot written to model.png")
