"""DLwP 7.3.3: model ensembling. Four different classifiers' predictions averaged with the weights of the book
(0.5, 0.25, 0.1, 0.15), then with weights fitted on validation data, on scikit-learn's handwritten digits."""

import numpy as np

import loom as keras
from loom import layers
from loom.datasets.sklearn_data import load_digits
from loom.ensembles import Ensemble, tree_member
from _common import parse_args

args = parse_args(__doc__)
epochs = 2 if args.smoke else 30
keras.utils.set_random_seed(0)

(x_train, y_train), (x_test, y_test) = load_digits()
x_train, x_test = x_train / 16.0, x_test / 16.0
x_val, y_val = x_train[-300:], y_train[-300:]          # the ensemble's weights are chosen on these
x_train, y_train = x_train[:-300], y_train[:-300]


def dense_model(units, dropout, name):
    inputs = keras.Input(shape=(8, 8))
    x = layers.Flatten()(inputs)
    x = layers.Dense(units, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


def conv_model(name):
    inputs = keras.Input(shape=(8, 8))
    x = layers.Reshape((8, 8, 1))(inputs)
    x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name=name)


model_a, model_b, model_c = dense_model(64, 0.0, "mlp_64"), dense_model(16, 0.3, "mlp_16"), conv_model("convnet")
for model in (model_a, model_b, model_c):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=0)
# A gradient-boosted tree model on the flattened pixels: good and different from the networks.
model_d = tree_member(x_train, y_train, kind="hist_gradient_boosting", max_iter=5 if args.smoke else 60,
                      n_threads=1, name="boosted_trees")

# The book's listing: a weighted average of the four classifiers' predictions.
preds_a = model_a.predict(x_val, verbose=0)
preds_b = model_b.predict(x_val, verbose=0)
preds_c = model_c.predict(x_val, verbose=0)
preds_d = model_d.predict(x_val)
final_preds = 0.5 * preds_a + 0.25 * preds_b + 0.1 * preds_c + 0.15 * preds_d

# The same with loom.ensembles, which also handles the tree model, caching and reporting.
ensemble = Ensemble([model_a, model_b, model_c, model_d], weights=[0.5, 0.25, 0.1, 0.15])
assert np.allclose(ensemble.predict(x_val), final_preds, atol=1e-6)
print("validation accuracy with the book's weights:", np.mean(final_preds.argmax(axis=1) == y_val))

# Better: let the validation data choose the weights (Nelder-Mead on the log loss, as the book suggests).
ensemble.fit_weights(x_val, y_val, metric="log_loss", method="nelder-mead")
print("fitted weights:", {name: round(float(w), 3) for name, w in zip(ensemble.names, ensemble.weights)})
report = ensemble.report(x_test, y_test)            # each member, the ensemble, the gain, the diversity
print("test accuracy of the ensemble:", report.accuracy["ensemble"])
