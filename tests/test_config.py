"""loom.config and loom.backend against keras.config / keras.backend."""

import pytest

import loom
from loom import backend, config
from loom.errors import ConfigError
from tests.keras_oracle import keras


def test_defaults_match_keras():
    for name in ("backend", "floatx", "epsilon", "image_data_format", "is_interactive_logging_enabled",
                 "is_traceback_filtering_enabled", "is_flash_attention_enabled", "is_nnx_enabled", "max_epochs",
                 "max_steps_per_epoch"):
        assert getattr(config, name)() == getattr(keras.config, name)(), name
    assert config.dtype_policy().name == keras.config.dtype_policy().name


@pytest.mark.parametrize("getter,setter,value,bad", [
    ("floatx", "set_floatx", "float64", "float8"),
    ("image_data_format", "set_image_data_format", "channels_first", "nhwc"),
    ("max_epochs", "set_max_epochs", 3, -1),
    ("max_steps_per_epoch", "set_max_steps_per_epoch", 5, 0.5),
])
def test_setters_round_trip_and_validate(getter, setter, value, bad):
    old = getattr(config, getter)()
    try:
        getattr(config, setter)(value)
        assert getattr(config, getter)() == value
        assert getattr(backend, getter, getattr(config, getter))() == value
    finally:
        getattr(config, setter)(old)
    with pytest.raises(ConfigError):
        getattr(config, setter)(bad)


def test_switches_round_trip():
    for on, off, read in (("enable_interactive_logging", "disable_interactive_logging",
                           "is_interactive_logging_enabled"),
                          ("enable_traceback_filtering", "disable_traceback_filtering",
                           "is_traceback_filtering_enabled"),
                          ("enable_flash_attention", "disable_flash_attention", "is_flash_attention_enabled")):
        getattr(config, off)()
        assert getattr(config, read)() is False
        getattr(config, on)()
        assert getattr(config, read)() is True
    config._state["flash_attention"] = None


def test_epsilon_reaches_constraints():
    import torch
    config.set_epsilon(1.0)
    try:
        out = loom.constraints.UnitNorm()(torch.tensor([[3.0], [4.0]]))
    finally:
        config.set_epsilon(1e-7)
    assert torch.allclose(out.flatten(), torch.tensor([0.5, 2 / 3]))


def test_set_backend_only_torch():
    config.set_backend("torch")
    with pytest.raises(ConfigError, match="torch"):
        config.set_backend("jax")


def test_image_data_format_is_the_layers_default():
    config.set_image_data_format("channels_first")
    try:
        layer = loom.layers.Conv2D(4, 3)
    finally:
        config.set_image_data_format("channels_last")
    assert layer.data_format == "channels_first"
    assert loom.layers.Conv2D(4, 3).data_format == "channels_last"


def test_set_dtype_policy_through_config():
    config.set_dtype_policy("mixed_bfloat16")
    try:
        assert loom.mixed_precision.global_policy().compute_dtype == "bfloat16"
    finally:
        config.set_dtype_policy("float32")


def test_get_uid_and_clear_session_as_keras():
    for lib in (keras, loom):
        lib.backend.clear_session()
    assert [backend.get_uid("x"), backend.get_uid("x")] == [keras.backend.get_uid("x"), keras.backend.get_uid("x")]
    assert loom.layers.Dense(2).name == keras.layers.Dense(2).name
    backend.clear_session(free_memory=False)
    keras.backend.clear_session()
    assert loom.layers.Dense(2).name == keras.layers.Dense(2).name == "dense"


def test_is_keras_tensor():
    assert backend.is_keras_tensor(loom.Input((2,)))
    assert not backend.is_keras_tensor(1.0)


def test_max_epochs_and_steps_cap_fit_as_keras():
    import numpy as np
    x, y = np.ones((100, 2), "float32"), np.ones((100, 1), "float32")
    config.set_max_epochs(2)
    config.set_max_steps_per_epoch(3)
    try:
        model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        with pytest.warns(UserWarning) as record:
            history = model.fit(x, y, epochs=5, batch_size=10, verbose=0)
    finally:
        config.set_max_epochs(None)
        config.set_max_steps_per_epoch(None)
    assert len(history.history["loss"]) == 2
    assert model.optimizer.iterations == 6
    messages = " ".join(str(w.message) for w in record)
    assert "Limiting epochs to 2" in messages and "Limiting steps_per_epoch to 3" in messages


def test_disabled_interactive_logging_sends_progress_to_logging(capsys, caplog):
    import logging

    import numpy as np
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    config.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="loom"):
            model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=2)
    finally:
        config.enable_interactive_logging()
    assert "loss" not in capsys.readouterr().out
    assert any("loss" in r.getMessage() for r in caplog.records)
