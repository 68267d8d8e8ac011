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
    assert "saved as a Keras 3 archive" in proc.stdout and "reloaded predictions identical: True" in proc.stdout
    assert (tmp_path / "w" / "keras3_program.keras").exists()
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


@pytest.mark.parametrize("chain", [(".keras", ".loom", ".h5", ".keras"), (".h5", ".keras", ".loom")])
def test_convert_between_formats_keeps_predictions(chain, tmp_path, capsys):
    import numpy as np

    import loom
    x = loom.Input((4,))
    model = loom.Model(x, loom.layers.Dense(2, name="out")(loom.layers.Dense(3, activation="relu")(x)))
    model.compile(optimizer="adam", loss="mse")
    data = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    paths = [str(tmp_path / f"m{i}{suffix}") for i, suffix in enumerate(chain)]
    model.save(paths[0])
    for src, dst in zip(paths, paths[1:]):
        assert cli.main(["convert", src, dst]) == 0
        out = capsys.readouterr().out
        assert "out (Dense)" in out and f"-> {dst}" in out
    final = loom.models.load_model(paths[-1])
    np.testing.assert_allclose(final.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6, atol=1e-6)
    assert final.optimizer is not None


def test_convert_refuses_unsafe_files_with_a_message(tmp_path, capsys):
    from tests.keras_oracle import keras
    x = keras.Input((3,))
    keras.Model(x, keras.layers.Lambda(lambda t: t + 1)(x)).save(str(tmp_path / "lam.keras"))
    assert cli.main(["convert", str(tmp_path / "lam.keras"), str(tmp_path / "out.loom")]) == 1
    assert "Lambda" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "out.loom")
