"""Connectionist temporal classification loss (Graves et al., 2006), as ``keras.losses.CTC``.

``y_true`` holds integer labels ``(batch, max_label_length)`` padded with 0, which is also the blank class;
``y_pred`` holds unnormalised logits ``(batch, time, num_classes)``. Every sequence uses all ``time`` steps.

Example:
    >>> import torch
    >>> from loom.losses import CTC
    >>> logits = torch.zeros(1, 4, 3)
    >>> round(float(CTC()(torch.tensor([[1, 2]]), logits)), 4)
    1.6864
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from loom import backend
from loom.errors import InputError
from loom.losses.loss import BuiltinLossWrapper, to_prediction

_DEFAULT = "sum_over_batch_size"


def ctc(y_true: Any, y_pred: Any) -> torch.Tensor:
    """Per-sequence CTC negative log-likelihood (blank and padding label: 0).

    Raises:
        InputError: ``y_true`` is not 2-D or ``y_pred`` not 3-D, or their batch sizes differ.
    """
    y_pred = to_prediction(y_pred)
    y_true = backend.to_tensor(y_true, device=y_pred.device)
    if y_true.dim() != 2:
        raise InputError("ctc: targets `y_true` are expected to be a tensor of shape (batch_size, max_length) in "
                         f"integer format. Received: y_true.shape={tuple(y_true.shape)}")
    if y_pred.dim() != 3 or y_pred.shape[0] != y_true.shape[0]:
        raise InputError("ctc: logits `y_pred` are expected to be a tensor of shape (batch_size, max_length, "
                         f"num_classes) with y_true's batch size. Received: y_pred.shape={tuple(y_pred.shape)}, "
                         f"y_true.shape={tuple(y_true.shape)}")
    labels = y_true.long()
    batch, time = y_pred.shape[0], y_pred.shape[1]
    input_lengths = torch.full((batch,), time, dtype=torch.long, device=y_pred.device)
    label_lengths = (labels != 0).sum(dim=-1)
    log_probs = torch.log_softmax(y_pred.transpose(0, 1), dim=-1)
    return F.ctc_loss(log_probs, labels, input_lengths, label_lengths, blank=0, reduction="none")


class CTC(BuiltinLossWrapper):
    """CTC loss, as ``keras.losses.CTC``.

    Args:
        reduction: Defaults to ``'sum_over_batch_size'``.
        name: Defaults to ``'ctc'``.
        dtype: Defaults to floatx.

    Example:
        >>> CTC().get_config()
        {'name': 'ctc', 'reduction': 'sum_over_batch_size'}
    """

    def __init__(self, reduction: str | None = _DEFAULT, name: str = "ctc", dtype: Any = None):
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)
