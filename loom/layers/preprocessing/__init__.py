"""Keras's preprocessing layers: text and structured data here, images in ``image/``, audio in ``audio/``."""
