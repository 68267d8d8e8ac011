"""Symbolic tensors: the edges of a functional graph, and shape inference on torch's ``meta`` device.

A :class:`SymbolicTensor` holds a shape (``None`` for unknown dimensions, always the batch), a dtype and
the :class:`~loom.graph.Node` that produced it. Output shapes are never hand-written per layer: the layer
runs once on ``meta`` tensors (no memory, no compute) with every unknown dimension set to one size and once
with another; output dimensions that differ between the two runs are unknown (``None``). The runs happen inside
``loom.backend.device_scope`` of the probes' device, so tensors a layer makes itself with loom's ops
(``ops.arange``, ``random.normal``) are ``meta`` tensors too.

Example:
    >>> import loom
    >>> x = loom.Input((None, 8))
    >>> x.shape, x.dtype
    ((None, None, 8), 'float32')
    >>> loom.layers.Dense(4)(x).shape
    (None, None, 4)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch.func import functional_call

from loom.variables import meta_like

from loom import backend, structure
from loom.errors import LoomError, ShapeError

if TYPE_CHECKING:
    from loom.graph import Node

# Two distinct sizes substituted for unknown dimensions while inferring shapes. Large enough for any
# kernel or pooling window, odd and coprime so that no arithmetic on them collides.
_PROBE_SIZES = (83, 89)


class KerasHistory(NamedTuple):
    """Where a symbolic tensor comes from, as Keras's ``_keras_history``."""

    operation: Any
    node_index: int
    tensor_index: int


def _operator(op: str, reflected: bool = False):
    """A Python operator of :class:`SymbolicTensor` running ``loom.ops.<op>`` (a node of the graph), as
    Keras's ``KerasTensor`` does: ``x + inputs``, ``2 * x``, ``x[:, 0]``, ``mask & other``."""
    def method(self, *other):
        from loom import ops
        fn = getattr(ops, op)
        return fn(*other, self) if reflected else fn(self, *other)
    method.__name__ = op
    return method


class SymbolicTensor:
    """A placeholder tensor in a functional graph: shape, dtype and the node that made it.

    Python's arithmetic, comparison (but ``==``: it stays identity), logical and indexing operators record the
    matching ``loom.ops`` call, as Keras's ``KerasTensor`` operators do.
    """

    __slots__ = ("shape", "torch_dtype", "node", "index", "name", "has_mask", "__weakref__")

    def __init__(self, shape, dtype=None, node: "Node | None" = None, index: int = 0, name: str | None = None,
                 has_mask: bool = False):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.torch_dtype = backend.torch_dtype(dtype)
        self.node = node
        self.index = index
        self.name = name
        self.has_mask = has_mask

    @property
    def dtype(self) -> str:
        """Keras-style dtype name, e.g. ``'float32'``."""
        return backend.dtype_name(self.torch_dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def _keras_history(self) -> "KerasHistory":
        """``(operation, node_index, tensor_index)``: the layer, which of its calls, which of its outputs."""
        if self.node is None:
            return KerasHistory(None, 0, self.index)
        return KerasHistory(self.node.layer, self.node.index, self.index)

    def __repr__(self) -> str:
        producer = f", produced by '{self.node.layer.name}'" if self.node else ""
        return f"<SymbolicTensor shape={self.shape}, dtype={self.dtype}{producer}>"

    def __bool__(self):
        raise TypeError("A SymbolicTensor has no truth value: it holds no data until the model runs.")

    def __len__(self):
        raise TypeError("A SymbolicTensor has no length; use .shape.")

    def __iter__(self):
        raise TypeError("A SymbolicTensor cannot be iterated; use .shape.")

    __add__, __radd__ = _operator("add"), _operator("add", reflected=True)
    __sub__, __rsub__ = _operator("subtract"), _operator("subtract", reflected=True)
    __mul__, __rmul__ = _operator("multiply"), _operator("multiply", reflected=True)
    __matmul__, __rmatmul__ = _operator("matmul"), _operator("matmul", reflected=True)
    __truediv__, __rtruediv__ = _operator("true_divide"), _operator("true_divide", reflected=True)
    __floordiv__, __rfloordiv__ = _operator("floor_divide"), _operator("floor_divide", reflected=True)
    __mod__, __rmod__ = _operator("mod"), _operator("mod", reflected=True)
    __pow__, __rpow__ = _operator("power"), _operator("power", reflected=True)
    __neg__, __abs__ = _operator("negative"), _operator("absolute")
    __lt__, __le__ = _operator("less"), _operator("less_equal")
    __gt__, __ge__ = _operator("greater"), _operator("greater_equal")
    __ne__ = _operator("not_equal")
    __and__, __rand__ = _operator("logical_and"), _operator("logical_and", reflected=True)
    __or__, __ror__ = _operator("logical_or"), _operator("logical_or", reflected=True)
    __xor__, __rxor__ = _operator("logical_xor"), _operator("logical_xor", reflected=True)
    __invert__ = _operator("logical_not")
    __getitem__ = _operator("get_item")
    __hash__ = object.__hash__

    def probe(self, fill: int, device: Any = "meta") -> torch.Tensor:
        """A tensor of this shape with unknown dimensions set to ``fill`` (on ``meta`` by default; zeros elsewhere)."""
        shape = tuple(fill if d is None else d for d in self.shape)
        if str(device) == "meta":
            return torch.empty(shape, dtype=self.torch_dtype, device="meta")
        return torch.zeros(shape, dtype=self.torch_dtype, device=device)


def is_symbolic(x: Any) -> bool:
    return isinstance(x, SymbolicTensor)


def describe(obj: Any) -> str:
    """Shapes of a nested structure of tensors for error messages."""
    def one(t):
        if isinstance(t, (SymbolicTensor, torch.Tensor)):
            return str(tuple(t.shape))
        return repr(t)
    shapes = structure.map_structure(one, obj)
    return str(shapes).replace("'", "")


def _needs_real_run(layer: torch.nn.Module) -> bool:
    """Whether running ``layer`` creates weights (unbuilt sublayers, lazy torch modules): meta cannot do that."""
    for module in layer.modules():
        if getattr(module, "built", True) is False and module is not layer:
            return True
        if any(torch.nn.parameter.is_lazy(p) for p in module.parameters(recurse=False)):
            return True
    return False


def _real_device(layer: torch.nn.Module) -> torch.device:
    for t in layer.parameters():
        return t.device
    for t in layer.buffers():
        return t.device
    return torch.device("cpu")


def _probe_run(layer: torch.nn.Module, args: tuple, kwargs: dict, fill: int, device: Any):
    def sub(t):
        return t.probe(fill, device) if isinstance(t, SymbolicTensor) else t
    p_args = structure.map_structure(sub, args)
    p_kwargs = structure.map_structure(sub, kwargs)
    # Tensors the layer creates itself (``ops.arange(n)`` for positions, ``torch.zeros``) are made on the probes'
    # device: loom's ops read its device scope, torch's factories the torch.device mode.
    with torch.no_grad(), backend.device_scope(device), torch.device(device):
        if str(device) == "meta":
            params = {name: meta_like(t)
                      for name, t in list(layer.named_parameters()) + list(layer.named_buffers())}
            out = functional_call(layer, params, p_args, p_kwargs, strict=False)
        else:
            out = layer(*p_args, **p_kwargs)
        mask = None
        if hasattr(layer, "compute_mask"):
            first = args[0] if args else None
            masks = structure.map_structure(
                lambda t: t.probe(fill, device)[..., 0].bool() if isinstance(t, SymbolicTensor) and t.has_mask
                else None, first)
            mask = layer.compute_mask(p_args[0] if p_args else None, masks)
    return out, mask


def _building_run(layer: torch.nn.Module, args: tuple, kwargs: dict, fill: int):
    """The first probe run, on real zeros, which also creates the weights of unbuilt sublayers.

    Real values can fail where Keras's ``meta`` trace cannot: positions ``ops.arange(length)`` looked up in an
    ``Embedding`` of ``sequence_length`` rows fail for ``length=fill``. Then the weights are created by a run
    with every unknown dimension set to 1 and the probe itself runs on ``meta``; the first error is raised if
    that does not work either.
    """
    device = _real_device(layer)
    try:
        return _probe_run(layer, args, kwargs, fill, device)
    except (LoomError, RuntimeError, ValueError, IndexError) as error:
        try:
            _probe_run(layer, args, kwargs, 1, device)
            if _needs_real_run(layer):
                raise error
            return _probe_run(layer, args, kwargs, fill, "meta")
        except Exception:
            raise error from None


def _run_probes(layer: torch.nn.Module, args: tuple, kwargs: dict) -> list:
    runs = []
    for fill in _PROBE_SIZES:
        if not runs and _needs_real_run(layer):
            runs.append(_building_run(layer, args, kwargs, fill))
            continue
        try:
            runs.append(_probe_run(layer, args, kwargs, fill, "meta"))
        except (NotImplementedError, RuntimeError) as e:
            # A call that makes its own tensors (``random.normal(shape=...)`` with a CPU generator) may mix
            # them with meta probes, or read values (``.item()``) of tensors made on the meta device; such a
            # layer is probed on real zeros instead.
            if not isinstance(e, NotImplementedError) and "device" not in str(e) and "meta" not in str(e):
                raise
            runs.append(_probe_run(layer, args, kwargs, fill, _real_device(layer)))
    return runs


def infer_outputs(layer: torch.nn.Module, args: tuple, kwargs: dict):
    """Run ``layer`` on probes twice and return ``(example outputs, [(shape, dtype)], [has_mask])``.

    The first run happens on real zeros when the layer still has weights to create (unbuilt sublayers of a
    subclassed model, lazy torch modules); every other run is on ``meta`` tensors.

    Raises:
        ShapeError: the layer cannot run on inputs of these shapes; the message names the layer and shapes.
    """
    try:
        runs = _run_probes(layer, args, kwargs)
    except LoomError:
        raise
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        name = getattr(layer, "name", type(layer).__name__)
        raise ShapeError(
            f"Layer '{name}' ({type(layer).__name__}) cannot be applied to inputs of shape "
            f"{describe(args[0] if len(args) == 1 else args)}: {e}") from e
    (out_a, mask_a), (out_b, _) = runs
    flat_a, flat_b = structure.flatten(out_a), structure.flatten(out_b)
    for t in flat_a:
        if not isinstance(t, torch.Tensor):
            raise ShapeError(f"Layer '{getattr(layer, 'name', type(layer).__name__)}' returned "
                             f"{type(t).__name__}; layer outputs must be tensors (or lists/dicts of tensors).")

    def spec(ta: torch.Tensor, tb: torch.Tensor):
        shape = tuple(None if da != db else da for da, db in zip(ta.shape, tb.shape))
        return shape, ta.dtype
    specs = [spec(a, b) for a, b in zip(flat_a, flat_b)]
    return out_a, specs, _has_masks(mask_a, len(specs))


def _has_masks(mask: Any, n: int) -> list[bool]:
    """Which of ``n`` outputs carry a mask, given what ``compute_mask`` returned."""
    if mask is None:
        return [False] * n
    if isinstance(mask, (list, tuple)):
        flat = [m is not None for m in mask]
        if len(flat) == n:
            return flat
        return [any(flat)] * n
    return [True] * n
