"""``AdditiveAttention``: Bahdanau-style attention, scores ``sum(scale * tanh(query + key))``.

Example:
    >>> import loom
    >>> q, v = loom.Input((4, 8)), loom.Input((6, 8))
    >>> loom.layers.AdditiveAttention()([q, v]).shape
    (None, 4, 8)
"""

from __future__ import annotations

import torch

from loom.layers.attention.attention import Attention


class AdditiveAttention(Attention):
    """Additive attention layer, a.k.a. Bahdanau-style attention.

    Scores are ``sum(scale * tanh(query + key), -1)`` over the feature axis (without ``scale`` when
    ``use_scale=False``); the output is ``softmax(scores) @ value``, with masks handled as
    :class:`~loom.layers.Attention` does.

    Args:
        use_scale: learn a ``scale`` vector ``(dim,)`` weighting the summed features (default ``True``).
        dropout: dropout rate on the attention weights during training (default 0.0).
        **kwargs: base layer arguments, and ``seed`` (of the dropout).

    Call arguments as :class:`~loom.layers.Attention`.

    Input shape:
        ``query`` ``(batch, Tq, dim)``, ``value`` ``(batch, Tv, vdim)`` and ``key`` ``(batch, Tv, dim)``.

    Output shape:
        ``(batch, Tq, vdim)``; with ``return_attention_scores=True``, also the weights ``(batch, Tq, Tv)``.

    Returns:
        The attention output, or ``(output, weights)`` with ``return_attention_scores=True``.

    Raises:
        ConfigError: a ``dropout`` outside ``[0, 1]``.
        InputError: inputs (or a mask) that are not a list of 2 or 3 tensors.
        ShapeError: query, value and key shapes that do not fit together.

    Example:
        >>> import torch, loom
        >>> layer = loom.layers.AdditiveAttention()
        >>> layer([torch.ones(2, 3, 4), torch.ones(2, 5, 4)]).shape
        torch.Size([2, 3, 4])
        >>> [w.shape for w in layer.get_weights()]
        [(4,)]
    """

    _score_modes = ("dot",)

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._check_inputs(input_shape)
        if self.use_scale:
            self.add_weight("scale", (input_shape[0][-1],), "glorot_uniform")

    def _scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        summed = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        return (self.scale * summed).sum(-1) if self.use_scale else summed.sum(-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
