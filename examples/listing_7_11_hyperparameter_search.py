"""DLwP 7.3.2: hyperparameter optimization. Choose hyperparameters automatically (TPE, with pruning of hopeless
trials), build, train and score each configuration on validation data, then measure the best model once on test
data, on scikit-learn's handwritten digits."""

import loom as keras
from loom import layers
from loom.datasets.sklearn_data import load_digits
from loom.tuning import HyperParameters, Tuner
from _common import parse_args

args = parse_args(__doc__)


def build(hp):
    """The search space lives in the model-building function: each hp.* call is one hyperparameter."""
    model = keras.Sequential([keras.Input((64,))])
    for i in range(hp.Int("num_layers", 1, 3)):                       # a choice that adds layers
        model.add(layers.Dense(hp.Int(f"units_{i}", 16, 128, step=16), activation="relu"))
        if hp.Boolean(f"dropout_{i}"):
            model.add(layers.Dropout(0.2))
    model.add(layers.Dense(10, activation="softmax"))
    optimizer = keras.optimizers.get({"class_name": hp.Choice("optimizer", ["rmsprop", "adam"]),
                                      "config": {"learning_rate": hp.Float("lr", 1e-4, 1e-2, log=True)}})
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


(x_train, y_train), (x_test, y_test) = load_digits()
x_train, x_test = x_train.reshape(-1, 64) / 16.0, x_test.reshape(-1, 64) / 16.0

build(HyperParameters()).summary()        # outside a search, hp gives defaults: the baseline model

tuner = Tuner(build, objective="val_accuracy", algorithm="tpe", pruner="median", seed=0,
              max_trials=3 if args.smoke else 30, directory="tuning_listing_7_11", overwrite=True)
tuner.search(x_train, y_train, validation_split=0.2, epochs=2 if args.smoke else 20, batch_size=64)
tuner.summary(top=5)
print("best hyperparameters:", tuner.best_params)

# Measure once on data the search never saw: the best validation score was picked among many configurations.
report = tuner.evaluate_best(x_test, y_test)
print(f"validation accuracy {report['validation']:.3f} vs test accuracy {report['test']:.3f}")

# The best model comes back with the weights of its best epoch; the same build() makes the final model.
model = tuner.best_model()
final = build(HyperParameters(values=tuner.best_params))
print("best model test accuracy:", model.evaluate(x_test, y_test, verbose=0)[1])
