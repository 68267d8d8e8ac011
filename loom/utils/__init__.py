"""Utilities: seeding, array helpers (and, later, plot_model)."""

from loom.utils.seeding import set_random_seed

__all__ = ["set_random_seed"]
