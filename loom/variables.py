"""Keras variables that are torch ``Parameter``s: ``value``, ``assign*``, ``numpy``, ``name``, ``path``.

Every weight a layer creates with ``add_weight`` is a :class:`Variable`: a real ``torch.nn.Parameter`` (so
torch optimizers, ``state_dict`` and autograd see a parameter, and ``.grad`` holds its gradient) that also
speaks Keras 3's variable API. On Keras's torch backend ``variable.value`` is the torch parameter; here the
variable *is* the parameter, so ``v.value`` returns ``v`` itself and ``v.value.grad`` is the gradient.

``loom.Variable(initializer, shape, dtype, trainable, name)`` makes a free-standing one (state in custom
layers, metrics and training loops); assigned to a layer attribute it becomes one of the layer's weights, as
in Keras. Being torch tensors, ``shape`` is a ``torch.Size`` (a tuple) and ``dtype`` a ``torch.dtype``;
:attr:`Variable.dtype_name` gives Keras's string (``'float32'``). A weight stored in another layout than
Keras's (convolution kernels) reads and writes Keras's layout through :meth:`Variable.numpy` and
:meth:`Variable.assign` given NumPy data, as ``get_weights`` / ``set_weights`` do.

Example:
    >>> from loom.variables import Variable
    >>> v = Variable(initializer=[1.0, 2.0], name="v")
    >>> v.assign_add([1.0, 1.0]).numpy()
    array([2., 3.], dtype=float32)
    >>> v.name, v.path, v.trainable, tuple(v.shape), v.dtype_name
    ('v', 'v', True, (2,), 'float32')
    >>> (v * 2).sum().backward()
    >>> v.value.grad
    tensor([2., 2.])
"""

from __future__ import annotations

import weakref
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from loom import backend
from loom.errors import ConfigError, InputError
from loom.stateless_scope import get_stateless_scope


class name_scope:
    """A context that prefixes the ``path`` of variables created inside with ``name``, as ``keras.name_scope``.

    Layers open one while they are built or called, so their weights get Keras's paths
    (``'sequential/dense/kernel'``).

    Args:
        name: the scope's name (a string without ``'/'``).
        caller: the object opening the scope; with ``deduplicate``, a scope whose caller is the enclosing
            scope's caller adds nothing (a layer calling itself). Default ``None``.
        deduplicate: skip the scope when its caller opened the enclosing one (default ``True``).
        override_parent: a path that replaces every enclosing scope (default ``None``).

    Example:
        >>> import loom
        >>> with loom.name_scope("outer"):
        ...     loom.Variable(1.0, name="v").path
        'outer/v'
    """

    def __init__(self, name: str, caller: Any = None, deduplicate: bool = True,
                 override_parent: str | None = None) -> None:
        if not isinstance(name, str) or "/" in name:
            raise ConfigError(f"name_scope: `name` must be a string without '/'; received name={name!r}.")
        self.name, self.caller, self.deduplicate, self.override_parent = name, caller, deduplicate, override_parent
        self._pushed = False

    def __enter__(self) -> "name_scope":
        if self.deduplicate and self.caller is not None and _SCOPES and _SCOPES[-1].caller is self.caller:
            return self
        _SCOPES.append(self)
        self._pushed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pushed:
            _SCOPES.pop()
            self._pushed = False


_SCOPES: list[name_scope] = []


def current_path() -> str:
    """The path of the open name scopes, joined by ``'/'`` (``''`` outside any)."""
    parts: list[str] = []
    for scope in _SCOPES:
        if scope.override_parent is not None:
            parts = [p for p in scope.override_parent.split("/") if p]
        parts.append(scope.name)
    return "/".join(parts)


def _scoped(name: str) -> str:
    prefix = current_path()
    return f"{prefix}/{name}" if prefix else name


class Variable(nn.Parameter):
    """A torch ``Parameter`` with Keras 3's variable API (see the module docstring).

    Args:
        initializer: the initial value (array, tensor, number or nested list), or an initializer (name,
            instance or callable ``(shape, dtype)``) used with ``shape``.
        shape: the shape, required with an initializer (default ``None``: the value's shape).
        dtype: the dtype (default ``None``: the value's dtype for tensors, else floatx).
        trainable: whether training updates it, i.e. ``requires_grad`` (default ``True``).
        autocast, aggregation, synchronization: accepted for Keras compatibility (defaults ``True``,
            ``'none'``, ``'auto'``); loom does not use them.
        name: the variable's name (default ``'variable'``).
    """

    def __new__(cls, initializer: Any = None, shape: Any = None, dtype: Any = None, trainable: bool = True,
                autocast: bool = True, aggregation: str = "none", synchronization: str = "auto",
                name: str | None = None) -> "Variable":
        if initializer is None:
            raise ConfigError("Variable: pass an initial value or an initializer (with a shape) as `initializer`.")
        value = _initial_value(initializer, shape, dtype)
        requires_grad = bool(trainable) and (value.is_floating_point() or value.is_complex())
        var = torch.Tensor._make_subclass(cls, value, requires_grad)
        var._keras_name = name or "variable"
        var._keras_path = _scoped(var._keras_name)
        var._owner = None
        return var

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass  # everything happens in __new__ (torch tensors are made there)

    @classmethod
    def _of_layer(cls, value: torch.Tensor, name: str, layer: Any, trainable: bool) -> "Variable":
        """A layer's weight: ``value`` in the stored layout; ``path`` is ``'<layer name>/<name>'``."""
        var = cls(value, trainable=trainable, name=name)
        with name_scope(layer.name, layer):
            var._keras_path = _scoped(name)
        var._owner = weakref.ref(layer)
        return var

    # ----------------------------------------------------------------------------------------- attributes
    @property
    def name(self) -> str:
        return self._keras_name

    @property
    def path(self) -> str:
        """``'<layer name>/<variable name>'`` for a layer's weight (prefixed by the layers being called or built
        when it was made, as Keras: ``'sequential/dense/kernel'``), else the name."""
        return self._keras_path

    @property
    def value(self) -> "Variable":
        """The tensor itself (its ``.grad`` is the gradient), as ``variable.value`` on Keras's torch backend."""
        return self

    @property
    def trainable(self) -> bool:
        return self.requires_grad

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self.requires_grad_(bool(value))

    @property
    def dtype_name(self) -> str:
        """Keras's name of the dtype (``'float32'``)."""
        return backend.dtype_name(self.dtype)

    def _layer(self) -> Any:
        return self._owner() if self._owner is not None else None

    def _keras_view(self) -> torch.Tensor:
        """The value in Keras's layout: the variable itself, or for a weight stored in another layout
        (convolution and recurrent kernels) a differentiable view of it in Keras's shape."""
        layer = self._layer()
        return self if layer is None else layer.weight_to_keras(self._keras_name, self)

    # ------------------------------------------------------------------------------ Keras arithmetic
    # Keras's torch variables compute their operators with keras.ops, so ``kernel * numpy_mask`` is a tensor
    # that keeps the gradient, in Keras's layout. torch would hand a NumPy operand to NumPy (no gradient; a
    # meta tensor during shape inference fails), so operators with a NumPy array go through loom.ops here.
    # With other operands the operators are torch's, on the stored tensor (loom's own code relies on that).
    def _with_array(self, other: Any, method: str) -> Any:
        if not isinstance(other, np.ndarray):
            return getattr(super(), method)(other)
        from loom.ops import _tensor
        array = _tensor.convert_to_tensor(other).to(self.device)
        view = self._keras_view()
        return getattr(torch.Tensor, method)(view, array)

    def __add__(self, other: Any) -> Any:
        return self._with_array(other, "__add__")

    def __radd__(self, other: Any) -> Any:
        return self._with_array(other, "__radd__")

    def __sub__(self, other: Any) -> Any:
        return self._with_array(other, "__sub__")

    def __rsub__(self, other: Any) -> Any:
        return self._with_array(other, "__rsub__")

    def __mul__(self, other: Any) -> Any:
        return self._with_array(other, "__mul__")

    def __rmul__(self, other: Any) -> Any:
        return self._with_array(other, "__rmul__")

    def __truediv__(self, other: Any) -> Any:
        return self._with_array(other, "__truediv__")

    def __rtruediv__(self, other: Any) -> Any:
        return self._with_array(other, "__rtruediv__")

    def __pow__(self, other: Any) -> Any:
        return self._with_array(other, "__pow__")

    def __rpow__(self, other: Any) -> Any:
        return self._with_array(other, "__rpow__")

    def __matmul__(self, other: Any) -> Any:
        return self._with_array(other, "__matmul__")

    def __rmatmul__(self, other: Any) -> Any:
        return self._with_array(other, "__rmatmul__")

    # ---------------------------------------------------------------------------------------- reading
    def numpy(self) -> np.ndarray:
        """A NumPy copy of the value in Keras's layout."""
        value = self.detach()
        layer = self._layer()
        if layer is not None:
            value = layer.weight_to_keras(self._keras_name, value)
        return value.cpu().numpy().copy()

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    # ---------------------------------------------------------------------------------------- writing
    def assign(self, value: Any) -> "Variable":
        """Overwrite the value in place (without recording a gradient); returns the variable.

        ``value`` has the stored shape, or Keras's shape for a weight stored in another layout. Inside a
        :class:`loom.StatelessScope` the scope records the new value instead.

        Raises:
            InputError: ``value``'s shape matches neither.
        """
        return self._update(value, lambda old, new: new)

    def assign_add(self, value: Any) -> "Variable":
        """Add ``value`` in place (without recording a gradient); returns the variable."""
        return self._update(value, torch.add)

    def assign_sub(self, value: Any) -> "Variable":
        """Subtract ``value`` in place (without recording a gradient); returns the variable."""
        return self._update(value, torch.sub)

    def _update(self, value: Any, combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> "Variable":
        with torch.no_grad():
            new = self._converted(value)
            scope = get_stateless_scope()
            if scope is not None:
                scope.add_update((self, combine(self.detach(), new)))
            elif combine is torch.add:
                self.add_(new)
            elif combine is torch.sub:
                self.sub_(new)
            else:
                self.copy_(new)
        return self

    def _converted(self, value: Any) -> torch.Tensor:
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(np.asarray(value))
        value = value.detach()
        shape = tuple(self.shape)
        layer = self._layer()
        if layer is not None and tuple(value.shape) != shape:
            keras_shape = tuple(layer.weight_to_keras(self._keras_name, self.detach()).shape)
            if tuple(value.shape) == keras_shape:
                value = layer.weight_from_keras(self._keras_name, value)
        if tuple(value.shape) != shape and value.dim() > 0 and tuple(value.shape) != (1,) * value.dim():
            raise InputError(f"Variable '{self.path}' has shape {shape}; cannot assign a value of shape "
                             f"{tuple(value.shape)}.")
        return value.to(device=self.device, dtype=self.dtype)

    # ----------------------------------------------------------------------------------------- copying
    def _state(self) -> dict:
        return {"_keras_name": self._keras_name, "_keras_path": self._keras_path}

    def __deepcopy__(self, memo: dict) -> "Variable":
        if id(self) in memo:
            return memo[id(self)]
        result = Variable(self.data.clone(memory_format=torch.preserve_format), trainable=self.requires_grad,
                          name=self._keras_name)
        result._keras_path = self._keras_path
        layer = self._layer()
        if layer is not None:
            result._owner = weakref.ref(memo.get(id(layer), layer))
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto: int):
        return _rebuild_variable, (self.data, self.requires_grad, self._state())

    def __repr__(self) -> str:
        return (f"<Variable path={self.path}, shape={tuple(self.shape)}, dtype={self.dtype_name}, "
                f"value={self.detach()!r}>")


def meta_like(t: torch.Tensor) -> torch.Tensor:
    """An empty ``meta`` tensor like ``t``; a :class:`Variable` stays one (for shape inference on ``meta``)."""
    meta = torch.empty_like(t, device="meta")
    if not isinstance(t, Variable):
        return meta
    var = torch.Tensor._make_subclass(Variable, meta, t.requires_grad)
    var._keras_name, var._keras_path, var._owner = t._keras_name, t._keras_path, t._owner  # same layout
    return var


def _rebuild_variable(data: torch.Tensor, requires_grad: bool, state: dict) -> Variable:
    var = Variable(data, trainable=requires_grad, name=state["_keras_name"])
    var._keras_path = state["_keras_path"]
    return var


def _initial_value(initializer: Any, shape: Any, dtype: Any) -> torch.Tensor:
    """The first value of a variable from a value or an initializer (see :class:`Variable`)."""
    torch_dtype = backend.torch_dtype(dtype) if dtype is not None else None
    if isinstance(initializer, str) or _is_initializer(initializer):
        if shape is None:
            raise ConfigError(f"Variable: an initializer ({initializer!r}) needs a `shape`.")
        from loom import initializers
        init: Callable = initializers.get(initializer) if isinstance(initializer, (str, dict)) else initializer
        value = init(tuple(int(d) for d in shape), dtype=torch_dtype or backend.torch_dtype(None))
        value = torch.as_tensor(value)
    else:
        value = initializer.detach() if isinstance(initializer, torch.Tensor) else backend.to_tensor(
            np.asarray(initializer) if isinstance(initializer, (list, tuple)) else initializer)
        if shape is not None and tuple(value.shape) != tuple(int(d) for d in shape):
            raise ConfigError(f"Variable: the initial value has shape {tuple(value.shape)}, but shape={tuple(shape)}.")
    if torch_dtype is not None and value.dtype != torch_dtype:
        value = value.to(torch_dtype)
    return value.detach().clone()


def _is_initializer(obj: Any) -> bool:
    from loom import initializers
    return isinstance(obj, (initializers.Initializer, dict)) or (callable(obj) and not isinstance(
        obj, (torch.Tensor, np.ndarray)))
