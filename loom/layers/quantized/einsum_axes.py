"""Where the scales of a quantized ``EinsumDense`` live: Keras's ``_analyze_quantization_info``.

The kernel is quantized over its *reduced* axes (those missing from the output term), so its scale has size 1
there; to divide the einsum's output by it, the scale is transposed, expanded and squeezed into the output's
axis order. The inputs' scale (abs-max over the input's reduced axes) is moved the same way. Keras stores the
kernel scale already in that output-aligned layout, so loom does too (``kernel_scale`` of a
``'abc,cd->abd'`` layer is ``(1, 1, d)``).

Example:
    >>> info = analyze("abc,cd->abd", 3)
    >>> info.input_reduced, info.kernel_reduced, info.kernel_scale_shape((6, 7))
    ([2], [0], [1, 1, 7])
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

import torch

from loom.errors import ConfigError


def _specs(equation: str, ndim: int) -> tuple[str, str, str]:
    """The input, kernel and output terms with ``...`` replaced by fresh letters for ``ndim``-d inputs."""
    dotted = re.sub(r"\.\.\.", "0", equation)
    for pattern, side in (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", None),
                          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", "left"),
                          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", "right")):
        match = re.match(pattern, dotted)
        if match is None:
            continue
        inp, kernel, out = match.groups()
        if side is not None:
            free = sorted(set(string.ascii_letters) - set(inp) - set(kernel) - set(out))
            for i in range(ndim - len(inp)):
                inp, out = (free[i] + inp, free[i] + out) if side == "left" else (inp + free[i], out + free[i])
        return inp, kernel, out
    raise ConfigError(f"Invalid einsum equation '{equation}'. Equations must be in the form [X],[Y]->[Z], "
                      f"...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


@dataclass
class EinsumAxes:
    """The axis bookkeeping of one equation (field names follow Keras's tuple)."""

    input_reduced: list
    kernel_reduced: list
    input_transpose: list
    kernel_transpose: list
    input_expand: list
    kernel_expand: list
    input_squeeze: list
    kernel_squeeze: list
    gradient_equation: str

    def kernel_scale_shape(self, kernel_shape: tuple) -> list:
        """The per-channel ``kernel_scale`` shape: the kernel's, 1 on reduced axes, in the output's layout."""
        shape = [1 if i in self.kernel_reduced else d for i, d in enumerate(kernel_shape)]
        shape = [shape[a] for a in self.kernel_transpose]
        for a in sorted(self.kernel_expand):
            shape.insert(a, 1)
        for a in sorted(self.kernel_squeeze, reverse=True):
            shape.pop(a)
        return shape

    def scale_for_output(self, scale: torch.Tensor, kind: str) -> torch.Tensor:
        """Keras's ``_adjust_scale_for_quant``: a scale from abs-max (kernel or input layout) in output layout."""
        transpose, expand, squeeze = ((self.kernel_transpose, self.kernel_expand, self.kernel_squeeze)
                                      if kind == "kernel" else
                                      (self.input_transpose, self.input_expand, self.input_squeeze))
        if transpose:
            scale = scale.permute(*transpose)
        for a in sorted(expand):
            scale = scale.unsqueeze(a)
        if squeeze:
            scale = scale.squeeze(tuple(squeeze))
        return scale

    def scale_for_kernel(self, scale: torch.Tensor) -> torch.Tensor:
        """Keras's ``_adjust_scale_for_dequant``: ``kernel_scale`` back in the kernel's layout."""
        for a in sorted(self.kernel_squeeze):
            scale = scale.unsqueeze(a)
        if self.kernel_expand:
            scale = scale.squeeze(tuple(self.kernel_expand))
        if self.kernel_transpose:
            inverse = sorted(range(len(self.kernel_transpose)), key=self.kernel_transpose.__getitem__)
            scale = scale.permute(*inverse)
        return scale


def _place_reduced(reduced: list, expand: list, transpose: list, squeeze: list, index: int) -> int:
    """Keras's post-processing: each reduced axis takes an expand slot in the transpose, else is squeezed (and
    then goes where the previous one went: Keras reuses the last slot, carried over from its earlier loops)."""
    for axis in reduced:
        if expand:
            index = expand.pop(0)
        else:
            squeeze.append(axis)
        transpose.insert(index, axis)
    return index


def analyze(equation: str, ndim: int) -> EinsumAxes:
    """The :class:`EinsumAxes` of ``equation`` for ``ndim``-d inputs (Keras's ``_analyze_quantization_info``)."""
    inp, kernel, out = _specs(equation, ndim)
    input_reduced = [i for i, c in enumerate(inp) if c not in out]
    kernel_reduced = [i for i, c in enumerate(kernel) if c not in out]
    input_expand = [i for i, c in enumerate(out) if c not in inp]
    kernel_expand = [i for i, c in enumerate(out) if c not in kernel]
    input_transpose = [inp.index(c) for c in out if c in inp]
    kernel_transpose = [kernel.index(c) for c in out if c in kernel]
    input_squeeze: list = []
    kernel_squeeze: list = []
    index = out.find(kernel[-1])  # the slot Keras's loops leave behind before these
    index = _place_reduced(input_reduced, input_expand, input_transpose, input_squeeze, index)
    _place_reduced(kernel_reduced, kernel_expand, kernel_transpose, kernel_squeeze, index)
    return EinsumAxes(input_reduced, kernel_reduced, input_transpose, kernel_transpose, input_expand,
                      kernel_expand, input_squeeze, kernel_squeeze, f"{out},{kernel}->{inp}")
