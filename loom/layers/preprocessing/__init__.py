"""Preprocessing layers: adapted state (vocabularies, statistics, bins) and encoders, as Keras's.

The public names are exported from :mod:`loom.layers`; the modules here are the implementation.
"""
