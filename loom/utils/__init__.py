"""Utilities: seeding, label encoding, sequence padding, model plots."""

from loom.datasets.sequence import pad_sequences
from loom.utils.numpy_utils import normalize, to_categorical
from loom.utils.plotting import model_to_dot, plot_model
from loom.utils.seeding import set_random_seed

__all__ = ["model_to_dot", "normalize", "pad_sequences", "plot_model", "set_random_seed", "to_categorical"]
