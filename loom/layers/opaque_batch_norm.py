"""Training-mode batch normalization as one opaque operator inside ``torch.compile`` on the CPU.

Inductor decomposes batch normalization into elementwise loops and reductions and fuses its backward pass
with its neighbours (the ReLU's backward, the optimizer's update); on the CPU those generated reductions
ran at a fifth of the speed of ATen's own batch-norm kernels, which made the compiled train step of a
BatchNormalization convnet slower than the eager one (``bench/`` M5: 800 against 1,300 samples/s). Here the
forward and backward passes are two operators of loom's own (``loom::batch_norm_train`` and
``loom::batch_norm_train_backward``) that call those ATen kernels: the graph calls them as it calls a
convolution, and fuses everything around them as before. The gradients are the ATen formulas themselves,
so compiled and eager training agree to rounding.

:func:`batch_norm` has ``F.batch_norm``'s signature and is used where it applies (training, CPU, a graph
being compiled, float32); everywhere else ``F.batch_norm`` runs.

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


for _key in ("CPU", "Meta"):  # Meta: shapes while torch.compile traces
    _LIBRARY.impl("batch_norm_train", _forward, _key)
    _LIBRARY.impl("batch_norm_train_backward", _backward, _key)


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


def applies(x: torch.Tensor, training: bool) -> bool:
    """Whether :func:`batch_norm` runs the opaque operators for ``x``: training, on the CPU, in float32,
    while ``torch.compile`` traces a step that computes gradients."""
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
