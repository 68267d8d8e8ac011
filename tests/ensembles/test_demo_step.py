"""The ``loom demo`` ensemble step (loom/demo/ensemble.py) in quick mode."""

import numpy as np
import pytest

from loom.demo import ensemble as ensemble_step
from loom.demo.context import DemoContext
from loom.errors import DatasetNotFoundError


def _context(tmp_path):
    from loom.datasets import fashion_mnist
    try:
        (x, y), (x_test, y_test) = fashion_mnist.load_data()
    except DatasetNotFoundError:
        pytest.skip("Fashion-MNIST is not installed")
    return DemoContext(x[:3000].astype("float32") / 255, y[:3000].astype("int64"),
                       x_test[:1000].astype("float32") / 255, y_test[:1000].astype("int64"), True, str(tmp_path))


class _Tuner:
    def __init__(self, model):
        self.model = model

    def best_model(self):
        return self.model


def test_quick_demo_step_reports_and_reuses_the_tuned_model(tmp_path, capsys):
    ctx = _context(tmp_path)
    tuned = ensemble_step.build_mlp()
    tuned.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    tuned.fit(ctx.x_train[:1000], ctx.y_train[:1000], epochs=1, verbose=0)
    ctx.tuner = _Tuner(tuned)
    ensemble_step.run(ctx)
    out = capsys.readouterr().out
    assert "tuned_network" in out and "boosted_trees" in out and "predicts identically: True" in out
    assert 0.5 < ctx.results["ensemble_test_acc"] <= 1.0
    assert np.isfinite(ctx.results["ensemble_gain_log_loss"])
    assert (tmp_path / "ensemble.zip").exists()
