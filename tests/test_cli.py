"""The ``loom`` command: ``loom demo --quick`` end to end on real Fashion-MNIST, ``summary``, ``version``."""

import os
import subprocess
import sys

import pytest

from loom import cli

FASHION = "/usr/share/datasets/fashion-mnist"


def test_version(capsys):
    assert cli.main(["version"]) == 0
    assert "loom" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir(FASHION), reason="needs the dataset-fashion-mnist Debian package")
def test_demo_quick_runs_every_step(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "loom.cli", "demo", "--quick", "--workdir", str(tmp_path / "w")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "test accuracy" in proc.stdout
    assert "identical predictions: True" in proc.stdout
    assert "loom demo finished" in proc.stdout


def test_demo_without_data_explains_how_to_get_it(tmp_path, capsys):
    assert cli.main(["demo", "--quick", "--data", str(tmp_path), "--workdir", str(tmp_path / "w")]) == 1
    assert "dataset-fashion-mnist" in capsys.readouterr().err


def test_summary_of_saved_model(tmp_path, capsys):
    import loom
    x = loom.Input((4,))
    model = loom.Model(x, loom.layers.Dense(2, name="out")(x))
    model.save(tmp_path / "m.loom")
    assert cli.main(["summary", str(tmp_path / "m.loom")]) == 0
    assert "out (Dense)" in capsys.readouterr().out
