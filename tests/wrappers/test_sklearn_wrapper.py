"""keras.wrappers on loom: same predictions as Keras's wrappers from the same start, real scikit-learn use."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loom
from loom.errors import ConfigError, InputError
from tests.keras_oracle import keras

FIT = {"epochs": 3, "batch_size": 16, "verbose": 0, "shuffle": False}


def _builder(lib, loss, activation):
    def build(X, y, hidden=8):
        model = lib.Sequential([lib.Input((X.shape[1],)),
                                lib.layers.Dense(hidden, activation="tanh",
                                                 kernel_initializer=lib.initializers.Constant(0.01)),
                                lib.layers.Dense(y.shape[1], activation=activation,
                                                 kernel_initializer=lib.initializers.Constant(-0.02))])
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=loss)
        return model
    return build


def _data():
    X, y = load_digits(return_X_y=True)
    X = (X[:200] / 16.0).astype("float32")
    return X, y[:200] % 3


@pytest.mark.parametrize("kind", ["classifier", "regressor", "transformer"])
def test_same_results_as_keras_wrappers(kind):
    X, labels = _data()
    y = labels if kind == "classifier" else (labels * 0.5).astype("float32")  # Keras's wrappers take 1-D y
    loss, activation = ("categorical_crossentropy", "softmax") if kind == "classifier" else ("mse", None)
    cls = {"classifier": "SKLearnClassifier", "regressor": "SKLearnRegressor", "transformer": "SKLearnTransformer"}
    out = []
    for lib in (loom, keras):
        est = getattr(lib.wrappers, cls[kind])(_builder(lib, loss, activation), fit_kwargs=FIT).fit(X, y)
        out.append(est.transform(X) if kind == "transformer" else est.predict(X))
    if kind == "classifier":
        np.testing.assert_array_equal(out[0], out[1])
    else:
        np.testing.assert_allclose(out[0], np.asarray(out[1]), rtol=1e-4, atol=1e-5)


def test_pipeline_cross_validation_and_grid_search():
    X, y = _data()
    clf = loom.wrappers.SKLearnClassifier(_builder(loom, "categorical_crossentropy", "softmax"), fit_kwargs=FIT)
    scores = cross_val_score(make_pipeline(StandardScaler(), clf), X, y, cv=2)
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))
    search = GridSearchCV(clf, {"model_kwargs": [{"hidden": 4}, {"hidden": 8}]}, cv=2).fit(X, y)
    assert search.best_params_["model_kwargs"]["hidden"] in (4, 8)
    assert search.best_estimator_.model_.layers[0].units == search.best_params_["model_kwargs"]["hidden"]


def test_a_compiled_model_is_cloned_and_warm_start_keeps_training():
    X, y = _data()
    model = _builder(loom, "categorical_crossentropy", "softmax")(X, np.eye(3)[y])
    clf = loom.wrappers.SKLearnClassifier(model, fit_kwargs=FIT).fit(X, y)
    assert clf.model_ is not model and clf.epoch_ == 3
    warm = loom.wrappers.SKLearnClassifier(_builder(loom, "categorical_crossentropy", "softmax"), warm_start=True,
                                           fit_kwargs=FIT).fit(X, y)
    first = warm.model_
    warm.fit(X, y)
    assert warm.model_ is first


def test_labels_come_back_as_given():
    X, y = _data()
    names = np.array(["cat", "dog", "owl"])[y]
    clf = loom.wrappers.SKLearnClassifier(_builder(loom, "categorical_crossentropy", "softmax"), fit_kwargs=FIT)
    predicted = clf.fit(X, names).predict(X)
    assert set(predicted) <= {"cat", "dog", "owl"} and clf.classes_.tolist() == ["cat", "dog", "owl"]


def test_bad_input_is_named():
    X, y = _data()
    with pytest.raises(InputError, match="one class"):
        loom.wrappers.SKLearnClassifier(_builder(loom, "mse", None), fit_kwargs=FIT).fit(X, np.zeros(len(X)))
    with pytest.raises(InputError, match="continuous"):
        loom.wrappers.SKLearnClassifier(_builder(loom, "mse", None), fit_kwargs=FIT).fit(X, X[:, 0] + 0.5)

    def uncompiled(X, y):
        return loom.Sequential([loom.Input((X.shape[1],)), loom.layers.Dense(1)])
    with pytest.raises(ConfigError, match="compiled"):
        loom.wrappers.SKLearnRegressor(uncompiled).fit(X, y.astype("float32"))
    with pytest.raises(ConfigError, match="model"):
        loom.wrappers.SKLearnRegressor(42).fit(X, y.astype("float32"))
