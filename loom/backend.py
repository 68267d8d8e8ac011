"""Device, dtype and naming helpers: the only module that knows how loom maps onto torch.

Also ``keras.backend``'s public names: the settings of :mod:`loom.config` (``floatx``, ``epsilon``,
``image_data_format`` and their setters), Keras's dtype helpers from :mod:`loom.dtypes`, ``clear_session``,
``get_uid`` and ``is_keras_tensor``.

**Device scope.** Tensors that loom makes from nothing (``ops.arange`` / ``ones`` / ``zeros`` / ``full`` / ``eye``
/ ``tri`` / ``linspace``..., ``ops.convert_to_tensor`` of Python or NumPy data, ``loom.random.normal`` /
``uniform`` / ``randint``..., states and constants layers create in ``call``) go to :func:`scope_device`: the
device of the innermost :func:`device_scope` (``loom.device`` is the public spelling), else torch's default
(the CPU). ``fit`` / ``evaluate`` / ``predict`` and the ``*_on_batch`` calls run a model that is not on the CPU
inside ``device_scope(model device)`` (:func:`model_device_scope`), so a position embedding's
``ops.arange(length)`` or a VAE's ``random.normal(ops.shape(z_mean))`` lands next to the weights on a GPU, as
Keras's torch backend does with its ``get_device()``. An explicit ``device=`` still wins, and tensors passed in
keep their device. The scope is a thread-local attribute read once per op: on the CPU nothing is entered and
no ``torch.device`` mode intercepts torch calls; ``torch.compile`` guards on its value and ``torch.export``
reads it while tracing. Shape inference runs layers on ``meta`` tensors inside ``device_scope("meta")``.

Example:
    >>> from loom import backend
    >>> backend.backend(), backend.image_data_format(), backend.standardize_dtype(torch.float32)
    ('torch', 'channels_last', 'float32')
    >>> backend.torch_dtype("float32"), backend.dtype_name(torch.int64)
    (torch.float32, 'int64')
"""

from __future__ import annotations

import collections
import contextlib
import gc
import re
import threading
from typing import Any, ContextManager, Iterator

import numpy as np
import torch

from loom import config, dtypes
from loom.config import (backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                         set_image_data_format)
from loom.dtypes import is_float_dtype, is_int_dtype, result_type, standardize_dtype
from loom.errors import ConfigError, InputError

_NAME_COUNTS: collections.Counter = collections.Counter()


def torch_dtype(dtype: Any) -> torch.dtype:
    """Turn ``'float32'``, ``np.float32``, ``torch.float32`` or ``None`` (floatx) into a torch dtype."""
    return dtypes.torch_dtype(dtype)


def dtype_name(dtype: torch.dtype) -> str:
    """The Keras name of a torch dtype (``torch.float32`` -> ``'float32'``)."""
    return dtypes.standardize_dtype(dtype) if isinstance(dtype, torch.dtype) else str(dtype)


def is_float(dtype: torch.dtype) -> bool:
    return dtype.is_floating_point


def to_tensor(x: Any, dtype: torch.dtype | None = None, device: torch.device | None = None) -> torch.Tensor:
    """Convert a NumPy array, Python number/list or tensor to a torch tensor.

    NumPy float64 arrays become float32 (floatx), as Keras does, unless ``dtype`` says otherwise.
    """
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            arr = np.asarray(x)
        except ValueError as e:  # ragged nested lists
            raise InputError(f"Cannot turn {type(x).__name__} data into a tensor: {e}") from e
        if arr.dtype.kind not in "biuf":
            raise InputError(f"Cannot turn data of dtype {arr.dtype} into a tensor; pass numbers (bool, int or "
                             f"float arrays).")
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))  # torch reads native byte order only
        if arr.dtype == np.float64 and dtype is None:
            arr = arr.astype(config.floatx())
        if not arr.flags.writeable or not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr).copy() if not arr.flags.writeable else np.ascontiguousarray(arr)
        t = torch.from_numpy(arr)
    if dtype is not None and t.dtype != dtype:
        t = t.to(dtype)
    if device is not None and t.device != device:
        t = t.to(device)
    return t


def to_numpy(x: Any) -> Any:
    """Convert a tensor (or a nested list/dict of tensors) to NumPy on the host."""
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (list, tuple)):
        return type(x)(to_numpy(v) for v in x)
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    return x


def inference_shortcuts() -> bool:
    """Whether inference-only shortcuts (in-place ops, fused kernels, folded layers) may run: gradients are off
    and no TorchScript trace is recording (its sanity check re-traces without gradients and compares graphs)."""
    return not torch.is_grad_enabled() and not torch.jit.is_tracing()


def default_device() -> torch.device:
    """CUDA when available, else CPU: where ``fit`` places a model that is still on the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


class _DeviceState(threading.local):
    """Per thread: the device of the innermost :func:`device_scope` (``None``: torch's default)."""

    device: torch.device | None = None


_DEVICE = _DeviceState()


def scope_device() -> torch.device | None:
    """The device loom's tensor-creating ops use: the innermost :func:`device_scope`'s, else ``None`` (torch's
    default device, the CPU unless a ``torch.device`` mode or ``torch.set_default_device`` says otherwise).

    Example:
        >>> scope_device() is None
        True
        >>> with device_scope("meta"):
        ...     scope_device()
        device(type='meta')
    """
    return _DEVICE.device


def parse_device(device_name: Any) -> torch.device:
    """A torch device from ``'cpu'``, ``'gpu'``, ``'gpu:1'``, ``'cuda:0'``, ``'meta'`` or a ``torch.device``
    (``'gpu'`` means ``'cuda'``, as in Keras; a bare ``'cuda'`` gets the current CUDA index, as tensors report it).

    Raises:
        ConfigError: a name torch does not know.

    Example:
        >>> parse_device("gpu:1"), parse_device("cpu:0")
        (device(type='cuda', index=1), device(type='cpu'))
    """
    if isinstance(device_name, torch.device):
        device = device_name
    else:
        if not isinstance(device_name, str):
            raise ConfigError(f"device: expected a device name such as 'cpu', 'gpu:0' or 'cuda:1', or a "
                              f"torch.device; got {device_name!r}.")
        try:
            device = torch.device(device_name.lower().replace("gpu", "cuda"))
        except RuntimeError as e:
            raise ConfigError(f"device: invalid device name {device_name!r} (e.g. 'cpu', 'gpu:0', "
                              f"'cuda:1', 'meta').") from e
    if device.type == "cpu":
        return torch.device("cpu")  # 'cpu:0' too: CPU tensors report no index
    if device.type == "cuda" and device.index is None and torch.cuda.is_available():
        device = torch.device("cuda", torch.cuda.current_device())  # equal to what tensors report
    return device


@contextlib.contextmanager
def device_scope(device_name: Any) -> Iterator[torch.device | None]:
    """Make loom's tensor-creating ops put new tensors on ``device_name`` inside the ``with`` block.

    Only loom's ops read it (see the module docstring); torch's own factory functions are untouched, so the
    scope costs nothing per torch call. ``loom.device`` also enters ``torch.device`` for those.

    Args:
        device_name: ``'cpu'``, ``'gpu:0'``, ``'cuda:1'``, ``'meta'``, a ``torch.device``, or ``None`` (torch's
            default again, inside an outer scope).

    Yields:
        The torch device (``None`` for ``None``).

    Example:
        >>> from loom import ops
        >>> with device_scope("meta"):
        ...     ops.arange(3).device
        device(type='meta')
    """
    device = None if device_name is None else parse_device(device_name)
    previous = _DEVICE.device
    _DEVICE.device = device
    try:
        yield device
    finally:
        _DEVICE.device = previous


def model_scope_device(model_device: torch.device, current: torch.device | None) -> torch.device | None:
    """The device the trainer's scope holds for a model on ``model_device`` when ``current`` is in scope.

    A model on the CPU keeps the current scope (usually none, so CPU steps enter nothing), unless an outer scope
    names another device: then the CPU, where the model's weights are.

    Example:
        >>> model_scope_device(torch.device("meta"), None), model_scope_device(torch.device("cpu"), None)
        (device(type='meta'), None)
    """
    if model_device.type == "cpu" and (current is None or current.type == "cpu"):
        return current
    return model_device


def model_device_scope(model_device: torch.device) -> ContextManager:
    """The context ``fit`` / ``evaluate`` / ``predict`` run a model on ``model_device`` in: nothing (a
    ``nullcontext``) when :func:`model_scope_device` keeps the current scope, else ``device_scope(model_device)``.
    """
    current = _DEVICE.device
    device = model_scope_device(model_device, current)
    return contextlib.nullcontext(current) if device is current else device_scope(device)


def snake_case(name: str) -> str:
    """``'BatchNormalization'`` -> ``'batch_normalization'``, ``'Conv2D'`` -> ``'conv2d'``, as Keras names layers."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix: str) -> str:
    """``dense``, then ``dense_1``, ``dense_2``... (reset by :func:`clear_session`)."""
    n = _NAME_COUNTS[prefix]
    _NAME_COUNTS[prefix] += 1
    return prefix if n == 0 else f"{prefix}_{n}"


def automatic_name(cls: type) -> str:
    """A new unique name for an object of class ``cls`` made without one (``Dense`` -> ``dense``, ``dense_1``...)."""
    return unique_name(snake_case(cls.__name__))


def get_uid(prefix: str = "") -> int:
    """The next number for ``prefix`` (1, 2, ...), sharing the counter automatic layer names use."""
    _NAME_COUNTS[prefix] += 1
    return _NAME_COUNTS[prefix]


def is_keras_tensor(x: Any) -> bool:
    """Whether ``x`` is a symbolic tensor (made by ``Input`` or by calling a layer on one)."""
    from loom.symbolic import SymbolicTensor
    return isinstance(x, SymbolicTensor)


def clear_session(free_memory: bool = True) -> None:
    """Reset automatic layer names and counters, as ``keras.backend.clear_session()``.

    Args:
        free_memory: also run Python's garbage collector and release torch's cached CUDA memory
            (default True).
    """
    _NAME_COUNTS.clear()
    if free_memory:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
