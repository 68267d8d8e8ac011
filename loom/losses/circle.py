"""The Circle loss for metric learning (Sun et al., 2020), as ``keras.losses.Circle``.

Embeddings (rows of ``y_pred``, expected L2-normalised) are compared by cosine distance with every reference
embedding (the batch itself by default); same-label pairs are pulled together and other pairs pushed apart,
each pair weighted by how far it is from its optimum. Samples with no positive or negative pair get loss 0 and,
as in Keras, only samples with a positive loss count in the ``'sum_over_batch_size'`` mean.

Example:
    >>> import torch
    >>> from loom.losses import Circle
    >>> emb = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [0.9, 0.2], [0.0, 1.0]]), dim=1)
    >>> float(Circle()(torch.tensor([0, 0, 1]), emb)) > 0
    True
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom import backend
from loom.errors import InputError
from loom.losses.loss import BuiltinLossWrapper, reduce_weighted_values, to_prediction

_DEFAULT = "sum_over_batch_size"


def _pair_masks(labels: torch.Tensor, ref_labels: torch.Tensor, remove_diagonal: bool
                ) -> tuple[torch.Tensor, torch.Tensor]:
    positive = labels.reshape(-1, 1) == ref_labels.reshape(1, -1)
    negative = ~positive
    if remove_diagonal:
        positive = positive & ~torch.eye(*positive.shape, dtype=torch.bool, device=positive.device)
    return positive, negative


def circle(y_true: Any, y_pred: Any, ref_labels: Any = None, ref_embeddings: Any = None,
           remove_diagonal: bool = True, gamma: float = 80, margin: float = 0.4) -> torch.Tensor:
    """Per-sample Circle loss.

    Args:
        y_true: Integer labels, shape ``(batch,)`` (or ``(batch, 1)``).
        y_pred: Embeddings, shape ``(batch, dim)``, expected L2-normalised.
        ref_labels: Labels of the reference embeddings; defaults to None (``y_true``).
        ref_embeddings: Reference embeddings ``(n, dim)``; defaults to None (``y_pred``).
        remove_diagonal: Do not pair a sample with itself. Defaults to True.
        gamma: Scale factor. Defaults to 80.
        margin: Relaxation margin. Defaults to 0.4.

    Raises:
        InputError: ``y_pred`` is not 2-D or its rows do not match the labels.
    """
    y_pred = to_prediction(y_pred)
    labels = backend.to_tensor(y_true, device=y_pred.device).reshape(-1).to(torch.int32)
    if y_pred.dim() != 2 or y_pred.shape[0] != labels.shape[0]:
        raise InputError(f"circle needs embeddings of shape (batch, dim) and one label per row. Received: "
                         f"y_true.shape={tuple(backend.to_tensor(y_true).shape)}, y_pred.shape={tuple(y_pred.shape)}.")
    refs = y_pred if ref_embeddings is None else backend.to_tensor(ref_embeddings, dtype=y_pred.dtype,
                                                                   device=y_pred.device)
    ref_labels = labels if ref_labels is None else backend.to_tensor(ref_labels, device=y_pred.device).to(torch.int32)
    distances = torch.clamp_min(1 - y_pred @ refs.T, 0.0)
    positive, negative = _pair_masks(labels, ref_labels, remove_diagonal)
    pos_weights = torch.clamp_min((margin + distances) * positive.to(distances.dtype), 0.0)
    neg_weights = torch.clamp_min((1 + margin - distances) * negative.to(distances.dtype), 0.0)
    pos_terms = -gamma * pos_weights * (margin - distances)
    neg_terms = gamma * neg_weights * ((1 - margin) - distances)
    minus_inf = torch.tensor(float("-inf"), dtype=distances.dtype, device=distances.device)
    p_loss = torch.logsumexp(torch.where(positive, pos_terms, minus_inf), dim=1)
    n_loss = torch.logsumexp(torch.where(negative, neg_terms, minus_inf), dim=1)
    return F.softplus(p_loss + n_loss)


class Circle(BuiltinLossWrapper):
    """The Circle loss, as ``keras.losses.Circle`` (labels as ``y_true``, embeddings as ``y_pred``).

    Args:
        gamma: Scale factor. Defaults to 80.0.
        margin: Relaxation margin. Defaults to 0.4.
        remove_diagonal: Do not pair a sample with itself. Defaults to True.
        reduction: Defaults to ``'sum_over_batch_size'`` (over the samples with a positive loss).
        name: Defaults to ``'circle'``.
        dtype: Defaults to floatx.

    Example:
        >>> Circle(gamma=64.0).get_config()["margin"]
        0.4
    """

    _config_options = ("gamma", "margin", "remove_diagonal")

    def __init__(self, gamma: float = 80.0, margin: float = 0.4, remove_diagonal: bool = True,
                 reduction: str | None = _DEFAULT, name: str = "circle", dtype: Any = None):
        super().__init__(circle, reduction=reduction, name=name, dtype=dtype, gamma=gamma, margin=margin,
                         remove_diagonal=remove_diagonal)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
        y_pred = to_prediction(y_pred, self._dtype)
        values = self.call(backend.to_tensor(y_true, device=y_pred.device), y_pred)
        positive = values > 0
        return reduce_weighted_values(values, sample_weight, positive if mask is None else mask & positive,
                                      self.reduction)
