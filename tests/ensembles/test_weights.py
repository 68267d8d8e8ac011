import numpy as np
import pytest

from loom.ensembles import Ensemble
from loom.ensembles.scoring import get_scorer
from loom.ensembles.weights import optimize_weights
from loom.errors import ConfigError
from tests.ensembles.helpers import constant, noisy_member


def _members(y, accuracies, seed):
    return {f"m{i}": constant(noisy_member(y, 4, acc, seed + i), f"m{i}") for i, acc in enumerate(accuracies)}


@pytest.mark.parametrize("optimizer", ["nelder-mead", "slsqp"])
@pytest.mark.parametrize("metric", ["log_loss", "accuracy", "brier"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fitted_weights_never_worse_than_plain_averaging_on_the_fitting_data(optimizer, metric, seed):
    y = np.random.RandomState(seed).randint(0, 4, 300)
    members = _members(y, [0.9, 0.7, 0.4, 0.3][: 2 + seed], 10 * seed)
    x = np.zeros((300, 1))
    plain = Ensemble(members).evaluate(x, y, metric=metric)
    fitted = Ensemble(members).fit_weights(x, y, metric=metric, method=optimizer)
    score = fitted.evaluate(x, y, metric=metric)
    if metric == "accuracy":
        assert score >= plain
    else:
        assert score <= plain
    w = fitted.weights
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert fitted.fit_info["equal_weights_score"] == pytest.approx(plain)
    assert fitted.fit_info["validation_score"] == pytest.approx(score)


@pytest.mark.parametrize("optimizer", ["nelder-mead", "slsqp"])
def test_regression_weights_never_worse_than_mean(optimizer):
    rng = np.random.RandomState(5)
    y = rng.randn(200)
    members = {"close": constant(y + 0.1 * rng.randn(200), "close"), "far": constant(y + rng.randn(200), "far")}
    x = np.zeros((200, 1))
    plain = Ensemble(members, task="regression").evaluate(x, y)
    fitted = Ensemble(members, task="regression").fit_weights(x, y, method=optimizer)
    assert fitted.evaluate(x, y) < plain
    assert fitted.weights[0] > 0.9


def test_a_useless_member_gets_no_weight():
    y = np.random.RandomState(0).randint(0, 4, 200)
    good = noisy_member(y, 4, 0.95, 0)
    useless = np.full((200, 4), 0.25)
    fit = optimize_weights(np.stack([good, useless]), y, get_scorer("log_loss", "classification"))
    assert not fit.used_equal and fit.loss < fit.equal_loss
    assert fit.weights[0] == pytest.approx(1.0, abs=1e-3)


def test_equal_weights_kept_when_nothing_is_better():
    y = np.array([0, 1, 0, 1])
    same = np.eye(2)[y] * 0.8 + 0.1
    fit = optimize_weights(np.stack([same, same]), y, get_scorer("log_loss", "classification"))
    assert fit.used_equal and fit.weights.tolist() == [0.5, 0.5]


def test_unknown_optimizer_lists_the_valid_ones():
    ens = Ensemble([constant(np.full((2, 2), 0.5), "a")])
    with pytest.raises(ConfigError, match="nelder-mead"):
        ens.fit_weights(np.zeros((2, 1)), [0, 1], method="caruana")


def test_fit_on_weighted_ensemble_fits_weights():
    y = np.random.RandomState(3).randint(0, 4, 100)
    ens = Ensemble(_members(y, [0.9, 0.3], 0), method="weighted").fit(np.zeros((100, 1)), y, optimizer="slsqp")
    assert ens.fit_info["method"] == "slsqp" and ens.weights[0] > ens.weights[1]
