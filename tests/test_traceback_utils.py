"""Traceback filtering: loom's internal frames leave tracebacks unless disabled, as Keras."""

import traceback

import numpy as np
import pytest

import loom
from loom import config
from loom.traceback_utils import is_internal


class Exploding(loom.layers.Layer):
    def call(self, inputs):
        raise RuntimeError("boom in user code")


def _frames(error):
    return [(frame.f_code.co_filename, frame.f_code.co_name) for frame, _ in traceback.walk_tb(error.__traceback__)]




@pytest.fixture
def filtering():
    yield
    config.enable_traceback_filtering()


def test_a_user_error_in_fit_keeps_the_users_frames_and_one_of_loom(filtering):
    inputs = loom.Input((3,))
    model = loom.Model(inputs, loom.layers.Dense(2)(inputs))
    model.compile(optimizer="sgd", loss="mse",
                  metrics=[loom.metrics.MeanMetricWrapper(lambda y, p: 1 / 0, name="broken")])
    assert config.is_traceback_filtering_enabled()
    with pytest.raises(ZeroDivisionError) as info:
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    frames = _frames(info.value)
    internal = [f for f in frames if is_internal(f[0])]
    assert len(internal) == 1 and internal[0][0].endswith("traceback_utils.py")
    assert frames[-1][1] == "<lambda>"  # where the error happened, in the user's code
    config.disable_traceback_filtering()
    assert not config.is_traceback_filtering_enabled()
    with pytest.raises(ZeroDivisionError) as info:
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    assert sum(is_internal(f[0]) for f in _frames(info.value)) > 5


def test_a_layer_call_error_shows_the_users_call_and_one_loom_line(filtering):
    with pytest.raises(RuntimeError, match="boom") as info:
        Exploding()(np.ones((2, 3), dtype="float32"))
    frames = _frames(info.value)
    assert [name for path, name in frames if is_internal(path)] == ["__call__"]
    assert frames[-1][1] == "call"


def test_an_error_raised_by_loom_itself_keeps_the_frame_that_raised_it(filtering):
    model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    with pytest.raises(loom.errors.ConfigError, match="compile") as info:
        model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    frames = _frames(info.value)
    assert len(frames) <= 3 and all(is_internal(path) for path, _ in frames[1:])
    assert "Traceback" not in str(info.value)
