"""Results: ranking (minimize / maximize, finished first) and the printed table."""

import math

from loom.tuning.results import TrialResult, format_table, rank


def _trials():
    return [TrialResult(0, "COMPLETE", 0.3, {"units": 8}), TrialResult(1, "FAIL", None, {"units": 16}),
            TrialResult(2, "COMPLETE", 0.1, {"units": 32, "extra": True}), TrialResult(3, "PRUNED", 0.05, {}),
            TrialResult(4, "COMPLETE", math.nan, {}), TrialResult(5, "RUNNING", None, {"units": 4})]


def test_rank_puts_completed_best_first_then_pruned_then_the_rest():
    assert [t.number for t in rank(_trials(), "min")] == [2, 0, 4, 3, 5, 1]
    assert [t.number for t in rank(_trials(), "max")] == [0, 2, 4, 3, 5, 1]


def test_format_table_has_a_column_per_parameter_and_a_row_per_trial():
    table = format_table(rank(_trials(), "min"), "val_loss", top=3)
    lines = table.splitlines()
    assert lines[0].split() == ["trial", "state", "val_loss", "best_epoch", "epochs", "seconds", "units", "extra"]
    assert len(lines) == 4 and lines[1].split() == ["2", "COMPLETE", "0.1000", "32", "True"]
    assert "nan" in lines[3]


def test_as_row_is_flat():
    row = TrialResult(7, "COMPLETE", 0.5, {"lr": 0.01}, best_epoch=3, epochs_run=4, seconds=1.234).as_row("val_acc")
    assert row == {"trial": 7, "state": "COMPLETE", "val_acc": 0.5, "best_epoch": 3, "epochs": 4, "seconds": 1.23,
                   "lr": 0.01}
