"""loom models inside scikit-learn (keras.wrappers): a pipeline, cross-validation and a grid search.

SKLearnClassifier wraps a function that builds and compiles a model for the data it is given; scikit-learn
clones, fits and scores it like any estimator."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import loom as keras
from loom import layers
from loom.wrappers import SKLearnClassifier
from _common import parse_args

args = parse_args(__doc__)
x, y = load_digits(return_X_y=True)
if args.smoke:
    x, y = x[:300], y[:300]
keras.utils.set_random_seed(0)


def build(X, y, hidden=32):
    model = keras.Sequential([keras.Input((X.shape[1],)), layers.Dense(hidden, activation="relu"),
                              layers.Dense(y.shape[1], activation="softmax")])
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


classifier = SKLearnClassifier(build, fit_kwargs={"epochs": 2 if args.smoke else 20, "verbose": 0})
pipeline = make_pipeline(StandardScaler(), classifier)
print("cross-validated accuracy:", np.round(cross_val_score(pipeline, x, y, cv=3), 3))
search = GridSearchCV(classifier, {"model_kwargs": [{"hidden": 16}, {"hidden": 64}]}, cv=2).fit(x / 16.0, y)
print("best:", search.best_params_, round(search.best_score_, 3))
