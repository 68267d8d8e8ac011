"""``loom tune SCRIPT``, ``loom tune worker SCRIPT`` and ``loom tune status`` (in-process)."""

import os
import textwrap

import pytest

from loom import cli

pytestmark = pytest.mark.filterwarnings("ignore::loom.tuning.tuner.ValidationOverfitWarning")  # tiny searches

SCRIPT = '''
from tests.tuning.digits import build_mlp as build, digits_data

def data():
    (x, y), val, test = digits_data()
    return x[:200], y[:200], val, test

TUNER = dict(objective="val_acc", max_trials=3, pruner=None, seed=0, tensorboard=False)
SEARCH = dict(epochs=1, batch_size=32)
'''


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "my_search.py"
    path.write_text(SCRIPT)
    return path


def test_tune_runs_the_search_reports_and_scores_on_test_data(script, tmp_path, capsys):
    directory = tmp_path / "out"
    assert cli.main(["tune", str(script), "--directory", str(directory), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Search 'my_search': objective val_acc (max), algorithm tpe, 3 trials (3 complete)" in out
    assert "best trial" in out and "validation val_acc=" in out and "test " in out
    assert (directory / "study.db").exists()
    assert (directory / "my_search" / "optimization_history.png").exists()

    assert cli.main(["tune", "worker", str(script), "--directory", str(directory), "--max-trials", "4"]) == 0
    out = capsys.readouterr().out
    assert "[tuner] trial 3 COMPLETE" in out and "has 4 completed trials" in out

    assert cli.main(["tune", "status", "--directory", str(directory), "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "Study 'my_search': objective val_acc (max); 4 trials: 4 complete" in out
    assert len([line for line in out.splitlines() if "COMPLETE" in line]) == 2


def test_options_override_the_script(script, tmp_path, capsys):
    directory = tmp_path / "out"
    assert cli.main(["tune", str(script), "--directory", str(directory), "--study-name", "other", "--algorithm",
                     "random", "--max-trials", "2", "--quiet"]) == 0
    assert "Search 'other': objective val_acc (max), algorithm random, 2 trials" in capsys.readouterr().out


def test_script_errors_are_explained(tmp_path, capsys):
    bad = tmp_path / "bad.py"
    bad.write_text("def build(hp):\n    return None\n")
    assert cli.main(["tune", str(bad)]) == 1
    assert "must define data()" in capsys.readouterr().err
    bad.write_text(textwrap.dedent('''
        def build(hp):
            return None
        def data():
            return 1, 2
    '''))
    assert cli.main(["tune", str(bad), "--directory", str(tmp_path / "d")]) == 1
    assert "(x, y, validation)" in capsys.readouterr().err
    assert cli.main(["tune", "status", "--directory", str(tmp_path / "nowhere")]) == 1
    assert "no study database" in capsys.readouterr().err


def test_worker_refuses_overwrite(script, tmp_path, capsys):
    assert cli.main(["tune", "worker", str(script), "--overwrite", "--directory", str(tmp_path)]) == 1
    assert "delete the shared study" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "my_search")
