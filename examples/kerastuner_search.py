"""DLwP 2nd ed. 13.1.1 / 3rd ed. 18.1.1: KerasTuner's code on loom (``import loom.tuning as kt``). A model-building
function and a HyperModel, Bayesian optimization with two executions per trial, the search-space and results
summaries, the best configurations retrained on train + validation data, the search's own best models, and a
Hyperband search; on scikit-learn's handwritten digits instead of MNIST."""

import loom as keras
import loom.tuning as kt
from loom import layers
from loom.datasets.sklearn_data import load_digits
from _common import parse_args

args = parse_args(__doc__)
max_trials, epochs, top_n = (3, 2, 2) if args.smoke else (20, 100, 4)


def build_model(hp):
    units = hp.Int(name="units", min_value=16, max_value=64, step=16)
    model = keras.Sequential([
        layers.Dense(units, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    optimizer = hp.Choice(name="optimizer", values=["rmsprop", "adam"])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class SimpleMLP(kt.HyperModel):
    """The same search space as a HyperModel, whose constructor takes the number of classes."""

    def __init__(self, num_classes):
        self.num_classes = num_classes

    def build(self, hp):
        units = hp.Int(name="units", min_value=16, max_value=64, step=16)
        model = keras.Sequential([
            layers.Dense(units, activation="relu"),
            layers.Dense(self.num_classes, activation="softmax"),
        ])
        optimizer = hp.Choice(name="optimizer", values=["rmsprop", "adam"])
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model


hypermodel = SimpleMLP(num_classes=10)

tuner = kt.BayesianOptimization(
    build_model,
    objective="val_accuracy",
    max_trials=max_trials,
    executions_per_trial=2,
    directory="mnist_kt_test",
    overwrite=True,
    seed=0,
)
tuner.search_space_summary()

(x_train, y_train), (x_test, y_test) = load_digits()
x_train = x_train.reshape((-1, 8 * 8)).astype("float32") / 16
x_test = x_test.reshape((-1, 8 * 8)).astype("float32") / 16
x_train_full = x_train[:]
y_train_full = y_train[:]
num_val_samples = 300
x_train, x_val = x_train[:-num_val_samples], x_train[-num_val_samples:]
y_train, y_val = y_train[:-num_val_samples], y_train[-num_val_samples:]
callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)]
tuner.search(x_train, y_train, batch_size=128, epochs=epochs, validation_data=(x_val, y_val),
             callbacks=callbacks, verbose=2)
tuner.results_summary(top_n)

best_hps = tuner.get_best_hyperparameters(top_n)


def get_best_epoch(hp):
    model = build_model(hp)
    callbacks = [keras.callbacks.EarlyStopping(monitor="val_loss", mode="min", patience=10)]
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=128,
                        callbacks=callbacks, verbose=0)
    val_loss_per_epoch = history.history["val_loss"]
    best_epoch = val_loss_per_epoch.index(min(val_loss_per_epoch)) + 1
    print(f"Best epoch: {best_epoch}")
    return best_epoch


def get_best_trained_model(hp):
    """Retrain a chosen configuration on train + validation data, 20% longer than its best epoch."""
    best_epoch = get_best_epoch(hp)
    model = build_model(hp)
    model.fit(x_train_full, y_train_full, batch_size=128, epochs=int(best_epoch * 1.2), verbose=0)
    return model


best_models = []
for hp in best_hps:
    model = get_best_trained_model(hp)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"{hp.values}: test accuracy {accuracy:.3f}")
    best_models.append(model)

# The search's own models (trained on the training split only), with the weights of their best epoch.
best_models = tuner.get_best_models(top_n)
print("search's best model test accuracy:", best_models[0].evaluate(x_test, y_test, verbose=0)[1])
untrained = tuner.hypermodel.build(best_hps[0])  # the same configuration, untrained
print("rebuilt:", [layer.units for layer in untrained.layers])

# Hyperband: many configurations, most stopped after 1 or 3 epochs; the HyperModel serves as well as a function.
hyperband = kt.Hyperband(hypermodel, objective="val_accuracy", max_epochs=3 if args.smoke else 27, factor=3,
                         directory="mnist_kt_test", project_name="hyperband", overwrite=True, seed=0)
hyperband.search(x_train, y_train, validation_data=(x_val, y_val), batch_size=128, verbose=1)
best = hyperband.get_best_hyperparameters()[0]
print("Hyperband's best:", best.values, "test accuracy:",
      hyperband.get_best_models()[0].evaluate(x_test, y_test, verbose=0)[1])
