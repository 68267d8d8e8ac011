"""``Operation``: Keras's base class for a computation callable on tensors and on ``loom.Input`` placeholders.

A subclass implements ``call`` (torch math, or ``loom.ops``); calling the operation on real data runs
``call``; calling it on placeholders adds it to the functional graph (as a node named after the operation)
and returns a placeholder of the inferred shape, as ``keras.Operation`` does.

Example:
    >>> import torch, loom
    >>> class Double(loom.Operation):
    ...     def call(self, x):
    ...         return x * 2
    >>> op = Double()
    >>> op(torch.ones(2)).tolist(), op.name
    ([2.0, 2.0], 'double')
    >>> op(loom.Input((3,))).shape
    (None, 3)
"""

from __future__ import annotations

import inspect
from typing import Any

from loom import backend, structure
from loom.errors import ConfigError, GraphError
from loom.remat import get_current_remat_mode, remat
from loom.symbolic import SymbolicTensor, infer_outputs, is_symbolic

__all__ = ["Operation"]

_PLAIN = (str, int, float, bool, type(None))


class Operation:
    """A computation on tensors that also builds functional graphs (see the module docstring).

    Args:
        name: the operation's name (default: the class name in snake case, made unique).

    Example:
        >>> import loom
        >>> class AddOne(loom.Operation):
        ...     def call(self, x):
        ...         return x + 1
        >>> AddOne(name="add_one").get_config()
        {'name': 'add_one'}
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> "Operation":
        instance = super().__new__(cls)
        try:
            bound = inspect.signature(cls.__init__).bind(instance, *args, **kwargs)
            captured = {k: v for k, v in bound.arguments.items() if k != "self"}
        except TypeError:
            captured = None
        instance._init_arguments = captured
        return instance

    def __init__(self, name: str | None = None) -> None:
        if name is not None and (not isinstance(name, str) or "/" in name):
            raise ConfigError(f"{type(self).__name__}: name must be a string without '/'; received {name!r}.")
        self.name = name or backend.automatic_name(type(self))
        self._remat_mode = get_current_remat_mode()
        self._symbolic_io: tuple[Any, Any] | None = None

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """The computation on real tensors. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if structure.any_leaf(is_symbolic, [args, kwargs]):
            return self.symbolic_call(*args, **kwargs)
        call = self.rematerialized_call(self.call) if self._remat_mode is not None else self.call
        return call(*args, **kwargs)

    def symbolic_call(self, *args: Any, **kwargs: Any) -> Any:
        """Add this operation to the functional graph of its placeholder inputs; returns the output placeholders."""
        from loom.ops._tensor import _symbolic_call
        outputs = _symbolic_call(self.name, self.call, args, kwargs)
        self._symbolic_io = (args[0] if len(args) == 1 else list(args), outputs)
        return outputs

    def compute_output_spec(self, *args: Any, **kwargs: Any) -> Any:
        """Placeholders (shape and dtype) of the outputs for placeholder inputs, inferred on ``meta`` tensors."""
        from loom.layers.lambda_layer import Lambda
        placeholders = [t for t in structure.flatten([args, kwargs]) if isinstance(t, SymbolicTensor)]

        def run(inputs: list) -> Any:
            feed = iter(inputs)
            real = structure.map_structure(lambda t: next(feed) if isinstance(t, SymbolicTensor) else t,
                                           [list(args), kwargs])
            return self.call(*real[0], **real[1])

        example, specs, _ = infer_outputs(Lambda(run, name=f"{self.name}_spec"), (placeholders,), {})
        it = iter(specs)
        return structure.map_structure(lambda _: SymbolicTensor(*next(it)), example)

    def quantized_call(self, *args: Any, **kwargs: Any) -> Any:
        """The call of a quantized operation; loom runs the float ``call`` (it does not quantize operations)."""
        return self.call(*args, **kwargs)

    def rematerialized_call(self, call_fn: Any, *args: Any, **kwargs: Any) -> Any:
        """``call_fn`` rematerialized in the backward pass when this operation was made in a ``RematScope``."""
        return remat(call_fn) if self._remat_mode is not None else call_fn

    @property
    def input(self) -> Any:
        """The placeholder input(s) of the operation's one graph call."""
        return self._io(0)

    @property
    def output(self) -> Any:
        """The placeholder output(s) of the operation's one graph call."""
        return self._io(1)

    def _io(self, index: int) -> Any:
        if self._symbolic_io is None:
            raise GraphError(f"Operation '{self.name}' has never been called on loom.Input placeholders.")
        return self._symbolic_io[index]

    def get_config(self) -> dict:
        """``{'name': ...}`` plus the constructor's arguments when they are plain values (override otherwise)."""
        arguments = dict(self._init_arguments or {})
        arguments.pop("name", None)
        extra = arguments.pop("kwargs", {}) if isinstance(arguments.get("kwargs"), dict) else {}
        arguments.update(extra)
        if not all(isinstance(v, _PLAIN) or _plain_container(v) for v in arguments.values()):
            raise ConfigError(f"{type(self).__name__} was created with non-serializable arguments "
                              f"({sorted(arguments)}); override get_config() to save it.")
        return {"name": self.name, **arguments}

    @classmethod
    def from_config(cls, config: dict) -> "Operation":
        """The operation rebuilt from :meth:`get_config`'s dict."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<Operation name={self.name}>"


def _plain_container(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, _PLAIN) or _plain_container(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and (isinstance(v, _PLAIN) or _plain_container(v)) for k, v in value.items())
    return False
