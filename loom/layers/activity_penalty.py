"""``ActivityPenalty``: Keras's ``activity_regularizer``, shared by the layers that take one.

Keras adds ``activity_regularizer(output) / batch_size`` of the layer's last call to ``layer.losses``. A
layer that takes the argument mixes this class in before ``Layer``, stores the regularizer (or ``None``) as
``self.activity_regularizer`` and passes its outputs to :meth:`ActivityPenalty._penalize_activity` in
``call``. Shape inference on ``meta`` tensors records nothing.

Example:
    >>> import torch, loom
    >>> layer = loom.layers.Dense(2, kernel_initializer="ones", activity_regularizer=loom.regularizers.L1(0.5))
    >>> _ = layer(torch.ones(4, 3))
    >>> round(layer.losses[0].item(), 4)  # 0.5 * sum(|outputs|) / batch = 0.5 * 24 / 4
    3.0
"""

from __future__ import annotations

import torch

__all__ = ["ActivityPenalty"]


class ActivityPenalty:
    """Mixin: the activity penalty of the last call, reported in ``losses`` after the weight penalties.

    Example:
        >>> import loom
        >>> isinstance(loom.layers.Conv2D(2, 3), ActivityPenalty)
        True
    """

    _activity_loss: torch.Tensor | None = None

    def _penalize_activity(self, *outputs: torch.Tensor) -> None:
        """Record ``sum(activity_regularizer(o) / batch_size of o)`` over ``outputs`` (when a regularizer is set)."""
        if self.activity_regularizer is None or outputs[0].device.type == "meta":
            return
        penalties = [self.activity_regularizer(o) / max(o.shape[0], 1) for o in outputs]
        self._activity_loss = sum(penalties[1:], penalties[0])

    def _collect_losses(self) -> list[torch.Tensor]:
        """Weight penalties, plus the activity penalty of the last call (when ``activity_regularizer``)."""
        own = [self._activity_loss] if self._activity_loss is not None else []
        return super()._collect_losses() + own
