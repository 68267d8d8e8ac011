import pytest

from loom import metrics
from loom.callbacks.monitor import MonitorCallback, infer_mode, is_improvement, monitored_value
from loom.errors import ConfigError


@pytest.mark.parametrize("monitor, mode", [
    ("loss", "min"), ("val_loss", "min"), ("val_output_a_loss", "min"), ("acc", "max"), ("val_acc", "max"),
    ("accuracy", "max"), ("val_sparse_categorical_accuracy", "max"), ("auc", "max"), ("val_auc_1", "max"),
    ("precision", "max"), ("val_recall", "max"), ("mae", "min"), ("val_mean_squared_error", "min"),
    ("val_label_acc", "max"), ("categorical_crossentropy", "min"), ("val_rmse", "min"),
])
def test_infer_mode_from_names(monitor, mode):
    assert infer_mode(monitor) == mode


def test_explicit_mode_wins_and_unknown_names_raise():
    assert infer_mode("val_acc", "min") == "min"
    with pytest.raises(ConfigError, match="mode='min'"):
        infer_mode("val_something")
    with pytest.raises(ConfigError, match="auto"):
        infer_mode("loss", "down")


def test_infer_mode_from_the_models_metric_objects():
    class Weird(metrics.Metric):
        _direction = "up"

    assert infer_mode("val_score", metrics=[metrics.MeanAbsoluteError(name="score")]) == "min"
    assert infer_mode("val_score", metrics=[metrics.AUC(name="score")]) == "max"
    assert infer_mode("val_thing", metrics=[Weird(name="thing")]) == "max"


def test_is_improvement_matches_keras_rule():
    assert is_improvement(1.0, None, "min")
    assert is_improvement(0.98, 1.0, "min", 0.01) and not is_improvement(0.995, 1.0, "min", 0.01)
    assert is_improvement(0.52, 0.5, "max", -0.01) and not is_improvement(0.505, 0.5, "max", 0.01)
    assert not is_improvement(1.0, 1.0, "min") and not is_improvement(float("nan"), 1.0, "min")
    with pytest.raises(ConfigError):
        is_improvement(1.0, 2.0, "auto")


def test_missing_metric_warns_with_available_keys():
    with pytest.warns(UserWarning, match="Available metrics are: loss,acc"):
        assert monitored_value({"loss": 1.0, "acc": 0.5}, "val_loss", "EarlyStopping") is None
    assert monitored_value({"val_loss": 2}, "val_loss", "X") == 2.0


def test_monitor_callback_state_round_trip():
    cb = MonitorCallback("val_acc", min_delta=0.01)
    cb.best = 0.7
    assert cb.direction == "max" and cb.improves(0.75) and not cb.improves(0.705)
    other = MonitorCallback("val_acc")
    other.load_state_dict(cb.state_dict())
    assert other.best == 0.7
    with pytest.raises(ConfigError, match="mode"):
        MonitorCallback(mode="up")
