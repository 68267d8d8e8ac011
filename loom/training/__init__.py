"""Training: the loop (:mod:`loom.training.trainer`), data adapters, compile resolution, step builders."""

from loom.training.trainer import Trainable

__all__ = ["Trainable"]
