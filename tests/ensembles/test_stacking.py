import numpy as np
import pytest

from loom.ensembles import Ensemble
from loom.ensembles.scoring import get_scorer
from loom.ensembles.stacking import fit_stacker, meta_features
from loom.errors import ConfigError, InputError
from tests.ensembles.helpers import constant, noisy_member


def test_meta_features_put_members_side_by_side():
    preds = np.arange(2 * 3 * 2).reshape(2, 3, 2)
    assert meta_features(preds).tolist() == [[0, 1, 6, 7], [2, 3, 8, 9], [4, 5, 10, 11]]


def test_stacking_learns_a_relabelling_that_averaging_cannot():
    y = np.random.RandomState(0).randint(0, 3, 150)
    shifted = np.eye(3)[(y + 1) % 3] * 0.8 + 0.2 / 3      # confidently predicts the next class: always wrong
    noise = noisy_member(y, 3, 0.4, 1)
    members = {"shifted": constant(shifted, "shifted"), "noise": constant(noise, "noise")}
    x = np.zeros((150, 1))
    mean_accuracy = Ensemble(members).evaluate(x, y, metric="accuracy")
    stack = Ensemble(members, method="stack").fit(x, y)
    assert mean_accuracy < 0.5
    assert stack.evaluate(x, y, metric="accuracy") == 1.0
    assert stack.fit_info["out_of_fold_score"] < 0.1  # log loss of the out-of-fold meta-predictions
    probs = stack.predict(x)
    assert probs.shape == (150, 3) and np.allclose(probs.sum(1), 1.0)


def test_stacking_regression_learns_the_scale():
    rng = np.random.RandomState(2)
    y = rng.randn(100)
    members = {"double": constant(2 * y, "double"), "noise": constant(rng.randn(100), "noise")}
    x = np.zeros((100, 1))
    stack = Ensemble(members, method="stack", task="regression").fit(x, y, strengths=(1e-3,))
    assert stack.evaluate(x, y) < 1e-4
    coef = stack.stacker.estimator.coef_
    assert coef[0] == pytest.approx(0.5, abs=1e-3) and abs(coef[1]) < 1e-3


def test_out_of_fold_score_chooses_the_strength():
    y = np.random.RandomState(3).randint(0, 2, 80)
    preds = np.stack([noisy_member(y, 2, 0.7, 4)])
    scorer = get_scorer("log_loss", "classification")
    stacker = fit_stacker(preds, y, "classification", scorer, cv=4, strengths=(1e-4, 1.0))
    assert stacker.strength == 1.0 and np.isfinite(stacker.oof_score)


def test_too_little_validation_data_and_unfitted_stack():
    members = [constant(np.full((3, 2), 0.5), "a")]
    with pytest.raises(InputError, match="at least 2"):
        Ensemble(members, method="stack").fit(np.zeros((3, 1)), [0, 0, 1])
    with pytest.raises(ConfigError, match="fit"):
        Ensemble(members, method="stack").predict(np.zeros((3, 1)))
    with pytest.raises(ConfigError, match="cv"):
        Ensemble(members, method="stack").fit(np.zeros((3, 1)), [0, 0, 1], cv=1)
