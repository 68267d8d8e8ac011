"""DLwP listings 7.3-7.7: one input, three outputs (age regression, income class, gender), per-output
losses given as a list and as a dict, with loss weights."""

import numpy as np

import loom as keras
from loom import layers
from _common import parse_args

args = parse_args(__doc__)
vocabulary_size = 50000
num_income_groups = 10

posts_input = keras.Input(shape=(None,), dtype="int32", name="posts")
embedded_posts = layers.Embedding(vocabulary_size, 256)(posts_input)
x = layers.Conv1D(128, 5, activation="relu")(embedded_posts)
x = layers.MaxPooling1D(5)(x)
x = layers.Conv1D(256, 5, activation="relu")(x)
x = layers.Conv1D(256, 5, activation="relu")(x)
x = layers.MaxPooling1D(5)(x)
x = layers.Conv1D(256, 5, activation="relu")(x)
x = layers.Conv1D(256, 5, activation="relu")(x)
x = layers.GlobalMaxPooling1D()(x)
x = layers.Dense(128, activation="relu")(x)

age_prediction = layers.Dense(1, name="age")(x)
income_prediction = layers.Dense(num_income_groups, activation="softmax", name="income")(x)
gender_prediction = layers.Dense(1, activation="sigmoid", name="gender")(x)
model = keras.Model(posts_input, [age_prediction, income_prediction, gender_prediction])
model.summary()

# Listing 7.4 (a list of losses) and 7.5 (a dict keyed by output names, with loss weights).
model.compile(optimizer="rmsprop", loss=["mse", "categorical_crossentropy", "binary_crossentropy"])
model.compile(optimizer="rmsprop",
              loss={"age": "mse", "income": "categorical_crossentropy", "gender": "binary_crossentropy"},
              loss_weights={"age": 0.25, "income": 1.0, "gender": 10.0})

n, length = (16, 500) if args.smoke else (512, 500)
posts = np.random.randint(1, vocabulary_size, size=(n, length))
age_targets = np.random.randint(18, 80, size=(n, 1)).astype("float32")
income_targets = keras.utils.to_categorical(np.random.randint(0, num_income_groups, n), num_income_groups)
gender_targets = np.random.randint(0, 2, size=(n, 1)).astype("float32")

epochs = 1 if args.smoke else 10
model.fit(posts, [age_targets, income_targets, gender_targets], epochs=epochs, batch_size=64, verbose=2)
history = model.fit(posts, {"age": age_targets, "income": income_targets, "gender": gender_targets},
                    epochs=epochs, batch_size=64, verbose=2)
print("history keys:", sorted(history.history))
