"""Keras operations recorded in functional graphs (``keras.ops.not_equal`` for a mask, ``x * 2``...).

Keras 3 records a ``keras.ops`` call on symbolic tensors as a node of the model, saved as an object of
module ``keras.src.ops.*`` (``{"class_name": "NotEqual", "config": {"name": "not_equal"}}``). Each class
here is a loom layer that does the same with torch, registered as ``keras_ops>NAME`` so it never collides
with the layer of the same name (``Add`` the op is not ``Add`` the layer). Only the operations below are
understood; any other makes loading fail with a message naming it.

Example:
    >>> import torch
    >>> op = OPS["NotEqual"](name="not_equal")
    >>> op(torch.tensor([[0, 3]]), 0).tolist()
    [[False, True]]
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.backend import torch_dtype
from loom.layers.layer import Layer
from loom.registry import register_loom_serializable

PACKAGE = "keras_ops"


class KerasOperation(Layer):
    """Base of the recorded operations: ``fn(*args)`` with the options of ``config``."""

    fn: Callable[..., Any] = staticmethod(lambda *a: a[0])
    options: tuple[str, ...] = ()

    def __init__(self, name: str | None = None, **options: Any):
        unknown = sorted(set(options) - set(self.options))
        super().__init__(name=name, **{k: options[k] for k in unknown})  # Layer names what it refuses
        self._options = {k: options.get(k) for k in self.options}

    def call(self, *args: Any) -> Any:
        return type(self).fn(*args, **self._options)

    def get_config(self) -> dict:
        return {"name": self.name, **self._options}


def _op(name: str, fn: Callable[..., Any], options: tuple[str, ...] = ()) -> type:
    cls = type(name, (KerasOperation,), {"fn": staticmethod(fn), "options": options,
                                         "__doc__": f"Keras's recorded ``{name}`` operation.",
                                         "__module__": __name__})
    return register_loom_serializable(package=PACKAGE)(cls)


def _axis_reduce(reduce: Callable) -> Callable:
    def run(x: torch.Tensor, axis: Any = None, keepdims: bool = False, **_: Any) -> torch.Tensor:
        if axis is None:
            return reduce(x, dim=tuple(range(x.dim())), keepdim=keepdims)
        return reduce(x, dim=tuple(axis) if isinstance(axis, (list, tuple)) else axis, keepdim=keepdims)
    return run


def _tensor(x: Any, like: torch.Tensor) -> Any:
    return x if isinstance(x, torch.Tensor) else torch.as_tensor(x, device=like.device)


def _binary(fn: Callable) -> Callable:
    return lambda a, b: fn(a, b) if isinstance(a, torch.Tensor) else fn(_tensor(a, b), b)


def _max(x: torch.Tensor, axis: Any = None, keepdims: bool = False, initial: Any = None) -> torch.Tensor:
    out = _axis_reduce(torch.amax)(x, axis, keepdims)
    return out if initial is None else torch.clamp(out, min=initial)


def _relu(x: torch.Tensor, negative_slope: float = 0.0, max_value: Any = None, threshold: float = 0.0):
    from loom.activations import relu
    return relu(x, negative_slope=negative_slope, max_value=max_value, threshold=threshold)


OPS: dict[str, type] = {cls.__name__: cls for cls in (
    _op("NotEqual", _binary(torch.ne)), _op("Equal", _binary(torch.eq)), _op("Greater", _binary(torch.gt)),
    _op("Less", _binary(torch.lt)), _op("Add", _binary(torch.add)), _op("Subtract", _binary(torch.sub)),
    _op("Multiply", _binary(torch.mul)), _op("Divide", _binary(torch.true_divide)),
    _op("Maximum", _binary(torch.maximum)), _op("Minimum", _binary(torch.minimum)),
    _op("Matmul", torch.matmul), _op("Negative", torch.neg), _op("Abs", torch.abs), _op("Exp", torch.exp),
    _op("Log", torch.log), _op("Sqrt", torch.sqrt), _op("Square", torch.square), _op("Tanh", torch.tanh),
    _op("Sigmoid", torch.sigmoid),
    _op("Cast", lambda x, dtype: x.to(torch_dtype(dtype)), ("dtype",)),
    _op("ExpandDims", lambda x, axis: torch.unsqueeze(x, axis), ("axis",)),
    _op("Squeeze", lambda x, axis=None: torch.squeeze(x) if axis is None else torch.squeeze(x, axis), ("axis",)),
    _op("Reshape", lambda x, newshape: torch.reshape(x, tuple(newshape)), ("newshape",)),
    _op("Transpose", lambda x, axes=None: x.permute(*axes) if axes is not None else x.permute(
        *reversed(range(x.dim()))), ("axes",)),
    _op("Concatenate", lambda xs, axis=0: torch.cat(list(xs), dim=axis), ("axis",)),
    _op("Mean", _axis_reduce(torch.mean), ("axis", "keepdims")),
    _op("Sum", _axis_reduce(torch.sum), ("axis", "keepdims")),
    _op("Max", _max, ("axis", "keepdims", "initial")),
    _op("ReLU", _relu, ("negative_slope", "max_value", "threshold")),
)}
# Keras modules the operations are written under (for loom → Keras).
MODULES = {**{name: "keras.src.ops.numpy" for name in OPS}, "Cast": "keras.src.ops.core",
           "Sigmoid": "keras.src.ops.nn", "ReLU": "keras.src.activations.activations"}
