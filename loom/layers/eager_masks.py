"""Keras masks on eager tensors: a layer's output mask rides on the output tensor as ``_keras_mask``.

Outside a functional graph (a subclassed model's ``call``, layers called one by one) Keras carries masks on
the tensors themselves: a layer whose ``compute_mask`` gives a mask (``Embedding(mask_zero=True)``,
``Masking``, a custom layer) sets ``output._keras_mask``, and the next layer whose ``call`` takes ``mask``
receives it without being passed one; ``supports_masking`` layers hand it on. Functional graphs keep their
own masks (:mod:`loom.graph`) and do not go through here.

Until the first mask is set, :data:`STATE` ``.in_use`` is false and layers that compute no masks skip this
module entirely, so unmasked eager calls cost one flag check.

Example:
    >>> import numpy as np, loom
    >>> out = loom.layers.Embedding(10, 2, mask_zero=True)(np.array([[4, 0]]))
    >>> out._keras_mask.tolist()
    [[True, False]]
"""

from __future__ import annotations

from typing import Any

import torch


class _State:
    """Whether any eager tensor has carried a mask yet (then every eager layer call looks for one)."""
    in_use = False


STATE = _State()


def input_mask(layer: Any, args: tuple, kwargs: dict) -> Any:
    """The mask of the call's first argument (a tensor's ``_keras_mask``, or a list of them for a list of
    tensors), or the ``mask`` the caller passed; given to ``call`` as ``mask=`` when it takes one."""
    if "mask" in kwargs:
        return kwargs["mask"]
    first = args[0] if args else None
    if isinstance(first, torch.Tensor):
        mask = getattr(first, "_keras_mask", None)
    elif isinstance(first, (list, tuple)) and first and all(isinstance(t, torch.Tensor) for t in first):
        masks = [getattr(t, "_keras_mask", None) for t in first]
        mask = masks if any(m is not None for m in masks) else None
    else:
        return None
    if mask is not None and layer._call_takes_mask:
        kwargs["mask"] = mask
    return mask


def attach_output_mask(layer: Any, inputs: Any, outputs: Any, mask: Any) -> None:
    """Set ``_keras_mask`` on the outputs from ``layer.compute_mask(inputs, mask)`` (outputs that already carry
    one keep it; nothing is set while tracing or compiling)."""
    flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    if not all(isinstance(t, torch.Tensor) for t in flat) or torch.jit.is_tracing() or \
            torch.compiler.is_compiling():
        return
    if all(getattr(t, "_keras_mask", None) is not None for t in flat):
        return
    out_mask = layer.compute_mask(inputs, mask)
    if out_mask is None:
        return
    masks = list(out_mask) if isinstance(out_mask, (list, tuple)) else [out_mask] * len(flat)
    for t, m in zip(flat, masks):
        if m is not None and getattr(t, "_keras_mask", None) is None:
            t._keras_mask = m
            STATE.in_use = True
