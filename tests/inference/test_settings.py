"""Inference settings from the environment (loom/inference/settings.py): read lazily, clear errors."""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

import loom
from loom.inference import settings


def test_the_piece_budget_defaults_and_reads_the_environment(monkeypatch):
    monkeypatch.delenv("LOOM_INFERENCE_CHUNK_BYTES", raising=False)
    assert settings.chunk_bytes() == 16 << 20
    monkeypatch.setenv("LOOM_INFERENCE_CHUNK_BYTES", "0")
    assert settings.chunk_bytes() == 0


@pytest.mark.parametrize("value", ["16MB", "-1", "1.5"])
def test_a_bad_piece_budget_is_a_clear_error_when_a_plan_is_made(value, monkeypatch):
    monkeypatch.setenv("LOOM_INFERENCE_CHUNK_BYTES", value)
    model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
    with pytest.raises(loom.errors.ConfigError, match=f"LOOM_INFERENCE_CHUNK_BYTES must be a whole number.*'{value}'"):
        model.predict(np.ones((2, 2), "float32"), verbose=0)


def test_import_never_reads_it():
    root = pathlib.Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", "import loom; print('imported')"], capture_output=True, text=True,
                         timeout=300, cwd=root, env={"LOOM_INFERENCE_CHUNK_BYTES": "lots", "PATH": ""})
    assert out.stdout.strip() == "imported", out.stderr[-2000:]
