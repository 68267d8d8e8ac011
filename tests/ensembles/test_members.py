import numpy as np
import pytest
import torch
from sklearn.linear_model import LinearRegression, LogisticRegression

import loom
from loom.ensembles import CallableMember, LoomMember, SklearnMember, TorchMember, as_member
from loom.ensembles.members import to_probabilities, to_targets
from loom.errors import ConfigError, InputError


def test_as_member_picks_the_wrapper():
    inputs = loom.Input((3,))
    model = loom.Model(inputs, loom.layers.Dense(2)(inputs), name="tiny")
    x, y = np.random.RandomState(0).rand(10, 3), np.arange(10) % 2
    assert isinstance(as_member(model), LoomMember) and as_member(model).name == "tiny"
    assert isinstance(as_member(torch.nn.Linear(3, 2)), TorchMember)
    assert isinstance(as_member(LogisticRegression().fit(x, y)), SklearnMember)
    assert isinstance(as_member(LinearRegression().fit(x, y)), SklearnMember)
    assert isinstance(as_member(np.sum), CallableMember)
    member = CallableMember(np.sum)
    assert as_member(member, "renamed") is member and member.name == "renamed"
    with pytest.raises(ConfigError, match="torch.nn.Module"):
        as_member("model.loom")


def test_loom_member_predicts_like_the_model_and_refuses_several_outputs():
    inputs = loom.Input((3,))
    model = loom.Model(inputs, loom.layers.Dense(2, activation="softmax")(inputs))
    x = np.random.RandomState(1).rand(5, 3).astype("float32")
    assert np.array_equal(LoomMember(model).predict(x), model.predict(x, verbose=0))
    two = loom.Model(inputs, [loom.layers.Dense(2)(inputs), loom.layers.Dense(1)(inputs)])
    with pytest.raises(ConfigError, match="several outputs"):
        LoomMember(two).predict(x)


def test_torch_member_batches_without_gradients_and_restores_the_mode():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    module.train()
    x = np.random.RandomState(2).rand(11, 4)  # float64: converted to the parameters' dtype
    out = TorchMember(module).predict(x, batch_size=4)
    module.eval()
    expected = module(torch.from_numpy(x).float()).detach().numpy()
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    module.train()
    TorchMember(module).predict(x)
    assert module.training
    with pytest.raises(ConfigError, match="torch.nn.Module"):
        TorchMember(lambda x: x)


def test_sklearn_member_flattens_and_lines_up_missing_classes():
    rng = np.random.RandomState(3)
    x = rng.rand(40, 2, 3)
    y = np.array([0, 2] * 20)  # class 1 never seen
    member = SklearnMember(LogisticRegression().fit(x.reshape(40, 6), y))
    proba = member.predict(x)
    assert proba.shape == (40, 3) and (proba[:, 1] == 0).all()
    np.testing.assert_allclose(proba.sum(1), 1.0)
    by_features = SklearnMember(LogisticRegression().fit(x[:, 0], y), features=lambda x: x[:, 0])
    assert by_features.predict(x).shape == (40, 3)
    strings = SklearnMember(LogisticRegression().fit(x.reshape(40, 6), np.where(y, "b", "a")))
    with pytest.raises(ConfigError, match="integers"):
        strings.predict(x)
    with pytest.raises(ConfigError, match="n_threads"):
        SklearnMember(LogisticRegression(), n_threads=0)


def test_output_standardization():
    np.testing.assert_allclose(to_probabilities(np.array([0.25, 1.0]), "auto", "m"), [[0.75, 0.25], [0.0, 1.0]])
    np.testing.assert_allclose(to_probabilities(np.array([[0.0]]), "logits", "m"), [[0.5, 0.5]])
    logits = np.array([[1.0, 2.0, -1.0]])
    expected = np.exp(logits) / np.exp(logits).sum()
    np.testing.assert_allclose(to_probabilities(logits, "auto", "m"), expected)
    probs = np.array([[0.2, 0.8]])
    assert to_probabilities(probs, "auto", "m") is not None
    np.testing.assert_allclose(to_probabilities(probs, "probabilities", "m"), probs)
    assert to_targets(np.arange(3), "m").shape == (3, 1)
    with pytest.raises(InputError, match="samples, classes"):
        to_probabilities(np.zeros((2, 2, 2)), "auto", "m")
    with pytest.raises(InputError, match="scalar"):
        to_targets(np.float64(1.0), "m")
    with pytest.raises(ConfigError, match="outputs"):
        CallableMember(np.sum, outputs="scores")
