"""ATen kernels that inductor would rewrite, kept whole as opaque operators inside compiled CPU train steps:
training-mode batch normalization, 2-D max pooling, the embedding's gradient and torch's fused RNN kernels.

Inductor decomposes the first three into loops of its own and fuses their backward passes with their
neighbours (the ReLU's backward, the optimizer's update); on the CPU those generated loops ran several times
slower than ATen's kernels, which made compiled train steps slower than eager ones (``bench/`` M5: 800
against 1,300 samples/s; M3: 690 against 800). ``torch.lstm`` and the other fused RNN kernels it unrolls
step by step, which took minutes to compile (``bench/`` M4). Here each is an operator of loom's own
(``loom::batch_norm_train``, ``loom::max_pool2d``, ``loom::embedding``, ``loom::fused_rnn`` and their
``_backward``) that calls the ATen kernels: the graph calls them as it calls a convolution and fuses
everything around them as before. The gradients are ATen's own (for the RNN, the autograd graph its kernel
records, kept under a handle until the backward operator runs), so compiled and eager training agree to
rounding.

:func:`batch_norm`, :func:`max_pool2d`, :func:`embedding` and :func:`fused_rnn` have the signatures of the
torch functions they stand for and use the operators where they apply (:func:`applies`: gradients on, CPU,
float32, a graph being compiled); everywhere else the torch functions run.

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

import itertools

import torch
import torch.nn.functional as F

from loom import _torch_compat
from loom._torch_compat import function_input

_LIBRARY = torch.library.Library("loom", "DEF")
_LIBRARY.define("batch_norm_train(Tensor x, Tensor weight, Tensor bias, float eps) "
                "-> (Tensor, Tensor, Tensor, Tensor, Tensor)")
_LIBRARY.define("batch_norm_train_backward(Tensor grad, Tensor x, Tensor weight, Tensor mean, Tensor invstd, "
                "float eps) -> (Tensor, Tensor, Tensor)")
_LIBRARY.define("max_pool2d(Tensor x, int[] kernel, int[] stride, int[] padding) -> (Tensor, Tensor)")
_LIBRARY.define("max_pool2d_backward(Tensor grad, Tensor x, Tensor indices, int[] kernel, int[] stride, "
                "int[] padding) -> Tensor")
_LIBRARY.define("embedding(Tensor weight, Tensor indices) -> Tensor")
_LIBRARY.define("embedding_backward(Tensor grad, Tensor indices, SymInt num_weights) -> Tensor")
_LIBRARY.define("fused_rnn(str kernel, Tensor x, Tensor[] hx, Tensor[] params, bool has_biases, "
                "bool bidirectional) -> (Tensor, Tensor[], Tensor)")
_LIBRARY.define("fused_rnn_backward(Tensor handle, Tensor grad, Tensor[] grad_finals, Tensor x, Tensor[] hx, "
                "Tensor[] params) -> Tensor[]")


def _batch_norm_forward(x, weight, bias, eps):
    """``(out, saved mean, saved inverse std, batch mean, unbiased batch variance)``."""
    channels = x.shape[1]
    mean = torch.zeros(channels, dtype=weight.dtype, device=x.device)
    var = torch.zeros(channels, dtype=weight.dtype, device=x.device)
    out, saved_mean, saved_invstd = torch.ops.aten.native_batch_norm(x, weight, bias, mean, var, True, 1.0, eps)
    return out, saved_mean, saved_invstd, mean, var


def _batch_norm_backward(grad, x, weight, mean, invstd, eps):
    return torch.ops.aten.native_batch_norm_backward(grad.contiguous(), x, weight, None, None, mean, invstd, True,
                                                     eps, [True, True, True])


def _pool_forward(x, kernel, stride, padding):
    return torch.ops.aten.max_pool2d_with_indices(x, kernel, stride, padding)


def _pool_backward(grad, x, indices, kernel, stride, padding):
    return torch.ops.aten.max_pool2d_with_indices_backward(grad, x, kernel, stride, padding, [1, 1], False, indices)


def _embedding(weight, indices):
    return torch.ops.aten.embedding(weight, indices)


def _embedding_backward(grad, indices, num_weights):
    return torch.ops.aten.embedding_dense_backward(grad, indices, num_weights, -1, False)


_RNN_KERNELS = {"lstm": torch.lstm, "gru": torch.gru, "rnn_tanh": torch.rnn_tanh, "rnn_relu": torch.rnn_relu}
_RNN_NAMES = {kernel: name for name, kernel in _RNN_KERNELS.items()}
_PENDING: dict[int, tuple] = {}  # handle -> (leaves, outputs) of forward passes awaiting their backward
_MAX_PENDING = 256
_next_handle = itertools.count()
_TOP_LEVEL_DISPATCH = (torch._C._dispatch_tls_local_include_set(), torch._C._dispatch_tls_local_exclude_set())


def _autograd_dispatch():
    """The dispatcher as outside any operator (autograd on) for the kernel of an operator that records a graph:
    a compiled graph calls its operators with autograd and functorch's keys excluded."""
    return torch._C._ForceDispatchKeyGuard(*_TOP_LEVEL_DISPATCH)


def _rnn_forward(kernel, x, hx, params, has_biases, bidirectional):
    """torch's fused RNN kernel with autograd recording, kept under a handle for :func:`_rnn_backward`: on the
    CPU the kernel's backward is the autograd graph of its steps, which only a recorded call has."""
    with _autograd_dispatch(), torch.enable_grad():
        leaves = [t.detach().requires_grad_(t.is_floating_point()) for t in (x, *hx, *params)]
        hidden = tuple(leaves[1:1 + len(hx)])
        out = _RNN_KERNELS[kernel](leaves[0], hidden if len(hidden) > 1 else hidden[0], leaves[1 + len(hx):],
                                   has_biases, 1, 0.0, True, bidirectional, True)
    handle = next(_next_handle)
    _PENDING[handle] = (leaves, out)
    while len(_PENDING) > _MAX_PENDING:  # a step that failed before its backward
        _PENDING.pop(next(iter(_PENDING)))
    return out[0].detach().contiguous(), [o.detach().contiguous() for o in out[1:]], torch.tensor(handle)


def _rnn_forward_meta(kernel, x, hx, params, has_biases, bidirectional):
    units = hx[0].shape[-1] * (2 if bidirectional else 1)
    return x.new_empty(x.shape[0], x.shape[1], units), [h.new_empty(h.shape) for h in hx], \
        torch.empty((), dtype=torch.int64, device=x.device)


def _rnn_backward(handle, grad, grad_finals, x, hx, params):
    """The gradients of every input of the forward pass ``handle`` (zeros where none), contiguous as the shape
    kernel says."""
    leaves, out = _PENDING.pop(int(handle))
    wanted = [leaf for leaf in leaves if leaf.requires_grad]
    with _autograd_dispatch():
        grads = iter(torch.autograd.grad(out, wanted, [grad, *grad_finals], allow_unused=True))
    result = []
    for leaf in leaves:
        leaf_grad = next(grads) if leaf.requires_grad else None
        result.append(leaf.new_zeros(leaf.shape) if leaf_grad is None else leaf_grad.contiguous())
    return result


def _rnn_backward_meta(handle, grad, grad_finals, x, hx, params):
    return [t.new_empty(t.shape) for t in (x, *hx, *params)]


# operator -> (its CPU kernel, its shape kernel: Meta, which torch.compile runs while tracing)
_KERNELS = {
    "batch_norm_train": (_batch_norm_forward, _batch_norm_forward),
    "batch_norm_train_backward": (_batch_norm_backward, _batch_norm_backward),
    "max_pool2d": (_pool_forward, _pool_forward),
    "max_pool2d_backward": (_pool_backward, _pool_backward),
    "embedding": (_embedding, _embedding),
    "embedding_backward": (_embedding_backward, _embedding_backward),
    "fused_rnn": (_rnn_forward, _rnn_forward_meta),
    "fused_rnn_backward": (_rnn_backward, _rnn_backward_meta),
}
for _name, (_cpu, _meta) in _KERNELS.items():
    _LIBRARY.impl(_name, _cpu, "CPU")
    _LIBRARY.impl(_name, _meta, "Meta")


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


class _Embedding(torch.autograd.Function):
    """``loom::embedding`` (a row gather) whose backward is ``loom::embedding_backward`` (ATen's scatter-add)."""

    @staticmethod
    def forward(indices, weight):
        return torch.ops.loom.embedding(weight, indices)

    @staticmethod
    def setup_context(ctx, inputs, output):
        indices, weight = inputs
        ctx.save_for_backward(indices)
        ctx.num_weights = weight.shape[0]

    @staticmethod
    def backward(ctx, grad):
        (indices,) = ctx.saved_tensors
        return None, torch.ops.loom.embedding_backward(grad.contiguous(), indices, ctx.num_weights)


def embedding(indices: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``F.embedding(indices, weight)``; under ``torch.compile`` with gradients on the CPU its backward is
    ATen's kernel as one operator."""
    if not applies(weight):
        return F.embedding(indices, weight)
    return _Embedding.apply(indices, function_input(weight))


class _FusedRNN(torch.autograd.Function):
    """Differentiable ``loom::fused_rnn`` over flat inputs ``(x, *hx, *params)``."""

    @staticmethod
    def forward(kernel, hidden_count, has_biases, bidirectional, x, *tensors):
        hx, params = list(tensors[:hidden_count]), list(tensors[hidden_count:])
        sequence, finals, handle = torch.ops.loom.fused_rnn(kernel, x, hx, params, has_biases, bidirectional)
        return sequence, *finals, handle

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, hidden_count, _, _, x, *tensors = inputs
        ctx.save_for_backward(output[-1], x, *tensors)
        ctx.hidden_count = hidden_count
        ctx.sequence_shape = output[0].shape
        ctx.mark_non_differentiable(output[-1])

    @staticmethod
    def backward(ctx, grad, *grad_rest):
        handle, x, *tensors = ctx.saved_tensors
        count = ctx.hidden_count
        finals = [g if g is not None else torch.zeros_like(h) for g, h in zip(grad_rest[:-1], tensors[:count])]
        grad = grad if grad is not None else x.new_zeros(ctx.sequence_shape)
        grads = torch.ops.loom.fused_rnn_backward(handle, grad, finals, x, tensors[:count], tensors[count:])
        return None, None, None, None, *grads


def fused_rnn(kernel, x, hx, params, has_biases: bool, bidirectional: bool):
    """``kernel(x, hx, params, has_biases, 1, 0.0, train, bidirectional, True)`` (``torch.lstm`` and the other
    fused RNN kernels, batch first, one layer); under ``torch.compile`` with gradients on the CPU as one
    operator, so the graph neither unrolls the time steps (minutes of compilation) nor loses torch's kernel.
    Returns the kernel's ``(sequence, *final states)``."""
    if not applies(x) or kernel not in _RNN_NAMES:
        return kernel(x, hx, params, has_biases, 1, 0.0, torch.is_grad_enabled(), bidirectional, True)
    hidden = list(hx) if isinstance(hx, (tuple, list)) else [hx]
    out = _FusedRNN.apply(_RNN_NAMES[kernel], len(hidden), has_biases, bidirectional,
                          *map(function_input, (x, *hidden, *params)))
    return out[:-1]


def applies(x: torch.Tensor, training: bool = True) -> bool:
    """Whether the opaque operators run for ``x``: training, on the CPU, in float32, while ``torch.compile``
    traces a step that computes gradients."""
    return (training and _torch_compat.is_compiling() and x.device.type == "cpu" and x.dtype == torch.float32
            and x.dim() >= 2 and torch.is_grad_enabled() and not _torch_compat.is_exporting())


def batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps):
    """``F.batch_norm``, with training on the CPU under ``torch.compile`` as the opaque operators."""
    if not applies(x, training):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
    channels = x.shape[1]
    weight = weight if weight is not None else x.new_ones(channels)
    bias = bias if bias is not None else x.new_zeros(channels)
    out, _, _, mean, var = _BatchNormTrain.apply(*map(function_input, (x, weight, bias)), eps)
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
    return _MaxPool2d.apply(function_input(x), list(pair(kernel_size)), list(pair(stride)), list(pair(padding)))[0]
