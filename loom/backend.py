"""Device, dtype and naming helpers: the only module that knows how loom maps onto torch.

Example:
    >>> from loom import backend
    >>> backend.standardize_dtype("float32")
    torch.float32
    >>> backend.dtype_name(torch.int64)
    'int64'
"""

from __future__ import annotations

import collections
import re
from typing import Any

import numpy as np
import torch

from loom.errors import ConfigError, InputError

_FLOATX = "float32"
_NAME_COUNTS: collections.Counter = collections.Counter()

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}


def floatx() -> str:
    """The default float type name (``'float32'``), as ``keras.backend.floatx()``."""
    return _FLOATX


def standardize_dtype(dtype: Any) -> torch.dtype:
    """Turn ``'float32'``, ``np.float32``, ``torch.float32`` or ``None`` (floatx) into a torch dtype."""
    if dtype is None:
        return _DTYPES[_FLOATX]
    if isinstance(dtype, torch.dtype):
        return dtype
    if not isinstance(dtype, str):
        try:
            dtype = np.dtype(dtype).name
        except TypeError as e:
            raise ConfigError(f"Unknown dtype {dtype!r}. Valid: {sorted(_DTYPES)}") from e
    if dtype not in _DTYPES:
        raise ConfigError(f"Unknown dtype {dtype!r}. Valid: {sorted(_DTYPES)}")
    return _DTYPES[dtype]


def dtype_name(dtype: torch.dtype) -> str:
    """The Keras name of a torch dtype (``torch.float32`` -> ``'float32'``)."""
    return _NAMES.get(dtype, str(dtype).replace("torch.", ""))


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
            arr = arr.astype(_FLOATX)
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


def clear_session() -> None:
    """Reset automatic layer names, as ``keras.backend.clear_session()``."""
    _NAME_COUNTS.clear()
