import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor

from loom.ensembles import Ensemble, SklearnMember, tree_member
from loom.errors import ConfigError, InputError
from tests.ensembles.helpers import digits, digits_mlp, digits_trees


def test_tree_member_flattens_images_and_predicts_probabilities():
    rng = np.random.RandomState(0)
    x = rng.rand(120, 3, 3)
    y = (x[:, 1, 1] > 0.5).astype("int64")
    member = tree_member(x, y, kind="random_forest", n_estimators=10, seed=1)
    assert isinstance(member, SklearnMember) and member.name == "random_forest"
    proba = member.predict(x)
    assert proba.shape == (120, 2) and np.mean(proba.argmax(1) == y) > 0.95
    assert member.estimator.n_features_in_ == 9 and member.estimator.random_state == 1


def test_features_function_max_samples_and_one_hot_targets():
    rng = np.random.RandomState(1)
    x = rng.rand(100, 4)
    y = np.eye(3)[rng.randint(0, 3, 100)]
    member = tree_member(x, y, kind="extra_trees", features=lambda x: x[:, :2], max_samples=30, n_estimators=5)
    assert member.estimator.n_features_in_ == 2
    assert sum(est.tree_.n_node_samples[0] for est in member.estimator.estimators_[:1]) <= 30
    assert member.predict(x).shape == (100, 3)


def test_regression_is_detected_from_float_targets():
    rng = np.random.RandomState(2)
    x = rng.rand(60, 2)
    member = tree_member(x, x.sum(1), kind="random_forest", n_estimators=5)
    assert isinstance(member.estimator, RandomForestRegressor) and not member.is_classifier
    assert member.predict(x).shape == (60,)


def test_bad_arguments():
    x, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ConfigError, match="hist_gradient_boosting"):
        tree_member(x, y, kind="xgboost")
    with pytest.raises(ConfigError, match="does not take"):
        tree_member(x, y, kind="random_forest", n_trees=3)
    with pytest.raises(InputError, match="samples"):
        tree_member(x, y[:3])


def test_deep_net_plus_boosted_trees_beat_the_best_member_on_held_out_digits():
    _, (x_val, y_val), (x_test, y_test) = digits()
    net, trees = digits_mlp(), digits_trees()
    assert isinstance(trees.estimator, HistGradientBoostingClassifier)
    for ensemble in (Ensemble([net, trees]), Ensemble([net, trees]).fit_weights(x_val, y_val)):
        report = ensemble.report(x_test, y_test, print_fn=None)
        assert report.gain > 0, report  # log loss on the test set, which no model or weight saw
        assert report.ensemble_score < min(report.member_scores.values())
