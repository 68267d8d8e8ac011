import numpy as np
import pytest
from sklearn import metrics

from loom.ensembles import Scorer
from loom.ensembles.scoring import get_scorer
from loom.errors import ConfigError
from tests.ensembles.helpers import random_probabilities


def test_classification_scores_match_scikit_learn():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, 100)
    p = random_probabilities(rng, 100, 4).astype(np.float64)
    p /= p.sum(1, keepdims=True)
    assert get_scorer("log_loss", "classification")(y, p) == pytest.approx(metrics.log_loss(y, p, labels=range(4)))
    assert get_scorer("accuracy", "classification")(y, p) == pytest.approx(metrics.accuracy_score(y, p.argmax(1)))
    one_hot = np.eye(4)[y]
    assert get_scorer("brier", "classification")(y, p) == pytest.approx(np.mean(np.sum((p - one_hot) ** 2, 1)))


def test_regression_scores_match_scikit_learn():
    rng = np.random.RandomState(1)
    y, p = rng.randn(50, 1), rng.randn(50, 1)
    assert get_scorer("auto", "regression")(y, p) == pytest.approx(metrics.mean_squared_error(y, p))
    assert get_scorer("mae", "regression")(y, p) == pytest.approx(metrics.mean_absolute_error(y, p))
    assert get_scorer("rmse", "regression")(y, p) == pytest.approx(np.sqrt(metrics.mean_squared_error(y, p)))


def test_directions_and_custom_scorers():
    accuracy = get_scorer("accuracy", "classification")
    assert accuracy.greater_is_better and accuracy.better(0.9, 0.8)
    assert accuracy.as_loss(np.array([0]), np.array([[1.0, 0.0]])) == -1.0
    custom = get_scorer(lambda y, p: 3.0, "regression")
    assert not custom.greater_is_better and custom(None, None) == 3.0
    kept = Scorer(lambda y, p: 1.0, greater_is_better=True, name="one")
    assert get_scorer(kept, "classification") is kept


def test_unknown_or_mismatched_metric():
    with pytest.raises(ConfigError, match="log_loss"):
        get_scorer("f1", "classification")
    with pytest.raises(ConfigError, match="mse"):
        get_scorer("log_loss", "regression")
    with pytest.raises(ConfigError):
        get_scorer(3, "regression")
