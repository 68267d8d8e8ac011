"""Utilities: seeding, label encoding, sequence padding (and, later, plot_model)."""

from loom.datasets.sequence import pad_sequences
from loom.utils.numpy_utils import normalize, to_categorical
from loom.utils.seeding import set_random_seed

__all__ = ["normalize", "pad_sequences", "set_random_seed", "to_categorical"]
