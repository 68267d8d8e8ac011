import numpy as np
import pytest

from loom.ensembles import Ensemble
from loom.ensembles.caruana import caruana_selection
from loom.ensembles.scoring import get_scorer
from loom.errors import ConfigError
from tests.ensembles.helpers import constant, noisy_member

LOG_LOSS = get_scorer("log_loss", "classification")


def test_complementary_members_are_picked_equally_and_a_bad_one_never():
    y = np.array([0, 1, 0, 1])
    a = np.array([[0.9, 0.1], [0.5, 0.5], [0.9, 0.1], [0.5, 0.5]])  # sure and right on even rows
    b = np.array([[0.5, 0.5], [0.1, 0.9], [0.5, 0.5], [0.1, 0.9]])  # sure and right on odd rows
    bad = 1.0 - np.eye(2)[y] * 0.8 - 0.1                             # sure and wrong everywhere
    selection = caruana_selection(np.stack([bad, a, b]), y, LOG_LOSS, iterations=20)
    assert selection.weights.tolist() == [0.0, 0.5, 0.5]
    assert selection.counts.tolist() == [0, 1, 1]
    assert selection.loss == pytest.approx(-np.log(0.7))
    assert selection.history[0] == pytest.approx(LOG_LOSS.as_loss(y, a))


def test_regression_members_with_opposite_biases_cancel_out():
    y = np.linspace(-1, 1, 50)[:, None]
    members = np.stack([y + 1.0, y + 3.0, y - 1.0])
    selection = caruana_selection(members, y, get_scorer("mse", "regression"), iterations=10)
    assert selection.loss == pytest.approx(0.0, abs=1e-24)
    assert selection.weights.tolist() == [0.5, 0.0, 0.5]


def test_never_worse_than_the_best_single_member_and_iterations_zero():
    y = np.random.RandomState(0).randint(0, 5, 200)
    preds = np.stack([noisy_member(y, 5, acc, i) for i, acc in enumerate([0.5, 0.8, 0.6, 0.3])])
    best_single = min(LOG_LOSS(y, p) for p in preds)
    start = caruana_selection(preds, y, LOG_LOSS, iterations=0)
    assert start.weights.tolist() == [0, 1, 0, 0] and start.loss == pytest.approx(best_single)
    selection = caruana_selection(preds, y, LOG_LOSS, iterations=30, init_size=2)
    assert selection.loss <= best_single
    assert selection.weights.sum() == pytest.approx(1.0)
    assert selection.loss == pytest.approx(LOG_LOSS(y, np.tensordot(selection.weights, preds, 1)))


def test_caruana_ensemble_fits_on_validation_data_and_predicts_with_the_selection():
    y = np.random.RandomState(1).randint(0, 3, 120)
    members = {f"m{i}": constant(noisy_member(y, 3, acc, i), f"m{i}") for i, acc in enumerate([0.9, 0.6, 0.2])}
    x = np.zeros((120, 1))
    ens = Ensemble(members, method="caruana").fit(x, y, iterations=25)
    assert ens.fit_info["method"] == "caruana" and sum(ens.fit_info["counts"]) >= 1
    assert ens.evaluate(x, y) == pytest.approx(ens.fit_info["validation_score"])
    assert ens.evaluate(x, y) <= min(Ensemble([m]).evaluate(x, y) for m in members.values())


def test_bad_arguments():
    preds = np.stack([np.full((2, 2), 0.5)])
    with pytest.raises(ConfigError, match="init_size"):
        caruana_selection(preds, np.array([0, 1]), LOG_LOSS, init_size=2)
    with pytest.raises(ConfigError, match="iterations"):
        caruana_selection(preds, np.array([0, 1]), LOG_LOSS, iterations=-1)
    with pytest.raises(ConfigError, match="weights"):
        Ensemble([constant(preds[0], "a")], method="caruana", weights=[1.0])
