import os

import numpy as np

from loom.demo import callbacks_tensorboard
from loom.demo.context import DemoContext


def test_step_trains_with_callbacks_and_writes_logs_checkpoint_and_plot(tmp_path, capsys):
    rng = np.random.default_rng(0)
    ctx = DemoContext(rng.random((256, 28, 28), dtype=np.float32), rng.integers(0, 10, 256),
                      rng.random((64, 28, 28), dtype=np.float32), rng.integers(0, 10, 64), quick=True,
                      workdir=str(tmp_path))
    callbacks_tensorboard.run(ctx)
    out = capsys.readouterr().out
    log_dir = tmp_path / "logs" / "callbacks"
    assert f"loom board {log_dir}" in out
    assert sorted(os.listdir(log_dir)) == ["train", "validation"]
    assert (tmp_path / "checkpoints" / "best.loom").exists()
    assert (tmp_path / "callbacks_model.png").read_bytes().startswith(b"\x89PNG")
    assert 0.0 <= ctx.results["callbacks_test_acc"] <= 1.0
