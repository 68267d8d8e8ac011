"""Device, dtype and naming helpers: the only module that knows how loom maps onto torch.

Also ``keras.backend``'s public names: the settings of :mod:`loom.config` (``floatx``, ``epsilon``,
``image_data_format`` and their setters), Keras's dtype helpers from :mod:`loom.dtypes`, ``clear_session``,
``get_uid`` and ``is_keras_tensor``.

Example:
    >>> from loom import backend
    >>> backend.backend(), backend.image_data_format(), backend.standardize_dtype(torch.float32)
    ('torch', 'channels_last', 'float32')
    >>> backend.torch_dtype("float32"), backend.dtype_name(torch.int64)
    (torch.float32, 'int64')
"""

from __future__ import annotations

import collections
import gc
import re
from typing import Any

import numpy as np
import torch

from loom import config, dtypes
from loom.config import (backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                         set_image_data_format)
from loom.dtypes import is_float_dtype, is_int_dtype, result_type, standardize_dtype
from loom.errors import InputError

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
