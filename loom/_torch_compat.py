"""Where loom reaches into torch's private APIs, each with a fallback for when it moves.

torch does not promise these names across releases; the rest of loom uses public APIs only (one module, the
ISA-probe memo below, checks its own private names the same way). Each
accessor looks its API up lazily (``torch._dynamo`` costs a second to import and must not load with
``import loom``), caches the answer, and returns ``None`` (or a public equivalent) when the API is missing.

=================================  ===========================================  ================================
private API                        used for                                     when missing
=================================  ===========================================  ================================
``torch.ops.mkldnn._convolution``  a convolution with its ReLU fused (oneDNN)   the plain convolution, then ReLU
``_pointwise``
``torch._dynamo.eval_frame``       entering a compiled step's guard stance      ``torch.compiler.set_stance``
``_set_stance`` / ``DynamoStance``  without building the public context object
``torch._dynamo.exc``              telling "cannot compile" from user errors    ``RuntimeError`` from torch.compile
``.TorchDynamoException``
``torch.nn.modules.module``        seeing forward hooks registered for every    assume a hook is registered
``_global_forward_hooks`` ...      module (``register_module_forward_hook``)    (shortcuts off)
``torch._inductor.cpu_vec_isa``    answering inductor's per-process ``dlopen``  inductor probes every process
``VecISA._probe_load`` ...         probe from an earlier process's record       (as without loom)
                                   (:mod:`loom.training.vec_isa_memo`)
=================================  ===========================================  ================================

It also holds the workaround for a torch bug that more than one module needs (:func:`function_input`).

Example:
    >>> from loom import _torch_compat
    >>> _torch_compat.global_forward_hooks_registered()
    False
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch


@functools.cache
def conv_pointwise() -> Callable | None:
    """oneDNN's ``_convolution_pointwise(x, w, b, padding, stride, dilation, groups, attr, scalars, algo)``,
    or ``None`` (no oneDNN in this build, or torch renamed it)."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return getattr(torch.ops.mkldnn, "_convolution_pointwise")
    except (AttributeError, RuntimeError):
        return None


def is_compiling() -> bool:
    """Whether ``torch.compile`` is tracing the current code (public since torch 2.3; ``False`` before)."""
    return _compiler_says("is_compiling")


def is_exporting() -> bool:
    """Whether ``torch.export`` is tracing the current code (``False`` where torch cannot tell)."""
    return _compiler_says("is_exporting")


def _compiler_says(question: str) -> bool:
    check = getattr(getattr(torch, "compiler", None), question, None)
    return bool(check()) if check is not None else False


@functools.cache
def _dynamo_stance() -> tuple[Callable, Any] | None:
    """``(_set_stance, stance that skips guard evaluation)`` from dynamo's internals, or ``None``."""
    try:
        from torch._dynamo.eval_frame import DynamoStance, _set_stance
        return _set_stance, DynamoStance("default", True, None)
    except (ImportError, TypeError, AttributeError):
        return None


class SkipGuardStance:
    """``torch.compiler.set_stance(skip_guard_eval_unsafe=True)`` as a reusable, re-entrant context.

    Building the public context costs ~45 us, a small model's whole forward pass, so dynamo's private setter
    is used when it exists; otherwise the public API. Nothing is imported until the first ``with``.
    """

    def __init__(self) -> None:
        self._prior: list = []

    def __enter__(self) -> "SkipGuardStance":
        private = _dynamo_stance()
        if private is None:
            context = torch.compiler.set_stance(skip_guard_eval_unsafe=True)
            context.__enter__()
            self._prior.append((None, context))
        else:
            setter, stance = private
            self._prior.append((setter, setter(stance)))
        return self

    def __exit__(self, *exc) -> bool:
        setter, prior = self._prior.pop()
        if setter is None:
            prior.__exit__(*exc)
        else:
            setter(prior)
        return False


@functools.cache
def dynamo_exception() -> type:
    """The base class of torch.compile's "cannot trace this" errors (``RuntimeError`` when it has moved)."""
    try:
        from torch._dynamo.exc import TorchDynamoException
        return TorchDynamoException
    except ImportError:
        return RuntimeError


def global_forward_hooks_registered() -> bool:
    """Whether forward (pre-)hooks are registered for every module (``register_module_forward_hook``);
    ``True`` when torch no longer exposes them, so callers assume the worst."""
    module = torch.nn.modules.module
    try:
        return bool(module._global_forward_hooks or module._global_forward_pre_hooks)
    except AttributeError:
        return True


def function_input(t: Any) -> Any:
    """``t`` as a view, to pass to an ``autograd.Function``: torch 2.13's ``torch.compile`` drops the gradient of
    an ``autograd.Function`` input that is itself a tensor ``torch.func.grad`` differentiates (the weights of a
    compiled train step), silently giving zeros; a view of it is differentiated correctly
    (``tests/layers/test_opaque_kernels.py`` checks both ways)."""
    return t.view_as(t)
