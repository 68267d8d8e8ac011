"""Attention layers: ``MultiHeadAttention``, ``GroupQueryAttention``, ``Attention``, ``AdditiveAttention``.

Example:
    >>> import loom
    >>> q = loom.Input((4, 8))
    >>> loom.layers.Attention()([q, q]).shape
    (None, 4, 8)
"""

from loom.layers.attention.additive_attention import AdditiveAttention
from loom.layers.attention.attention import Attention
from loom.layers.attention.grouped_query_attention import GroupedQueryAttention, GroupQueryAttention
from loom.layers.attention.multi_head_attention import MultiHeadAttention
