"""Learning-rate schedules against keras.optimizers.schedules, plus configs and serialization."""

import pytest

from loom import schedules
from loom.errors import ConfigError
from tests.keras_oracle import keras

CASES = [
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9}),
    ("ExponentialDecay", {"initial_learning_rate": 0.1, "decay_steps": 7, "decay_rate": 0.5, "staircase": True}),
    ("PiecewiseConstantDecay", {"boundaries": [5, 12], "values": [1.0, 0.5, 0.1]}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 8, "end_learning_rate": 0.01, "power": 0.5,
                         "cycle": True}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5}),
    ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 3, "decay_rate": 0.5, "staircase": True}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20}),
    ("CosineDecay", {"initial_learning_rate": 0.1, "decay_steps": 20, "alpha": 0.2}),
    ("CosineDecay", {"initial_learning_rate": 0.0, "decay_steps": 15, "warmup_target": 0.2, "warmup_steps": 5}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 4}),
    ("CosineDecayRestarts", {"initial_learning_rate": 0.1, "first_decay_steps": 4, "t_mul": 1.0, "m_mul": 0.5,
                             "alpha": 0.1}),
]


@pytest.mark.parametrize("cls_name,kwargs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_schedule_matches_keras(cls_name, kwargs):
    ours, theirs = getattr(schedules, cls_name)(**kwargs), getattr(keras.optimizers.schedules, cls_name)(**kwargs)
    for step in range(0, 30):
        value = ours(step)
        assert isinstance(value, float)
        # Keras evaluates in float32; loom in float64 (the cosine tail cancels to ~2e-6 relative in float32).
        assert value == pytest.approx(float(keras.ops.convert_to_numpy(theirs(step))), rel=1e-5, abs=1e-9)
    assert ours.get_config() == theirs.get_config()


@pytest.mark.parametrize("cls_name,kwargs", CASES[::2])
def test_config_and_serialize_round_trip(cls_name, kwargs):
    schedule = getattr(schedules, cls_name)(**kwargs)
    clone = schedules.deserialize(schedules.serialize(schedule))
    assert type(clone) is type(schedule) and clone.get_config() == schedule.get_config()
    assert type(schedule).from_config(schedule.get_config())(9) == schedule(9)


def test_keras_serialized_schedule_loads():
    config = keras.optimizers.schedules.serialize(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    assert schedules.deserialize(config)(10) == pytest.approx(0.05)


@pytest.mark.parametrize("make", [
    lambda: schedules.ExponentialDecay(0.1, 0, 0.5),
    lambda: schedules.CosineDecay(0.1, -1),
    lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1]),
    lambda: schedules.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]),
])
def test_invalid_arguments_are_config_errors(make):
    with pytest.raises(ConfigError):
        make()
