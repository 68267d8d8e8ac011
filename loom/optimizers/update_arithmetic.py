"""Arithmetic the algorithms share: :class:`UpdateArithmetic`, a mixin of :class:`~loom.optimizers.Optimizer`.

The helpers a subclass's ``_update`` and ``_rates`` call: multi-tensor ``torch._foreach_*`` updates whose scale
is a float when the update runs eagerly and a 0-d tensor inside a compiled train step
(:meth:`UpdateArithmetic._add_scaled_`, :meth:`UpdateArithmetic._addcdiv_scaled_`), the moving average of
squares that Adam, RMSprop and Adadelta keep, and the NumPy scalar type that reproduces Keras's rounding of
step-size scalars.

It is separate from the base class because these are the algorithms' toolbox, not part of the optimizer's
lifecycle or of the order of an update.

Example:
    >>> import torch
    >>> targets = [torch.zeros(2)]
    >>> UpdateArithmetic._add_scaled_(targets, [torch.ones(2)], 0.5)
    >>> UpdateArithmetic._add_scaled_(targets, [torch.ones(2)], torch.tensor(0.25))
    >>> targets[0]
    tensor([0.7500, 0.7500])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class UpdateArithmetic:
    """Mixin: multi-tensor update helpers for ``_update`` and the scalar type for ``_rates``."""

    @staticmethod
    def _add_scaled_(targets: list, tensors: list, scale: Any) -> None:
        """``targets += scale * tensors`` for a float ``scale`` or a 0-d tensor one (inside a compiled step)."""
        if isinstance(scale, torch.Tensor):
            torch._foreach_add_(targets, torch._foreach_mul(tensors, scale))
        else:
            torch._foreach_add_(targets, tensors, alpha=scale)

    @staticmethod
    def _addcdiv_scaled_(targets: list, numerators: list, denominators: list, scale: Any) -> None:
        """``targets += scale * numerators / denominators``, ``scale`` a float or a 0-d tensor."""
        if isinstance(scale, torch.Tensor):
            torch._foreach_add_(targets, torch._foreach_div(torch._foreach_mul(numerators, scale), denominators))
        else:
            torch._foreach_addcdiv_(targets, numerators, denominators, value=scale)

    @staticmethod
    def _scalar_type(params: list) -> type:
        """NumPy scalar type matching the parameters' precision.

        Keras computes step-size scalars (bias corrections, decay factors) as 0-d tensors in the variable's
        dtype; doing the same host arithmetic in that precision reproduces its rounding exactly.
        """
        return np.float64 if params[0].dtype == torch.float64 else np.float32

    @staticmethod
    def _average_squares_(averages: list, values: list, decay: float) -> None:
        """``averages = decay * averages + (1 - decay) * values**2`` in place (Adam's ``v``, RMSprop, Adadelta)."""
        torch._foreach_mul_(averages, decay)
        torch._foreach_addcmul_(averages, values, values, value=1 - decay)
