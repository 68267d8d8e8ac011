"""Shared machinery of ``loom.ops``: tensor conversion, Keras's dtype promotion, axis and shape checks.

Every op converts its inputs with :func:`convert_to_tensor`, picks output dtypes with :func:`result_type` (the
one promotion table) and validates axes and broadcasting here, so errors name the op, the argument and the
shapes instead of surfacing as a torch traceback. An op called on ``loom.Input`` placeholders becomes a layer of
the functional graph (see :func:`op`).

Example:
    >>> from loom.ops import _tensor
    >>> _tensor.convert_to_tensor([1, 2]).dtype
    torch.int32
    >>> _tensor.result_type("int32", float)
    'float32'
    >>> _tensor.canonical_axis(-1, 3, "sum")
    (2,)
"""

from __future__ import annotations

import functools
import re
from typing import Any, Callable, Iterable, TypeVar

import numpy as np
import torch

from loom import backend, structure
from loom.dtypes import promote
from loom.errors import InputError, LoomError, ShapeError
from loom.symbolic import SymbolicTensor
from loom.variables import Variable

F = TypeVar("F", bound=Callable[..., Any])
_INNER_OP = re.compile(r"^ops\.[\w.]+: ")

_TORCH_DTYPES: dict[str, torch.dtype] = {
    "bool": torch.bool,
    "uint8": torch.uint8, "uint16": torch.uint16, "uint32": torch.uint32, "uint64": torch.uint64,
    "int8": torch.int8, "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
    "bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32, "float64": torch.float64,
    "complex64": torch.complex64, "complex128": torch.complex128,
}
_NAMES = {v: k for k, v in _TORCH_DTYPES.items()}

# NumPy unsigned types torch handles poorly are widened on conversion, as Keras's torch backend does.
_NUMPY_WIDEN = {"uint16": "int32", "uint32": "int64"}

def to_torch_dtype(dtype: Any) -> torch.dtype:
    """A torch dtype from a Keras name, NumPy dtype, Python type or torch dtype (``None`` means floatx).

    Example:
        >>> to_torch_dtype("uint16")
        torch.uint16
    """
    if dtype is None:
        return _TORCH_DTYPES[backend.floatx()]
    if isinstance(dtype, torch.dtype):
        return dtype
    name = standardize_dtype(dtype)
    return _TORCH_DTYPES[name]


def standardize_dtype(dtype: Any) -> str:
    """The Keras name of any dtype spelling (``torch.float32``, ``np.int32``, ``int``, ``'float'``...).

    Example:
        >>> standardize_dtype(int)
        'int32'
    """
    if dtype is None:
        return backend.floatx()
    if isinstance(dtype, torch.dtype):
        return dtype_name(dtype)
    if dtype is bool or dtype == "bool":
        return "bool"
    if dtype is int or dtype == "int":
        return "int32"
    if dtype is float or dtype == "float":
        return backend.floatx()
    if dtype is complex:
        return "complex64"
    if hasattr(dtype, "dtype") and not isinstance(dtype, type):
        return standardize_dtype(dtype.dtype)
    if isinstance(dtype, str) and dtype in _TORCH_DTYPES:
        return dtype
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in _TORCH_DTYPES:
        raise InputError(f"Unknown dtype {dtype!r}. Valid: {sorted(_TORCH_DTYPES)}")
    return name


def dtype_name(dtype: torch.dtype) -> str:
    """The Keras name of a torch dtype (``torch.float32`` -> ``'float32'``).

    Example:
        >>> dtype_name(torch.int16)
        'int16'
    """
    return _NAMES.get(dtype) or backend.dtype_name(dtype)


def _is_tensor_like(x: Any) -> bool:
    return isinstance(x, torch.Tensor) or isinstance(getattr(x, "value", None), torch.Tensor)


def convert_to_tensor(x: Any, dtype: Any = None, sparse: bool | None = None,
                      ragged: bool | None = None) -> torch.Tensor:
    """Turn NumPy arrays, Python scalars/lists, tensors or variables into a torch tensor, as Keras does.

    Python floats become floatx (float32), Python ints int32, bools bool; NumPy arrays keep their dtype
    (float64 stays float64); tensors are returned as they are unless ``dtype`` asks for a cast. Inside a device
    scope (:func:`loom.backend.scope_device`: ``loom.device(...)``, or the model's device inside ``fit`` /
    ``predict`` on a GPU) the result is on that device, as Keras; outside any scope data goes to the CPU and
    tensors stay where they are.

    Args:
        x: the value to convert.
        dtype: target dtype; default ``None`` (keep or infer as above).
        sparse: accepted for Keras compatibility; default ``None``. ``True`` is refused (no sparse tensors).
        ragged: accepted for Keras compatibility; default ``None``. ``True`` is refused.

    Returns:
        A torch tensor.

    Example:
        >>> convert_to_tensor(1.5).dtype
        torch.float32
        >>> convert_to_tensor(np.zeros(2)).dtype
        torch.float64
    """
    if sparse or ragged:
        raise InputError("convert_to_tensor: sparse and ragged tensors are not supported; pass a dense value.")
    target = None if dtype is None else to_torch_dtype(dtype)
    if isinstance(x, torch.Tensor) or isinstance(getattr(x, "value", None), torch.Tensor):
        if not isinstance(x, torch.Tensor):
            x = x.value
        elif isinstance(x, Variable):
            x = x._keras_view()  # a convolution kernel in Keras's layout, as Keras code expects
        device = backend.scope_device()
        if device is not None and x.device != device:  # inside a device scope tensors move there, as in Keras
            x = x.to(device)
        return x if target is None or x.dtype == target else x.to(target)
    if isinstance(x, SymbolicTensor):
        raise InputError(f"convert_to_tensor: {x!r} is a functional-graph placeholder with no values; ops called "
                         f"on it add layers to the graph, but it cannot become a tensor.")
    return _from_python(x, target, backend.scope_device())


def _from_python(x: Any, target: torch.dtype | None, device: torch.device | None) -> torch.Tensor:
    """Python or NumPy data as a tensor on ``device`` (``None``: torch's default)."""
    if isinstance(x, np.ndarray) or isinstance(x, np.generic) and not isinstance(x, (float, int)):
        arr = np.asarray(x)
        name = arr.dtype.name
        if arr.dtype.kind not in "biufc":
            raise InputError(f"convert_to_tensor: cannot convert data of dtype {arr.dtype}; pass numbers.")
        if name == "uint64" and target is None:
            raise InputError("convert_to_tensor: uint64 data is not supported; cast it to int64 first.")
        if name in _NUMPY_WIDEN and target is None:
            arr = arr.astype(_NUMPY_WIDEN[name])
        if not arr.dtype.isnative:
            arr = arr.astype(arr.dtype.newbyteorder("="))
        t = torch.from_numpy(np.array(arr, copy=True, order="C"))
        return t.to(device=device, dtype=target)
    if isinstance(x, (list, tuple)) and any(_is_tensor_like(v) for v in _flatten(x)):
        t = torch.stack([convert_to_tensor(v) for v in x])
        return t if target is None else t.to(target)
    if isinstance(x, (list, tuple)) and any(isinstance(v, np.ndarray) for v in _flatten(x)):
        return _from_array_list(x, target).to(device)
    kind = _python_kind(x)
    try:
        return torch.tensor(x, dtype=target or _TORCH_DTYPES[kind], device=device)
    except (ValueError, TypeError, RuntimeError) as e:
        raise InputError(f"convert_to_tensor: cannot turn {type(x).__name__} into a tensor: {e}") from e


def _from_array_list(x: list | tuple, target: torch.dtype | None) -> torch.Tensor:
    """A (nested) list of NumPy arrays, such as ``[image]``, stacked in the promoted dtype of its items (Keras)."""
    dtype = target or _TORCH_DTYPES[result_type(*_flatten(x))]
    try:
        arr = np.asarray(x)
    except ValueError as e:
        raise InputError(f"convert_to_tensor: cannot stack the arrays of a {type(x).__name__}: {e}") from e
    if arr.dtype.kind not in "biufc":
        raise InputError(f"convert_to_tensor: cannot stack the arrays of a {type(x).__name__} (dtype {arr.dtype}); "
                         f"they must be numbers of one shape.")
    return torch.from_numpy(np.array(arr, copy=True, order="C")).to(dtype)


def _flatten(x: Any) -> Iterable[Any]:
    for v in x:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield v


def _python_kind(x: Any) -> str:
    """The dtype Keras gives a Python scalar or nested list: bool < int32 < float32 (floatx)."""
    leaves = list(_flatten(x)) if isinstance(x, (list, tuple)) else [x]
    if not leaves:
        return backend.floatx()
    if any(isinstance(v, complex) for v in leaves):
        return "complex64"
    if any(isinstance(v, float) or isinstance(v, np.floating) for v in leaves):
        return backend.floatx()
    if all(isinstance(v, (bool, np.bool_)) for v in leaves):
        return "bool"
    return "int32"


def _dtype_and_weak(x: Any) -> tuple[str, bool]:
    if x is int or x is float:
        return standardize_dtype(x), True
    if isinstance(x, bool):
        return "bool", False
    if isinstance(x, (int, float)) and not isinstance(x, np.generic):
        return standardize_dtype(type(x)), True
    if _is_tensor_like(x) or isinstance(x, np.ndarray):
        return standardize_dtype(x.dtype if hasattr(x, "dtype") else x.value.dtype), False
    return standardize_dtype(x), False


def result_type(*dtypes_or_values: Any) -> str:
    """Keras 3's promoted dtype of dtypes or values (Python scalars and ``int``/``float`` are weak types).

    Args:
        *dtypes_or_values: dtypes in any spelling, tensors, arrays or Python scalars. None means floatx.

    Returns:
        The Keras dtype name; as on Keras's torch backend, 64-bit results narrow to 32 bits.

    Example:
        >>> result_type("uint8", "int8")
        'int16'
        >>> result_type("int8", int)
        'int8'
    """
    if not dtypes_or_values:
        return backend.floatx()
    floatx = backend.floatx()
    return promote(tuple(_dtype_and_weak(floatx if d is None else d) for d in dtypes_or_values), floatx)


def canonical_axis(axis: Any, ndim: int, op_name: str, arg: str = "axis") -> tuple[int, ...] | None:
    """Normalise an int, tuple or None axis to a tuple of non-negative ints (None stays None).

    Raises:
        InputError: naming the op, the argument, the value and ``ndim`` for an axis out of range or repeated.

    Example:
        >>> canonical_axis((0, -1), 3, "sum")
        (0, 2)
    """
    if axis is None:
        return None
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    out = []
    for a in axes:
        if isinstance(a, torch.Tensor):
            a = int(a)
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise InputError(f"ops.{op_name}: `{arg}` must be an int or a tuple of ints; got {axis!r}.")
        if not -max(ndim, 1) <= a < max(ndim, 1):
            raise InputError(f"ops.{op_name}: `{arg}`={axis!r} is out of range for an input of rank {ndim} "
                             f"(valid: {-max(ndim, 1)} to {max(ndim, 1) - 1}).")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise InputError(f"ops.{op_name}: `{arg}`={axis!r} repeats an axis (rank {ndim}).")
    return tuple(out)


def one_axis(axis: Any, ndim: int, op_name: str, arg: str = "axis") -> int:
    """A single normalised axis; see :func:`canonical_axis`.

    Example:
        >>> one_axis(-1, 2, "argmax")
        1
    """
    if isinstance(axis, (list, tuple)):
        raise InputError(f"ops.{op_name}: `{arg}` must be a single int; got {axis!r}.")
    return canonical_axis(axis, ndim, op_name, arg)[0]


def broadcast_shapes_or_raise(op_name: str, *tensors: Any) -> torch.Size:
    """The broadcast shape of ``tensors`` (or shapes), or a :class:`ShapeError` naming the op and shapes.

    Example:
        >>> broadcast_shapes_or_raise("add", torch.zeros(2, 1), torch.zeros(3))
        torch.Size([2, 3])
    """
    shapes = [tuple(t.shape) if hasattr(t, "shape") else tuple(t) for t in tensors]
    ndim = max([len(s) for s in shapes]) if shapes else 0  # no max(default=): torch.compile cannot trace it
    out = [1] * ndim
    for shape in shapes:  # NumPy's rule, in Python: torch.broadcast_shapes costs ~25 us per call
        for i, d in enumerate(shape, ndim - len(shape)):
            if d != 1 and d != out[i]:
                if out[i] != 1:
                    raise ShapeError(f"ops.{op_name}: shapes {', '.join(map(str, shapes))} cannot be broadcast "
                                     f"together.")
                out[i] = d
    return torch.Size(out)


def _device_of(values: Iterable[Any]) -> torch.device | None:
    for v in values:
        t = v if isinstance(v, torch.Tensor) else getattr(v, "value", None)
        if isinstance(t, torch.Tensor) and not t.is_cpu:
            return t.device
    return None


def tensors(op_name: str, *values: Any, dtype: Any = None) -> list[torch.Tensor]:
    """Convert ``values`` to tensors on one device (the first non-CPU input's), errors naming the op.

    Example:
        >>> [t.dtype for t in tensors("add", 1, 2.0)]
        [torch.int32, torch.float32]
    """
    device = _device_of(values)
    out = []
    for v in values:
        try:
            t = convert_to_tensor(v, dtype=dtype)
        except LoomError as e:
            raise InputError(f"ops.{op_name}: {e}") from e
        out.append(t if device is None or t.device == device else t.to(device))
    return out


def tensor(op_name: str, value: Any, dtype: Any = None) -> torch.Tensor:
    """Convert one value; see :func:`tensors`.

    Example:
        >>> tensor("abs", [-1.0]).dtype
        torch.float32
    """
    return tensors(op_name, value, dtype=dtype)[0]


def op(name: str) -> Callable[[F], F]:
    """Decorate a public op: torch errors inside it surface as loom errors naming the op, and a call on
    functional-graph placeholders (``loom.Input`` and what layers make of it) adds the op to the graph.

    Example:
        >>> @op("twice")
        ... def twice(x):
        ...     return tensor("twice", x) * 2
        >>> twice(3).item()
        6
    """
    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if _has_symbolic(args) or (kwargs and _has_symbolic(kwargs.values())):
                return _symbolic_call(name, fn, args, kwargs)
            try:
                return fn(*args, **kwargs)
            except LoomError as e:
                if str(e).startswith(f"ops.{name}:"):
                    raise
                # an op built on another reports the op the user called
                raise type(e)(f"ops.{name}: {_INNER_OP.sub('', str(e))}") from e
            except (RuntimeError, IndexError) as e:
                raise InputError(f"ops.{name}: {e}") from e
            except TypeError as e:
                if "argument" in str(e) and fn.__name__ in str(e):
                    raise  # a Python call error (wrong keyword) reads best as it is
                raise InputError(f"ops.{name}: {e}") from e
        return run  # type: ignore[return-value]
    return wrap


def cast(x: torch.Tensor, dtype: Any) -> torch.Tensor:
    """``x`` in ``dtype`` (any spelling); no copy when it already is.

    Example:
        >>> cast(torch.ones(2), "int32").dtype
        torch.int32
    """
    target = to_torch_dtype(dtype)
    return x if x.dtype == target else x.to(target)


def as_float(x: torch.Tensor) -> torch.Tensor:
    """Integer and bool tensors in floatx; float and complex tensors unchanged.

    Example:
        >>> as_float(torch.ones(2, dtype=torch.int64)).dtype
        torch.float32
    """
    if x.dtype.is_floating_point or x.dtype.is_complex:
        return x
    return x.to(to_torch_dtype(backend.floatx()))


def _has_symbolic(values: Iterable[Any]) -> bool:
    """Whether a functional-graph placeholder is among ``values`` (or inside their lists and tuples)."""
    for v in values:
        if isinstance(v, SymbolicTensor) or isinstance(v, (list, tuple)) and _has_symbolic(v):
            return True
    return False


def _symbolic_call(name: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """An op called on ``loom.Input`` placeholders becomes a layer of the functional graph, as in Keras.

    Ops that Keras records as an operation (``add``, ``get_item``, ``mean``... see
    :mod:`loom.models.keras_ops`) become that operation, so the model saves to ``.keras`` like Keras's; any other,
    or one with an argument a config cannot hold (a weight, a function), becomes a :class:`loom.layers.Lambda` named
    after the op, which runs but cannot be saved. The output shape is inferred by running the op on
    placeholders, so the op must not depend on data values (``nonzero``, ``unique`` cannot).
    """
    from loom.layers.lambda_layer import Lambda
    from loom.models import keras_ops

    recorded = keras_ops.recorded_call(name, args, kwargs)
    if recorded is not None:
        return recorded
    placeholders = [t for t in structure.flatten([args, kwargs]) if isinstance(t, SymbolicTensor)]

    def call(inputs: list) -> Any:
        feed = iter(inputs)
        real_args, real_kwargs = structure.map_structure(
            lambda t: next(feed) if isinstance(t, SymbolicTensor) else t, [list(args), kwargs])
        return fn(*real_args, **real_kwargs)

    layer = Lambda(call, name=backend.unique_name(name))
    call.unsaveable = keras_ops.unsaveable_reason(name, layer.name, args, kwargs)  # type: ignore[attr-defined]
    return layer(placeholders)
