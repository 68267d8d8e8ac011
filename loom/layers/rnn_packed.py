"""Padded sequences through torch's fused RNN kernels, with Keras's masking semantics.

Masks from padding (``Embedding(mask_zero=True)``, ``Masking``) are contiguous: valid steps first and
padding after ("post" padding), or padding first ("pre" padding, ``pad_sequences``'s default, and what
``go_backwards`` makes of post padding). For such masks the step loop is not needed: the valid steps are
packed (``torch.nn.utils.rnn.pack_padded_sequence``), run by the fused kernel, and the outputs of the
masked steps filled in as Keras's loop defines them:

* padding after the valid steps repeats the last valid output (zeros with ``zero_output_for_mask``);
* padding before them outputs zeros and leaves the states at their initial values.

Checking the mask's form and packing need the lengths on the host: one transfer per call (on a GPU this
replaces thousands of per-step kernel launches). Any other mask, or an empty sequence, returns ``None``
and the caller runs its step loop.

Example:
    >>> import torch, loom
    >>> lstm = loom.layers.LSTM(3, return_sequences=True)
    >>> x, mask = torch.randn(2, 4, 5), torch.tensor([[True, True, True, False], [True, True, False, False]])
    >>> y = lstm(x, mask=mask)
    >>> bool((y[1, 2] == y[1, 1]).all())  # a masked step repeats the previous output
    True
"""

from __future__ import annotations

import torch
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence


def run_padded(spec, x: torch.Tensor, states: list[torch.Tensor], mask: torch.Tensor, zero_output_for_mask: bool,
               need_sequence: bool):
    """``(sequence or None, last output, final states)`` for a contiguous ``mask``, or ``None``.

    Args:
        spec: ``(kernel, params, has_biases)`` of the layer's fused kernel.
        x: the inputs in processing order ``(batch, steps, features)``.
        states: initial states, each ``(batch, units)``.
        mask: boolean ``(batch, steps)`` in processing order.
        zero_output_for_mask: masked steps output zeros instead of the previous output.
        need_sequence: also build the full output sequence.
    """
    batch, steps = mask.shape
    lengths = mask.sum(1)
    positions = torch.arange(steps, device=mask.device).unsqueeze(0)
    post = (mask == (positions < lengths.unsqueeze(1))).all()
    pre = (mask == (positions >= (steps - lengths).unsqueeze(1))).all()
    host = torch.cat([lengths, post.view(1), pre.view(1)]).cpu()  # the one host transfer
    host_lengths, is_post, is_pre = host[:batch], bool(host[batch]), bool(host[batch + 1])
    if not (is_post or is_pre) or bool((host_lengths == 0).any()):
        return None
    offset = None if is_post else (steps - lengths).unsqueeze(1)
    source = x if is_post else x.gather(1, _index(positions + offset, steps, x.shape[2]))
    packed = pack_padded_sequence(source, host_lengths, batch_first=True, enforce_sorted=False)
    kernel, params, has_biases = spec
    hidden = tuple(s.index_select(0, packed.sorted_indices).unsqueeze(0) for s in states)
    out = kernel(packed.data, packed.batch_sizes, hidden if len(hidden) > 1 else hidden[0], params, has_biases,
                 1, 0.0, torch.is_grad_enabled(), False)
    finals = [h.squeeze(0).index_select(0, packed.unsorted_indices) for h in out[1:]]
    last = finals[0]
    if zero_output_for_mask and is_post:
        last = torch.where((lengths == steps).unsqueeze(1), last, torch.zeros_like(last))
    if not need_sequence:
        return None, last, finals
    padded, _ = pad_packed_sequence(
        PackedSequence(out[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices),
        batch_first=True, total_length=steps)
    keep = mask.unsqueeze(-1)
    if is_post:
        fill = torch.zeros_like(padded) if zero_output_for_mask else finals[0].unsqueeze(1).expand_as(padded)
        return torch.where(keep, padded, fill), last, finals
    shifted = padded.gather(1, _index(positions - offset, steps, padded.shape[2]))
    return torch.where(keep, shifted, torch.zeros_like(shifted)), last, finals


def _index(step_index: torch.Tensor, steps: int, width: int) -> torch.Tensor:
    """Per-sample time indices (clamped into range) expanded for ``gather`` over ``width`` features."""
    return step_index.clamp(0, steps - 1).unsqueeze(-1).expand(-1, -1, width)
