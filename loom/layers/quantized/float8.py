"""float8 training for ``Dense`` and ``EinsumDense``, as Keras 3's ``_float8_build`` / ``_float8_call``.

The float kernel stays (and trains). Each call passes the inputs and the kernel through float8 ``e4m3``
(quantize, then dequantize: ``quantize_and_dequantize``) and the gradient of the output through ``e5m2``, each
with a scaling factor set from the running maximum of the last ``amax_history_length`` values (*delayed
scaling*): six float32 weights, ``inputs_scale`` / ``inputs_amax_history``, ``kernel_scale`` /
``kernel_amax_history``, ``outputs_grad_scale`` / ``outputs_grad_amax_history``. Gradients pass the rounding
straight through.

Keras makes those six weights trainable with ``overwrite_with_gradient``: their "gradient" is their next
value, which the optimizer writes in. loom keeps them as non-trainable weights and writes the same values
itself: the input and kernel factors after a training forward pass (training mode, autograd on, layer
trainable), the output-gradient factors in the backward pass. The values follow Keras's step for step in
``fit``; the difference is that ``trainable_weights`` lists two weights (kernel, bias) where Keras lists eight,
and that a training call outside ``fit`` (no optimizer step in Keras) updates them too.
"""

from __future__ import annotations

from typing import Any

import torch

from loom.layers.quantized.core import Scheme, frozen_weight
from loom.quantizers import compute_float8_amax_history, compute_float8_scale, quantize_and_dequantize

E4M3_MAX = float(torch.finfo(torch.float8_e4m3fn).max)
E5M2_MAX = float(torch.finfo(torch.float8_e5m2).max)
_FACTORS = ("inputs", "kernel", "outputs_grad")


class _QDQ(torch.autograd.Function):
    """``quantize_and_dequantize`` through ``e4m3`` with a straight-through gradient."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return quantize_and_dequantize(x, scale, "float8_e4m3fn", x.dtype)

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple:
        return upstream, None


class _QDQGradient(torch.autograd.Function):
    """Identity forward; the backward passes the gradient through ``e5m2`` and updates its scaling factor."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scale: torch.Tensor, history: torch.Tensor) -> torch.Tensor:
        ctx.scale, ctx.history = scale, history
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple:
        scale, history = ctx.scale, ctx.history
        new_scale = compute_float8_scale(history.max(), scale, E5M2_MAX)
        out = quantize_and_dequantize(upstream, scale, "float8_e5m2", upstream.dtype)
        new_history = compute_float8_amax_history(upstream, history)
        with torch.no_grad():
            scale.copy_(new_scale)
            history.copy_(new_history)
        return out, None, None


def _qdq(x: torch.Tensor, scale: torch.Tensor, history: torch.Tensor, update: bool) -> torch.Tensor:
    """``x`` through ``e4m3``; with ``update``, the factor and history then advance (Keras's next values)."""
    out = _QDQ.apply(x, scale)
    if update:
        with torch.no_grad():
            new_scale = compute_float8_scale(history.max(), scale, E4M3_MAX)
            history.copy_(compute_float8_amax_history(x.detach(), history))
            scale.copy_(new_scale)
    return out


class Float8(Scheme):
    """float8 training of a layer with a ``kernel`` (see the module docstring); ``product(layer, x, kernel)``
    is the layer's contraction."""

    MODE = "float8"
    REPLACES_KERNEL = False
    SAVED_ORDER = ("kernel", "bias", "inputs_scale", "inputs_amax_history", "kernel_scale", "kernel_amax_history",
                   "outputs_grad_scale", "outputs_grad_amax_history")

    def build(self, layer: Any, shape: tuple, device: Any = None) -> None:
        from loom.dtype_policies import QuantizedFloat8DTypePolicy
        length = getattr(layer._own_policy(), "amax_history_length",
                         QuantizedFloat8DTypePolicy.default_amax_history_length)
        for factor in _FACTORS:
            frozen_weight(layer, f"{factor}_scale", (), "float32", "ones", device)
            frozen_weight(layer, f"{factor}_amax_history", (length,), "float32", "zeros", device)

    def quantize(self, layer: Any) -> None:
        self.build(layer, tuple(layer.kernel.shape), layer.kernel.device)

    def call(self, layer: Any, inputs: torch.Tensor) -> torch.Tensor:
        update = layer.training and layer.trainable and torch.is_grad_enabled()
        x = _qdq(inputs, layer.inputs_scale, layer.inputs_amax_history, update)
        kernel = _qdq(layer.kernel, layer.kernel_scale, layer.kernel_amax_history, update)
        out = self.product(layer, x, kernel)
        out = _QDQGradient.apply(out, layer.outputs_grad_scale, layer.outputs_grad_amax_history)
        bias = getattr(layer, "bias", None) if self.has_bias(layer) else None
        if bias is None:
            return out
        if layer.compute_dtype == "float32":  # Keras rounds the bias through bfloat16 (for XLA's bias fusion)
            bias = bias.to(torch.bfloat16).to(bias.dtype)
        return out + bias

    def product(self, layer: Any, x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def has_bias(self, layer: Any) -> bool:
        raise NotImplementedError


class Float8Dense(Float8):
    """``Dense`` with float8 training."""

    def product(self, layer: Any, x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, kernel)

    def has_bias(self, layer: Any) -> bool:
        return layer.use_bias


class Float8EinsumDense(Float8):
    """``EinsumDense`` with float8 training."""

    def product(self, layer: Any, x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
        return torch.einsum(layer.equation, x, kernel)

    def has_bias(self, layer: Any) -> bool:
        return layer._has_bias
