import os

os.environ.setdefault("KERAS_BACKEND", "torch")
# No test leaves ledgers or builders behind in torch's cache folder; tests/training/test_precompiled_step.py turns
# precompiled steps on where it tests them (with a cache folder of its own).
os.environ.setdefault("LOOM_PRECOMPILE", "0")

import numpy as np
import pytest
import torch

import loom


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same seeds and fresh automatic names."""
    loom.utils.set_random_seed(1234)
    loom.backend.clear_session(free_memory=False)  # a full gc.collect per test would cost ~0.25 s each
    yield
