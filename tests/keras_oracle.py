"""Keras 3 on the torch backend, imported the one way tests may use it (as an oracle, never by loom)."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

assert keras.backend.backend() == "torch", "tests need KERAS_BACKEND=torch"

__all__ = ["keras"]
