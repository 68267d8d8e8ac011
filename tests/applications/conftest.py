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


@pytest.fixture
def empty_keras_cache(tmp_path, monkeypatch):
    """Keras's cache is the empty folder ``tmp_path``: ``weights='imagenet'`` finds no file there (and the error
    says which one it needs)."""
    from loom.applications import keras_weights
    monkeypatch.setattr(keras_weights, "keras_cache_dirs", lambda: [str(tmp_path)])
    return tmp_path
