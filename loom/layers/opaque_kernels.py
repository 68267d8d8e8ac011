"""Training-mode batch normalization and 2-D max pooling as opaque operators inside ``torch.compile`` on the
CPU.

Inductor decomposes both into loops of its own and fuses their backward passes with their neighbours (the
ReLU's backward, the optimizer's update); on the CPU those generated loops ran several times slower than
ATen's kernels, which made compiled train steps slower than eager ones (``bench/`` M5: 800 against 1,300
samples/s; M3: 690 against 800). Here the forward and backward passes are operators of loom's own
(``loom::batch_norm_train``, ``loom::max_pool2d`` and their ``_backward``) that call those ATen kernels: the
graph calls them as it calls a convolution, and fuses everything around them as before. The gradients are
the ATen formulas themselves, so compiled and eager training agree to rounding.

:func:`batch_norm` and :func:`max_pool2d` have ``F.batch_norm``'s and ``F.max_pool2d``'s signatures and use
the operators where they apply (:func:`applies`: gradients on, CPU, float32, a graph being compiled);
everywhere else the ``F`` functions run.

Example:
    >>> import torch
    >>> import torch.nn.functional as F
    >>> x = torch.randn(32, 4) * 3 + 1
    >>> out, _, _, mean, var = torch.ops.loom.batch_norm_train(x, torch.ones(4), torch.zeros(4), 1e-3)
    >>> bool(torch.allclose(out, F.batch_norm(x, None, None, training=True, eps=1e-3), atol=1e-6))
    True
    >>> bool(torch.allclose(var, x.var(0), atol=1e-5))  # the batch's unbiased variance, as torch keeps it
    True
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from loom import _torch_compat

_LIBRARY = torch.library.Library("loom", "DEF")
_LIBRARY.define("batch_norm_train(Tensor x, Tensor weight, Tensor bias, float eps) "
                "-> (Tensor, Tensor, Tensor, Tensor, Tensor)")
_LIBRARY.define("batch_norm_train_backward(Tensor grad, Tensor x, Tensor weight, Tensor mean, Tensor invstd, "
                "float eps) -> (Tensor, Tensor, Tensor)")
_LIBRARY.define("max_pool2d(Tensor x, int[] kernel, int[] stride, int[] padding) -> (Tensor, Tensor)")
_LIBRARY.define("max_pool2d_backward(Tensor grad, Tensor x, Tensor indices, int[] kernel, int[] stride, "
                "int[] padding) -> Tensor")


def _forward(x, weight, bias, eps):
    """``(out, saved mean, saved inverse std, batch mean, unbiased batch variance)``."""
    channels = x.shape[1]
    mean = torch.zeros(channels, dtype=weight.dtype, device=x.device)
    var = torch.zeros(channels, dtype=weight.dtype, device=x.device)
    out, saved_mean, saved_invstd = torch.ops.aten.native_batch_norm(x, weight, bias, mean, var, True, 1.0, eps)
    return out, saved_mean, saved_invstd, mean, var


def _backward(grad, x, weight, mean, invstd, eps):
    return torch.ops.aten.native_batch_norm_backward(grad.contiguous(), x, weight, None, None, mean, invstd, True,
                                                     eps, [True, True, True])


def _pool_forward(x, kernel, stride, padding):
    return torch.ops.aten.max_pool2d_with_indices(x, kernel, stride, padding)


def _pool_backward(grad, x, indices, kernel, stride, padding):
    return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, kernel, stride, padding, [1, 1], False, indices)


for _key in ("CPU", "Meta"):  # Meta: shapes while torch.compile traces
    _LIBRARY.impl("batch_norm_train", _forward, _key)
    _LIBRARY.impl("batch_norm_train_backward", _backward, _key)
    _LIBRARY.impl("max_pool2d", _pool_forward, _key)
    _LIBRARY.impl("max_pool2d_backward", _pool_backward, _key)


class _BatchNormTrain(torch.autograd.Function):
    """Differentiable ``loom::batch_norm_train`` (``setup_context`` style, as ``torch.func.grad`` needs)."""

    @staticmethod
    def forward(x, weight, bias, eps):
        return torch.ops.loom.batch_norm_train(x, weight, bias, eps)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, _, eps = inputs
        _, saved_mean, saved_invstd, mean, var = output
        ctx.save_for_backward(x, weight, saved_mean, saved_invstd)
        ctx.eps = eps
        ctx.mark_non_differentiable(saved_mean, saved_invstd, mean, var)

    @staticmethod
    def backward(ctx, grad, *_):
        x, weight, saved_mean, saved_invstd = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = torch.ops.loom.batch_norm_train_backward(grad, x, weight, saved_mean,
                                                                                  saved_invstd, ctx.eps)
        return grad_x, grad_weight, grad_bias, None


class _MaxPool2d(torch.autograd.Function):
    """Differentiable ``loom::max_pool2d``."""

    @staticmethod
    def forward(x, kernel, stride, padding):
        return torch.ops.loom.max_pool2d(x, kernel, stride, padding)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, kernel, stride, padding = inputs
        ctx.save_for_backward(x, output[1])
        ctx.window = (kernel, stride, padding)
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    def backward(ctx, grad, _):
        x, indices = ctx.saved_tensors
        return torch.ops.loom.max_pool2d_backward(grad, x, indices, *ctx.window), None, None, None


def applies(x: torch.Tensor, training: bool = True) -> bool:
    """Whether the opaque operators run for ``x``: training, on the CPU, in float32, while ``torch.compile``
    traces a step that computes gradients."""
    return (training and x.device.type == "cpu" and x.dtype == torch.float32 and x.dim() >= 2
            and torch.is_grad_enabled() and _torch_compat.is_compiling() and not _torch_compat.is_exporting())


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """``F.batch_norm``, with training on the CPU under ``torch.compile`` as the opaque operators."""
    if not applies(x, training):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    channels = x.shape[1]
    weight = weight if weight is not None else x.new_ones(channels)
    bias = bias if bias is not None else x.new_zeros(channels)
    out, _, _, mean, var = _BatchNormTrain.apply(x, weight, bias, eps)
    with torch.no_grad():
        if running_mean is not None:
            running_mean.lerp_(mean, momentum)
        if running_var is not None:
            running_var.lerp_(var, momentum)
    return out


def max_pool2d(x, kernel_size, stride, padding=0):
    """``F.max_pool2d`` (no dilation, floor mode), under ``torch.compile`` with gradients on the CPU as the
    opaque operators."""
    if not applies(x):
        return F.max_pool2d(x, kernel_size, stride, padding)
    pair = torch.nn.modules.utils._pair
    return _MaxPool2d.apply(x, list(pair(kernel_size)), list(pair(stride)), list(pair(padding)))[0]
