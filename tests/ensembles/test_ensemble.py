import numpy as np
import pytest
import torch

import loom
from loom.ensembles import CallableMember, Ensemble
from loom.errors import ConfigError, InputError
from tests.ensembles.helpers import constant, noisy_member, random_probabilities


def _softmax_model(seed: int) -> loom.Model:
    loom.utils.set_random_seed(seed)
    inputs = loom.Input((6,))
    return loom.Model(inputs, loom.layers.Dense(4, activation="softmax")(inputs), name=f"model_{seed}")


def test_weighted_average_reproduces_the_books_formula_exactly():
    rng = np.random.RandomState(0)
    a, b, c, d = (random_probabilities(rng, 50, 10) for _ in range(4))
    ens = Ensemble([constant(p, n) for p, n in zip((a, b, c, d), "abcd")], weights=[0.5, 0.25, 0.1, 0.15])
    a, b, c, d = (p.astype(np.float64) for p in (a, b, c, d))
    expected = 0.5 * a + 0.25 * b + 0.1 * c + 0.15 * d
    assert ens.method == "weighted"
    assert np.array_equal(ens.predict(np.zeros((50, 1))), expected)


def test_weighted_loom_models_match_their_own_predictions():
    models = [_softmax_model(seed) for seed in range(4)]
    x = np.random.RandomState(1).rand(20, 6).astype("float32")
    a, b, c, d = (m.predict(x, verbose=0).astype(np.float64) for m in models)
    ens = Ensemble(models, method="weighted", weights=[0.5, 0.25, 0.1, 0.15])
    assert ens.task == "auto"
    assert np.array_equal(ens.predict(x), 0.5 * a + 0.25 * b + 0.1 * c + 0.15 * d)
    assert ens.task == "classification" and ens.names == [f"model_{i}" for i in range(4)]


def test_mean_and_normalized_weights():
    rng = np.random.RandomState(2)
    a, b = random_probabilities(rng, 10, 3).astype(np.float64), random_probabilities(rng, 10, 3).astype(np.float64)
    x = np.zeros((10, 1))
    mean = Ensemble([constant(a, "a"), constant(b, "b")]).predict(x)
    np.testing.assert_allclose(mean, (a + b) / 2, rtol=1e-12)
    doubled = Ensemble([constant(a, "a"), constant(b, "b")], weights=[2, 6]).predict(x)
    np.testing.assert_allclose(doubled, 0.25 * a + 0.75 * b, rtol=1e-12)


def test_hard_vote_and_weighted_vote():
    one_hot = np.eye(3)
    a = one_hot[[0, 0, 1, 2]]
    b = one_hot[[0, 1, 1, 1]]
    c = one_hot[[1, 1, 2, 1]]
    members = [constant(p, n) for p, n in zip((a, b, c), "abc")]
    x = np.zeros((4, 1))
    votes = Ensemble(members, method="vote").predict(x)
    np.testing.assert_allclose(votes[0], [2 / 3, 1 / 3, 0])
    assert Ensemble(members, method="vote").predict_classes(x).tolist() == [0, 1, 1, 1]
    weighted = Ensemble(members, method="vote", weights=[0.1, 0.1, 0.8])
    assert weighted.predict_classes(x).tolist() == [1, 1, 2, 1]


def test_regression_task_is_detected_and_averaged():
    x = np.arange(10.0).reshape(5, 2)
    ens = Ensemble({"sum": lambda x: x.sum(1), "twice": lambda x: 2 * x[:, :1]})
    out = ens.predict(x)
    assert ens.task == "regression" and out.shape == (5, 1)
    np.testing.assert_allclose(out[:, 0], (x.sum(1) + 2 * x[:, 0]) / 2)
    assert ens.evaluate(x, (x.sum(1) + 2 * x[:, 0]) / 2, metric="mae") == pytest.approx(0.0)


def test_torch_module_member_returning_logits_is_softmaxed():
    torch.manual_seed(0)
    module = torch.nn.Linear(5, 3)
    x = np.random.RandomState(3).rand(7, 5).astype("float32")
    ens = Ensemble([module], task="classification")
    expected = torch.softmax(module(torch.from_numpy(x)), -1).detach().numpy()
    np.testing.assert_allclose(ens.predict(x), expected, rtol=1e-5, atol=1e-7)


def test_binary_sigmoid_column_becomes_two_columns():
    p = np.array([[0.2], [0.9]])
    out = Ensemble([constant(p, "sig")], task="classification").predict(np.zeros((2, 1)))
    np.testing.assert_allclose(out, [[0.8, 0.2], [0.1, 0.9]])


def test_member_predictions_are_computed_once_per_dataset():
    calls = []
    y = np.arange(30) % 3

    def counted(x):
        calls.append(len(x))
        return noisy_member(y[:len(x)], 3, 0.8, 0)

    other = constant(noisy_member(y, 3, 0.6, 1), "other")
    ens = Ensemble({"counted": counted, "other": other})
    x = np.random.RandomState(4).rand(30, 4)
    ens.fit_weights(x, y)
    ens.predict(x)
    ens.report(x, y, print_fn=None)
    ens.evaluate(x.copy(), y)  # same content, another array: still cached
    assert calls == [30]
    x[0, 0] += 1.0  # changed in place: predicted again
    ens.predict(x)
    assert calls == [30, 30]
    ens.clear_cache()
    ens.predict(x)
    assert calls == [30, 30, 30]


def test_one_hot_targets_are_decoded():
    y = np.array([0, 1, 2, 1])
    probs = np.eye(3)[y] * 0.7 + 0.1
    ens = Ensemble([constant(probs, "a")])
    assert ens.evaluate(np.zeros((4, 1)), np.eye(3)[y], metric="accuracy") == 1.0


def test_errors_are_clear():
    p = constant(np.full((3, 2), 0.5), "p")
    with pytest.raises(ConfigError, match="valid"):
        Ensemble([p], method="median")
    with pytest.raises(ConfigError, match="one weight per member"):
        Ensemble([p, p], weights=[1.0])
    with pytest.raises(ConfigError, match="non-negative"):
        Ensemble([p, p], weights=[1.0, -1.0])
    with pytest.raises(ConfigError, match="fit"):
        Ensemble([p, p], method="caruana").predict(np.zeros((3, 1)))
    with pytest.raises(ConfigError, match="Cannot use"):
        Ensemble([42])
    short = constant(np.full((2, 2), 0.5), "short")
    with pytest.raises(InputError, match="line up"):
        Ensemble([p, short]).predict(np.zeros((3, 1)))
    with pytest.raises(InputError, match="rows"):
        Ensemble([p]).evaluate(np.zeros((3, 1)), [0, 1])
    with pytest.raises(InputError, match="NaN"):
        Ensemble([constant(np.full((3, 2), np.nan), "nan")]).predict(np.zeros((3, 1)))


def test_duplicate_names_are_made_unique():
    p = np.full((2, 2), 0.5)
    ens = Ensemble([CallableMember(constant(p, "m")), CallableMember(constant(p, "m")), constant(p, "m_1")])
    assert ens.names == ["m", "m_1", "m_1_1"]
