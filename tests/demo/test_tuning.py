"""Demo step 'tuning': a short TPE search on Fashion-MNIST that leaves its tuner on the context."""

import os

import pytest

from loom.demo import tuning
from loom.demo.context import DemoContext

FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not os.path.isdir(FASHION), reason="needs the dataset-fashion-mnist Debian package")
def test_quick_tuning_step(tmp_path, capsys):
    ctx = DemoContext.load(quick=True, data_dir=None, workdir=str(tmp_path))
    tuning.run(ctx)
    out = capsys.readouterr().out
    assert "best params:" in out and "test accuracy" in out
    assert 0.3 < ctx.results["tuning_best_val_acc"] <= 1.0 and 0.3 < ctx.results["tuning_test_acc"] <= 1.0
    assert len(ctx.tuner.completed_trials) == tuning.QUICK[2]
    assert ctx.tuner.validation_data[0].shape == (tuning.QUICK[1], 28, 28)
    model = ctx.tuner.best_model()
    assert model.predict(ctx.x_test[:4], verbose=0).shape == (4, 10)
