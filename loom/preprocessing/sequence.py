"""``keras.preprocessing.sequence``: ``pad_sequences`` (see :mod:`loom.datasets.sequence`).

Example:
    >>> pad_sequences([[1, 2, 3]], maxlen=2, truncating="post").tolist()
    [[1, 2]]
"""

from loom.datasets.sequence import pad_sequences

__all__ = ["pad_sequences"]
