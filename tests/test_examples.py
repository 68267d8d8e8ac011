"""Every example in examples/ runs with --smoke (as CI does)."""

import os
import pathlib
import subprocess
import sys

import pytest

_DIR = pathlib.Path(__file__).parent.parent / "examples"
# Every example, except those run (with their own assertions) by tests/training/test_custom_step.py and
# tests/tuning/test_kerastuner.py.
RUN_ELSEWHERE = {"custom_train_step.py", "kerastuner_search.py"}
EXAMPLES = sorted(p for p in _DIR.glob("*.py") if not p.name.startswith("_") and p.name not in RUN_ELSEWHERE)


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_with_smoke(script, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(script.parent.parent)}
    proc = subprocess.run([sys.executable, str(script), "--smoke"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{script.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
