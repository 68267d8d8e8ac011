"""HyperParameters: defaults outside a search, fixed values, sampling from a trial, conditional spaces, errors."""

import optuna
import pytest

from loom.errors import ConfigError
from loom.tuning import HyperParameters
from loom.tuning.space import grid_space


def declare(hp):
    return (hp.Int("units", 32, 256, step=32), hp.Float("dropout", 0.0, 0.5, step=0.1),
            hp.Float("lr", 1e-4, 1e-2, log=True), hp.Choice("optimizer", ["rmsprop", "adam"]), hp.Boolean("bn"))


def test_defaults_are_low_first_choice_and_false():
    assert declare(HyperParameters()) == (32, 0.0, 1e-4, "rmsprop", False)


def test_explicit_defaults():
    hp = HyperParameters()
    assert hp.Int("units", 32, 256, step=32, default=128) == 128
    assert hp.Float("lr", 1e-4, 1e-2, log=True, default=1e-3) == 1e-3
    assert hp.Choice("optimizer", ["rmsprop", "adam"], default="adam") == "adam"
    assert hp.Boolean("bn", default=True) is True
    assert hp.Fixed("batch_size", 64) == 64
    assert hp.values == {"units": 128, "lr": 1e-3, "optimizer": "adam", "bn": True, "batch_size": 64}


def test_fixed_values_override_defaults_and_are_checked():
    hp = HyperParameters(values={"units": 96, "optimizer": "adam", "bn": True})
    assert declare(hp) == (96, 0.0, 1e-4, "adam", True)
    with pytest.raises(ConfigError, match="not legal"):
        HyperParameters(values={"units": 100}).Int("units", 32, 256, step=32)
    with pytest.raises(ConfigError, match="not legal"):
        HyperParameters(values={"optimizer": "sgd"}).Choice("optimizer", ["rmsprop", "adam"])
    with pytest.raises(ConfigError, match="not legal"):
        HyperParameters(values={"bn": 1}).Boolean("bn")


def test_values_come_from_the_trial_inside_a_search():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = study.ask()
        units, dropout, lr, optimizer, bn = declare(HyperParameters(trial=trial))
        assert units in range(32, 257, 32) and 1e-4 <= lr <= 1e-2 and optimizer in ("rmsprop", "adam")
        assert dropout in (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # on the grid, without rounding noise
        assert isinstance(bn, bool)
        assert trial.params == {"units": units, "dropout": pytest.approx(dropout), "lr": lr, "optimizer": optimizer,
                                "bn": bn}
        study.tell(trial, 0.0)
    assert len({t.params["units"] for t in study.trials}) > 3


def test_conditional_space_only_declares_what_is_used():
    def layer_widths(hp):
        return [hp.Int(f"units_{i}", 8, 64, step=8) for i in range(hp.Int("layers", 1, 3))]

    hp = HyperParameters()
    assert layer_widths(hp) == [8] and list(hp.space) == ["layers", "units_0"]
    hp = HyperParameters(values={"layers": 3, "units_2": 64})
    assert layer_widths(hp) == [8, 8, 64] and list(hp.values) == ["layers", "units_0", "units_1", "units_2"]


def test_asking_twice_returns_the_same_value_but_conflicts_are_errors():
    hp = HyperParameters(values={"units": 64})
    assert hp.Int("units", 32, 256, step=32) == hp.Int("units", 32, 256, step=32) == 64
    assert hp.get("units") == 64
    with pytest.raises(ConfigError, match="declared twice"):
        hp.Int("units", 32, 512, step=32)
    with pytest.raises(ConfigError, match="not been declared"):
        hp.get("lr")


@pytest.mark.parametrize("declare_bad, message", [
    (lambda hp: hp.Int("u", 10, 1), "must not exceed"),
    (lambda hp: hp.Int("u", 1, 8, step=1.5), "must be an int"),
    (lambda hp: hp.Int("u", 2, 8, step=0.5, sampling="log"), "must be an int"),
    (lambda hp: hp.Float("lr", 0.0, 1.0, log=True), "min_value > 0"),
    (lambda hp: hp.Float("lr", 0.1, 1.0, step=0.5, sampling="log"), "must be > 1"),
    (lambda hp: hp.Float("lr", 0.1, 1.0, sampling="reverse_log"), "reverse_log"),
    (lambda hp: hp.Float("lr", 0.1, 1.0, sampling="exp"), "sampling must be one of"),
    (lambda hp: hp.Float("lr", 0.1, low=0.2, max_value=1.0), "not both"),
    (lambda hp: hp.Int("u", max_value=3), "min_value is required"),
    (lambda hp: hp.Int("u", 1, 3, parent_name="missing", parent_values=[1]), "declared first"),
    (lambda hp: hp.Int("u", 1, 3, parent_values=[1]), "needs parent_name"),
    (lambda hp: hp.Float("lr", 0.1, 1.0, step=-1), "positive"),
    (lambda hp: hp.Choice("act", []), "non-empty"),
    (lambda hp: hp.Choice("act", ["relu", "relu"]), "duplicates"),
    (lambda hp: hp.Choice("shape", [(1, 2), (3, 4)]), "None, bool, int, float or str"),
    (lambda hp: hp.Choice("act", ["relu", "tanh"], default="gelu"), "default"),
    (lambda hp: hp.Int("", 1, 2), "non-empty string"),
])
def test_bad_declarations_raise_clear_errors(declare_bad, message):
    with pytest.raises(ConfigError, match=message):
        declare_bad(HyperParameters())


def test_grid_space_lists_every_value():
    hp = HyperParameters()
    hp.Int("units", 32, 96, step=32)
    hp.Float("dropout", 0.0, 0.4, step=0.2)
    hp.Choice("act", ["relu", "tanh"])
    hp.Boolean("bn")
    assert grid_space(hp.space) == {"units": [32, 64, 96], "dropout": [0.0, 0.2, 0.4], "act": ["relu", "tanh"],
                                    "bn": [False, True]}
    hp.Float("lr", 1e-4, 1e-2, log=True)
    with pytest.raises(ConfigError, match="step"):
        grid_space(hp.space)


def test_kerastuner_steps_truncate_linear_ranges_and_multiply_on_log_scales():
    hp = HyperParameters()
    hp.Int("layers", 6, 13, step=3)
    hp.Int("batch", 16, 128, step=2, sampling="log")
    hp.Float("lr", 1e-4, 1e-1, step=10, sampling="log")
    hp.Float("rate", 0.0, 0.5, step=0.2)
    hp.Int("width", 1, 100, sampling="log")
    grid = grid_space({k: v for k, v in hp.space.items() if k != "width"})
    assert grid == {"layers": [6, 9, 12], "batch": [16, 32, 64, 128], "lr": [1e-4, 1e-3, 1e-2, 1e-1],
                    "rate": [0.0, 0.2, 0.4]}
    assert hp.space["width"].contains(37) and not hp.space["batch"].contains(48)
    with pytest.raises(ConfigError, match="not legal"):
        HyperParameters(values={"layers": 13}).Int("layers", 6, 13, step=3)


def test_nested_conditional_scopes_need_every_parent_value():
    def build(hp):
        kind = hp.Choice("kind", ["mlp", "cnn"])
        with hp.conditional_scope("kind", "cnn"):  # one value works as a list of one
            pooling = hp.Boolean("pooling")
            with hp.conditional_scope("pooling", [True]):
                size = hp.Int("pool_size", 2, 4)
        return kind, pooling, size

    assert build(HyperParameters()) == ("mlp", None, None)
    assert build(HyperParameters(values={"kind": "cnn"})) == ("cnn", False, None)
    hp = HyperParameters(values={"kind": "cnn", "pooling": True, "pool_size": 3})
    assert build(hp) == ("cnn", True, 3) and hp.space["pool_size"].conditions == (("kind", ("cnn",)),
                                                                                   ("pooling", (True,)))
    with pytest.raises(ConfigError, match=r"\['rnn'\] are not values of 'kind'"):
        with hp.conditional_scope("kind", ["rnn"]):
            pass


def test_inactive_parameters_are_not_sampled():
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen = set()
    for _ in range(12):
        trial = study.ask()
        hp = HyperParameters(trial=trial)
        kind = hp.Choice("kind", ["mlp", "cnn"])
        filters = hp.Int("filters", 8, 32, step=8, parent_name="kind", parent_values=["cnn"])
        assert (filters is None) == (kind == "mlp") and ("filters" in trial.params) == (kind == "cnn")
        seen.add(kind)
        study.tell(trial, 0.0)
    assert seen == {"mlp", "cnn"}
