"""Preprocessing layers: adapted state (vocabularies, statistics, bins) and encoders, as Keras's: text and
structured data here, images in ``image/``, audio in ``audio/``.

The public names are exported from :mod:`loom.layers`; the modules here are the implementation.
"""
