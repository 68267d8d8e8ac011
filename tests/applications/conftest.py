"""Fixtures of the application tests."""

import pytest
import torch

import loom


@pytest.fixture
def meta_count():
    """``meta_count(fn, **kwargs)``: the parameter count of ``fn(weights=None, **kwargs)`` built on torch's
    ``meta`` device (shapes only: no memory, no initialization), so the largest networks count in seconds."""
    def count(fn, **kwargs):
        loom.backend.clear_session()
        with torch.device("meta"):
            return fn(weights=None, **kwargs).count_params()
    return count
