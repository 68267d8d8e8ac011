import pytest
import torch

from loom.errors import TrainingError
from loom.training.logs import LazyLogs, RunningLoss


def test_running_loss_weighted_means_and_growth():
    running = RunningLoss(["loss", "a_loss"], capacity=1)
    running.record(torch.tensor(1.0), 3, [torch.tensor(2.0)])
    running.record(torch.tensor(3.0), 1, [torch.tensor(6.0)])
    assert running.count == 2 and running.buffer.shape[0] == 2
    assert running.means() == {"loss": 1.5, "a_loss": 3.0}
    assert running.means(upto=1) == {"loss": 1.0, "a_loss": 2.0}
    assert RunningLoss(["loss"]).means() == {}


def test_non_finite_loss_names_the_first_bad_step():
    running = RunningLoss(["loss"])
    for value in (1.0, float("nan"), 2.0):
        running.record(torch.tensor(value), 1)
    with pytest.raises(TrainingError, match="batch 1"):
        running.means(where=lambda step: f"batch {step}")
    assert running.means(upto=1) == {"loss": 1.0}


def test_lazy_logs_compute_once_on_first_read():
    calls = []
    logs = LazyLogs(lambda: calls.append(1) or {"loss": 0.5})
    assert calls == []
    assert logs["loss"] == 0.5 and logs.get("x") is None and "loss" in logs and len(logs) == 1
    logs["lr"] = 0.1
    assert logs.copy() == {"loss": 0.5, "lr": 0.1} and dict(logs) == logs.copy()
    assert calls == [1]
