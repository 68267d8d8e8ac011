import json
import warnings

import numpy as np
import pytest

from loom.ensembles import Ensemble, EnsembleWarning
from loom.ensembles.scoring import accuracy, log_loss
from tests.ensembles.helpers import constant, noisy_member


def _members():
    y = np.random.RandomState(0).randint(0, 3, 200)
    preds = {"a": noisy_member(y, 3, 0.8, 1), "b": noisy_member(y, 3, 0.75, 2), "c": noisy_member(y, 3, 0.7, 3)}
    return y, preds, {n: constant(p, n) for n, p in preds.items()}


def test_report_numbers_match_an_independent_computation():
    y, preds, members = _members()
    x = np.zeros((200, 1))
    lines = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no member is far worse: no warning
        report = Ensemble(members).report(x, y, print_fn=lines.append)
    mean = sum(preds.values()) / 3
    assert report.member_scores == pytest.approx({n: log_loss(y, p) for n, p in preds.items()})
    assert report.ensemble_score == pytest.approx(log_loss(y, mean))
    best = min(report.member_scores, key=report.member_scores.get)
    assert report.best_member == best
    assert report.gain == pytest.approx(report.member_scores[best] - log_loss(y, mean))
    assert report.gain > 0  # diverse members of similar quality: the average wins
    assert report.weights == pytest.approx({"a": 1 / 3, "b": 1 / 3, "c": 1 / 3})
    assert report.accuracy["ensemble"] == pytest.approx(accuracy(y, mean))
    classes = {n: p.argmax(1) for n, p in preds.items()}
    assert report.disagreement[0][1] == pytest.approx(np.mean(classes["a"] != classes["b"]))
    corr = np.array(report.correlation)
    assert np.allclose(corr, corr.T) and np.allclose(np.diag(corr), 1.0)
    errors = [(p - np.eye(3)[y]).ravel() for p in preds.values()]
    assert corr[0, 2] == pytest.approx(np.corrcoef(errors[0], errors[2])[0, 1])
    text = lines[0]
    assert "ensemble (mean)" in text and "gain over the best member" in text and "disagreement" in text
    json.dumps(report.to_dict())


def test_a_far_worse_member_triggers_the_plain_averaging_warning():
    y, preds, members = _members()
    members["awful"] = constant(np.eye(3)[(y + 1) % 3] * 0.97 + 0.01, "awful")  # confidently wrong
    with pytest.warns(EnsembleWarning, match="'awful' is far worse.*fit weights"):
        report = Ensemble(members).report(np.zeros((200, 1)), y, print_fn=None)
    assert len(report.warnings) == 1 and report.gain < 0


def test_regression_report_and_accuracy_metric():
    rng = np.random.RandomState(4)
    y = rng.randn(100)
    members = {"p": constant(y + 0.3 * rng.randn(100), "p"), "q": constant(y + 0.3 * rng.randn(100), "q")}
    report = Ensemble(members, task="regression").report(np.zeros((100, 1)), y, metric="mae", print_fn=None)
    assert report.metric == "mae" and report.disagreement is None and report.accuracy == {}
    assert report.gain > 0
    _, _, cls_members = _members()
    y_cls = np.random.RandomState(0).randint(0, 3, 200)
    with pytest.warns(EnsembleWarning, match="'c'"):  # error rate 0.23 against the others' 0.13
        acc = Ensemble(cls_members).report(np.zeros((200, 1)), y_cls, metric="accuracy", print_fn=None)
    assert acc.greater_is_better and acc.gain == pytest.approx(acc.ensemble_score - max(acc.member_scores.values()))
