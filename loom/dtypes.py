"""Keras's dtype names, their torch dtypes, and Keras's type promotion (``keras.backend.result_type``).

Keras names dtypes with strings (``'float32'``); loom's layers hold torch dtypes. :func:`standardize_dtype`
gives the Keras name of anything dtype-like, :func:`torch_dtype` the torch dtype. Promotion follows the
lattice Keras adapted from JAX: Python ``int`` and ``float`` are *weak* types that defer to the other
operand, integers promote to floats, and 64-bit results become 32-bit as on Keras's torch backend.

Example:
    >>> from loom import dtypes
    >>> dtypes.standardize_dtype("float32"), dtypes.standardize_dtype(torch.int64)
    ('float32', 'int64')
    >>> dtypes.result_type("int32", "float16"), dtypes.result_type("bfloat16", int)
    ('float16', 'bfloat16')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom import config
from loom.errors import ConfigError

INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")
FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
FLOAT8_TYPES = ("float8_e4m3fn", "float8_e5m2")
COMPLEX_TYPES = ("complex64", "complex128")
ALLOWED_DTYPES = FLOAT_TYPES + INT_TYPES + ("bool", "string") + FLOAT8_TYPES + COMPLEX_TYPES

_TORCH = {name: getattr(torch, name) for name in ALLOWED_DTYPES if hasattr(torch, name)}
_TORCH_NAMES = {v: k for k, v in _TORCH.items()}
_PYTHON = {bool: "bool", int: "int32", float: "float32", str: "string", complex: "complex64", "int": "int32"}

# Each dtype's immediate successors on Keras's promotion lattice; "int" and "float" are the weak Python types.
_LATTICE = {
    "bool": ("int",), "int": ("uint8", "int8", "complex64"),
    "uint8": ("int16", "uint16"), "uint16": ("int32", "uint32"), "uint32": ("int64", "uint64"), "uint64": ("float",),
    "int8": ("int16",), "int16": ("int32",), "int32": ("int64",), "int64": ("float",),
    "float": ("bfloat16", "float16"), "bfloat16": ("float32",), "float16": ("float32",),
    "float32": ("float64", "complex64"), "float64": ("complex128",), "complex64": ("complex128",), "complex128": (),
}
_TO_32_BIT = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def standardize_dtype(dtype: Any) -> str:
    """The Keras name of a dtype: ``None`` is floatx; torch, NumPy and Python types become their name.

    Raises:
        ConfigError: not a dtype Keras knows; the message lists the valid names.

    Example:
        >>> standardize_dtype(np.float16), standardize_dtype(None), standardize_dtype(int)
        ('float16', 'float32', 'int32')
    """
    if dtype is None:
        return config.floatx()
    name = _PYTHON.get(dtype) if isinstance(dtype, (type, str)) else None
    if name is None:
        if isinstance(dtype, torch.dtype):
            name = _TORCH_NAMES.get(dtype, str(dtype).replace("torch.", ""))
        elif isinstance(dtype, str):
            name = dtype
        else:
            name = getattr(dtype, "name", None) or getattr(dtype, "__name__", None)
            if name is None:
                try:
                    name = np.dtype(dtype).name
                except TypeError:
                    name = str(dtype)
    if name not in ALLOWED_DTYPES:
        raise ConfigError(f"Unknown dtype {dtype!r}. Valid: {list(ALLOWED_DTYPES)}")
    return name


def torch_dtype(dtype: Any) -> torch.dtype:
    """The torch dtype of anything :func:`standardize_dtype` accepts (``None``: floatx).

    Raises:
        ConfigError: an unknown dtype, or one torch has no type for (``'string'``).
    """
    if isinstance(dtype, torch.dtype):
        return dtype
    name = standardize_dtype(dtype)
    if name not in _TORCH:
        raise ConfigError(f"dtype {name!r} has no torch equivalent. Valid: {sorted(_TORCH)}")
    return _TORCH[name]


def is_float_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a floating-point type (float8 included), as ``keras.backend.is_float_dtype``."""
    return standardize_dtype(dtype).startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """Whether ``dtype`` is a (signed or unsigned) integer type, as ``keras.backend.is_int_dtype``."""
    return standardize_dtype(dtype).startswith(("int", "uint"))


def _reachable(node: str) -> frozenset:
    found, stack = {node}, [node]
    while stack:
        for nxt in _LATTICE[stack.pop()]:
            if nxt not in found:
                found.add(nxt)
                stack.append(nxt)
    return frozenset(found)


# Plain dicts, not functools.lru_cache: torch.compile traces through a dict lookup silently but warns on every
# lru_cache-wrapped call, and ops promote dtypes inside compiled steps.
_UPPER_BOUNDS = {node: _reachable(node) for node in _LATTICE}
_PROMOTED: dict[tuple, str] = {}


def _least_upper_bound(nodes: set) -> str:
    common = frozenset.intersection(*(_UPPER_BOUNDS[n] for n in nodes))
    least = [c for c in common if common <= _UPPER_BOUNDS[c]]
    if len(least) != 1:
        raise ConfigError(f"Input dtypes {sorted(nodes)} have no implicit promotion path; cast them explicitly.")
    return least[0]


def _weak(name: str) -> str:
    if name == "bool":
        return name
    return "int" if "int" in name else ("complex" if "complex" in name else "float")


def promote(pairs: tuple[tuple[str, bool], ...], floatx: str) -> str:
    """Keras's promoted dtype of ``(dtype name, is weak)`` pairs under ``floatx`` (cached: ops call it per use).

    Weak entries are Python scalars (``int``, ``float``): they take the other side's width. As on Keras's torch
    backend, 64-bit results narrow to 32 bits.

    Example:
        >>> promote((("int8", False), ("int32", True)), "float32")
        'int8'
    """
    key = (pairs, floatx)
    out = _PROMOTED.get(key)
    if out is None:
        if len(_PROMOTED) > 4096:
            _PROMOTED.clear()
        out = _PROMOTED[key] = _promote(pairs, floatx)
    return out


def _promote(pairs: tuple[tuple[str, bool], ...], floatx: str) -> str:
    names = [n for n, _ in pairs]
    weak = [w for _, w in pairs]
    if len(pairs) == 1:
        out, out_weak = pairs[0]
    elif len(set(names)) == 1 and not all(weak):
        out, out_weak = names[0], False
    elif all(weak):
        out, out_weak = _least_upper_bound(set(names)), True
    else:
        out = _least_upper_bound({_weak(n) if w else n for n, w in pairs})
        out_weak = out in ("int", "float")
    if out_weak and out != "bool":
        out = floatx if "float" in out else ("int32" if "int" in out else out)
    return _TO_32_BIT.get(out, out)


def result_type(*dtypes: Any) -> str:
    """The dtype Keras's promotion rules give a result of ``dtypes`` (``None`` counts as floatx).

    Python ``int`` and ``float`` are weak: ``result_type('bfloat16', int)`` is ``'bfloat16'``. 64-bit results
    come back as 32-bit, as on Keras's torch backend. No arguments give floatx.

    Raises:
        ConfigError: a float8 dtype (never promoted implicitly) or dtypes with no common type.

    Example:
        >>> result_type("uint8", "int8"), result_type(int, float), result_type("int64", "float16")
        ('int16', 'float32', 'float16')
    """
    if not dtypes:
        return config.floatx()
    if any(isinstance(d, str) and d in FLOAT8_TYPES for d in dtypes):
        raise ConfigError(f"There is no implicit conversion from float8 dtypes; cast them first. Got {dtypes}.")
    return promote(tuple((standardize_dtype(d), d is int or d is float) for d in dtypes), config.floatx())
