"""The Layer base class: a ``torch.nn.Module`` with Keras's lazy build, weights and config.

A layer creates its weights in :meth:`Layer.build` from the first input shape it sees, computes in
:meth:`Layer.call`, and describes itself with :meth:`Layer.get_config`. Called on symbolic tensors it records
a graph node; called on real tensors (or NumPy arrays) it computes. Weights keep Keras's shapes and order,
so :meth:`get_weights` / :meth:`set_weights` exchange weights with Keras models.

Layers start in inference mode, as a Keras layer called without ``training=True``; ``fit`` switches to
training mode, and plain-torch ``model.train()`` / ``model.eval()`` work as usual.

Example:
    >>> import torch, loom
    >>> class Scale(loom.layers.Layer):
    ...     def build(self, input_shape):
    ...         self.add_weight("scale", (input_shape[-1],), initializer="ones")
    ...     def call(self, x):
    ...         return x * self.scale
    >>> layer = Scale()
    >>> layer(torch.ones(2, 3)).shape
    torch.Size([2, 3])
    >>> [w.shape for w in layer.get_weights()]
    [(3,)]
"""

from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any, Iterable

import numpy as np
import torch
from torch import nn

from loom import backend, config, structure, traceback_utils
from loom.errors import ConfigError, GraphError, InputError, ShapeError
from loom.layers import eager_masks
from loom.layers.input_spec import InputSpec
from loom.layers.layer_policy import LayerPolicy, layer_dtype
from loom.layers.modes import restore_modes, saved_modes, set_subtree_mode
from loom.registry import register_builtin, registered_name
from loom.symbolic import SymbolicTensor, infer_outputs, is_symbolic
from loom.layers.weights import create_weight, track_metric, track_variable
from loom.remat import get_current_remat_mode, rematerialized_call
from loom.symbolic_scope import SymbolicScope
from loom.variables import Variable, current_path, name_scope

_CONTAINERS = (nn.ModuleList, nn.ModuleDict)

_BASE_KWARGS = ("trainable", "name", "dtype", "input_shape", "batch_input_shape", "batch_size", "input_dim",
                "input_length")


class Layer(LayerPolicy, nn.Module):
    """Base class of every loom layer.

    Args:
        trainable: whether the layer's weights are updated by training (default ``True``).
        name: the layer's name; default an automatic Keras-style name (``dense``, ``dense_1``...).
        dtype: the weights' dtype (default ``'float32'``), or a quantized dtype policy (``'int8_from_float32'``,
            a policy or its config; see :mod:`loom.layers.quantized`) or a ``DTypePolicyMap``.
        input_shape: for the first layer of a ``Sequential``: the input shape without batch (default ``None``).
        batch_input_shape: the same with the batch size first (default ``None``).
        batch_size: the fixed batch size, with ``input_shape`` (default ``None``).
        input_dim: for a first layer taking vectors: ``input_shape=(input_dim,)`` (default ``None``).
        **kwargs: must be empty: an unknown keyword raises ConfigError.

    Subclasses create weights in ``build(input_shape)`` with ``add_weight`` and compute in
    ``call(inputs)``; calling the layer builds it on the first input it sees.

    Example:
        >>> import torch, loom
        >>> class Scale(loom.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.factor = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, inputs):
        ...         return inputs * self.factor
        >>> Scale()(torch.ones(2, 3)).shape
        torch.Size([2, 3])
    """

    input_spec: InputSpec | None = None
    _remat_mode = None
    supports_masking: bool = False
    _computes_mask: bool = False  # the class overrides compute_mask (set for each subclass)
    #: Integer (and bool) inputs become the float dtype of the layer's own weights, as Keras's float ops
    #: promote them (true for loom's layers with float weights except ``Embedding``; user layers get the
    #: integers, as in Keras).
    _casts_int_inputs: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("loom.") and "_registered_name" not in cls.__dict__:
            register_builtin(cls)  # a class made with its own registered name ('keras_ops>Add') is found by that
        cls._call_takes_mask = "mask" in inspect.signature(cls.call).parameters
        cls._call_takes_training = "training" in inspect.signature(cls.call).parameters
        cls._mask_arguments = _mask_arguments(cls.call)
        cls._computes_mask = cls.compute_mask is not Layer.compute_mask
        if "build" in cls.__dict__:
            cls.build = _marks_built(cls.__dict__["build"])
        if "_casts_int_inputs" not in cls.__dict__ and cls.__module__.startswith("loom.layers."):
            cls._casts_int_inputs = True

    def __init__(self, *, trainable: bool = True, name: str | None = None, dtype: Any = None,
                 input_shape: Iterable | None = None, batch_input_shape: Iterable | None = None,
                 batch_size: int | None = None, input_dim: int | None = None, **kwargs):
        super().__init__()
        if kwargs:
            raise ConfigError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}.")
        if name is not None and (not isinstance(name, str) or not name or "/" in name):
            raise ConfigError(f"{type(self).__name__}: name must be a non-empty string without '/', got {name!r}.")
        self.name = name or backend.automatic_name(type(self))
        self._dtype, policy = layer_dtype(dtype)
        if policy is not None:
            self._dtype_policy = policy
        self._trainable = bool(trainable)
        self._remat_mode = get_current_remat_mode()
        self.built = False
        self._inbound_nodes: list = []
        self._trainable_names: list[str] = []
        self._non_trainable_names: list[str] = []
        self._regularizers: dict[str, Any] = {}
        self._batch_input_shape = None
        self._build_inputs = None
        self._graph_keys: set[str] = set()
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)
        elif input_dim is not None:
            self._batch_input_shape = (batch_size, input_dim)
        nn.Module.train(self, False)  # inference mode, as a Keras layer; not yet set by the user (_mode_set)

    # ----------------------------------------------------------------------------------------- building
    def build(self, input_shape: Any) -> None:
        """Create the weights for inputs of ``input_shape`` (a tuple, or a list of tuples). Override this.

        Called directly on a layer that does not override it (a subclassed model, say), it marks the layer
        built and makes no weights, as Keras does, with Keras's warning when a sublayer is still unbuilt (its
        weights are then made by the first call).
        """
        _note_build_shape(self, input_shape)
        if type(self).build is Layer.build and any(not layer.built for layer in self._sublayers()):
            warnings.warn(f"`build()` was called on layer '{self.name}', however the layer does not have a "
                          "`build()` method implemented and it looks like it has unbuilt state. This will cause "
                          "the layer to be marked as built, despite not being actually built, which may cause "
                          "failures down the line. Make sure to implement a proper `build()` method.",
                          stacklevel=2)
        self.built = True

    def call(self, inputs, *args, **kwargs):
        """The computation on real tensors. Override this."""
        raise NotImplementedError(f"{type(self).__name__} must implement call().")

    #: The call returns new tensors that alias neither its inputs nor its state (graph runners may then let the
    #: next layer overwrite them in inference).
    _fresh_output = False
    #: ``_call_in_place`` can overwrite the input (set by the layers that implement it).
    _runs_in_place = False
    #: Inference computes each sample on its own and gains from running a large batch in pieces (graph runners
    #: may then split it; honoured for loom's own layers only, not for subclasses defined elsewhere).
    _inference_in_pieces = True
    #: The ``training`` value a call gets when neither the call nor ``train()`` / ``eval()`` gave one. Keras's
    #: random preprocessing layers default to ``training=True``, so called directly they augment.
    _training_by_default = False
    _mode_set = False  # set once train() / eval() has run on this layer (then its torch mode decides)

    def _call_in_place(self, inputs: Any) -> torch.Tensor | None:
        """Inference only: this layer's output computed by overwriting its (first) input, which the graph runner
        guarantees nothing else reads; ``None`` when this layer or these inputs cannot (then ``call`` runs)."""
        return None

    def train(self, mode: bool = True):
        """torch's ``train``; afterwards calls without ``training=`` follow the torch mode it set."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        set_subtree_mode(self, mode)
        return self

    train._sets_mode_directly = True  # loom.layers.modes.set_mode may set such a layer's subtree itself

    def _apply(self, fn, recurse=True):
        """torch's ``_apply`` (``.to()``, ``.double()``, ``.half()``...); a float layer whose float weights it
        converts takes their dtype as its own, so its inputs are cast to it as before."""
        first = next((t for _, t in self._own_weights() if t.is_floating_point()), None)
        before = None if first is None else first.dtype
        result = super()._apply(fn, recurse)
        if before is not None and before == self._dtype and self._dtype_policy is None:
            after = next(t for _, t in self._own_weights() if t.is_floating_point()).dtype
            if after != before:
                self._dtype = after
        return result

    def forward(self, *args, **kwargs):
        if args and isinstance(args[0], torch.Tensor) and (args[0].dtype is not torch.float32
                                                             or self._dtype is not torch.float32):
            args = (self._input_dtype(args[0]),) + args[1:]  # graph runners call forward directly
        if self._call_takes_training and kwargs.get("training") is None:
            kwargs["training"] = self.training or (self._training_by_default and not self._mode_set)
        if _ADDED_LOSSES.in_use:
            return self._forward_tracking_losses(args, kwargs)
        if self._remat_mode is not None:
            return rematerialized_call(self, self._remat_mode, args, kwargs)
        return self.call(*args, **kwargs)

    def _forward_tracking_losses(self, args: tuple, kwargs: dict):
        """``forward`` once some layer used ``add_loss``: the outermost call clears the losses of the last one."""
        if _ADDED_LOSSES.depth == 0:
            for module in self.modules():
                if module.__dict__.get("_added_losses"):
                    module._added_losses = []
        _ADDED_LOSSES.depth += 1
        try:
            if self._remat_mode is not None:
                return rematerialized_call(self, self._remat_mode, args, kwargs)
            return self.call(*args, **kwargs)
        finally:
            _ADDED_LOSSES.depth -= 1

    def stateless_call(self, trainable_variables: list, non_trainable_variables: list, *args: Any,
                       return_losses: bool = False, **kwargs: Any) -> Any:
        """Call the layer with the given weight values instead of its own, as Keras's ``stateless_call``.

        ``trainable_variables`` / ``non_trainable_variables`` are values in the order of
        :attr:`trainable_weights` / :attr:`non_trainable_weights`; gradients flow to them, and the layer's
        own weights are neither used nor changed. Returns ``(outputs, new_non_trainable_variables)`` (plus
        the losses added during the call with ``return_losses=True``).
        """
        from torch.func import functional_call
        trainable, frozen = list(self.trainable_weights), list(self.non_trainable_weights)
        for given, own, kind in ((trainable_variables, trainable, "trainable"),
                                 (non_trainable_variables, frozen, "non-trainable")):
            if len(given) != len(own):
                raise InputError(f"Layer '{self.name}': stateless_call got {len(given)} {kind} variables; the "
                                 f"layer has {len(own)}.")
        names = {id(t): n for n, t in list(self.named_parameters(remove_duplicate=False)) +
                 list(self.named_buffers(remove_duplicate=False))}
        new_frozen = [backend.to_tensor(v).detach().clone() for v in non_trainable_variables]
        mapping = {names[id(w)]: backend.to_tensor(v) for w, v in zip(trainable, trainable_variables)}
        mapping.update({names[id(w)]: v for w, v in zip(frozen, new_frozen)})
        outputs = functional_call(self, mapping, args, kwargs, tie_weights=False, strict=False)
        if return_losses:
            return outputs, new_frozen, list(self.losses)
        return outputs, new_frozen

    def add_loss(self, loss: Any) -> None:
        """Add ``loss`` (a scalar tensor computed in ``call``) to :attr:`losses`, as Keras's ``add_loss``.

        ``fit`` adds the model's ``losses`` to the compiled loss; each call of the outermost layer or model
        starts a fresh list. Inside a :class:`loom.StatelessScope` with ``collect_losses`` the scope collects it.
        """
        from loom.stateless_scope import get_stateless_scope
        from loom.symbolic_scope import in_symbolic_scope
        _ADDED_LOSSES.in_use = True
        if in_symbolic_scope():
            return
        losses = loss if isinstance(loss, (list, tuple)) else [loss]
        device = backend.scope_device()
        losses = [t if isinstance(t, torch.Tensor) else torch.as_tensor(t, dtype=torch.float32, device=device)
                  for t in losses]
        scope = get_stateless_scope()
        if scope is not None and scope.collect_losses:
            for t in losses:
                scope.add_loss(t)
        self.__dict__.setdefault("_added_losses", []).extend(losses)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The output shape for inputs of ``input_shape`` (a tuple, or a list of tuples for several inputs).

        Inferred by running the layer on ``meta`` tensors (no memory, no compute); override it in a custom
        layer whose call cannot run on placeholders. ``None`` marks an unknown dimension.
        """
        specs = self.compute_output_spec(input_shape)
        return structure.map_structure(lambda t: tuple(t.shape), specs)

    def compute_output_spec(self, input_shape: Any) -> Any:
        """Symbolic tensors (shape and dtype) of the outputs for inputs of ``input_shape``, as Keras's."""
        def is_shape(s: Any) -> bool:
            return isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s)
        dtype = self._dtype or torch.float32
        inputs = (SymbolicTensor(tuple(input_shape), dtype) if is_shape(input_shape) else
                  [SymbolicTensor(tuple(s), dtype) for s in input_shape])
        self._maybe_build(structure.map_structure(lambda t: t.shape, inputs))
        with SymbolicScope():
            example, specs, _ = infer_outputs(self, (inputs,), {})
        it = iter(specs)
        return structure.map_structure(lambda _: SymbolicTensor(*next(it)), example)

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            if isinstance(value, Variable) and "_parameters" in self.__dict__ and track_variable(self, name, value):
                return
            track_metric(self, value)
            value = _as_container(value)
            graph_keys = self.__dict__.get("_graph_keys")
            if graph_keys and name in graph_keys and not isinstance(value, (nn.Module, nn.Parameter)):
                object.__setattr__(self, name, value)  # a plain attribute beside a graph layer of that name
                return
        super().__setattr__(name, value)

    def _register_layer(self, layer: "Layer") -> None:
        """Make ``layer`` a child module under its name (even one like ``'output'`` that a property uses)."""
        key = layer.name.replace(".", "_")
        current = self._modules.get(key)
        if current is layer:
            return
        if current is not None:
            raise GraphError(f"'{self.name}' already has a different layer named '{layer.name}'; layer names "
                             f"must be unique.")
        self._modules[key] = layer
        self._graph_keys.add(key)

    def _unregister_layer(self, layer: "Layer") -> None:
        key = layer.name.replace(".", "_")
        if self._modules.get(key) is layer:
            del self._modules[key]
            self._graph_keys.discard(key)

    def add_weight(self, *args: Any, **kwargs: Any) -> Variable:
        """Create a weight (a :class:`~loom.variables.Variable`) in Keras's order: trainable weights first.

        Keras 3's arguments: ``add_weight(shape=None, initializer=None, dtype=None, trainable=True,
        autocast=True, regularizer=None, constraint=None, aggregation='none', overwrite_with_gradient=False,
        name=None)``; ``shape`` defaults to ``()``, ``initializer`` to ``'glorot_uniform'`` for float dtypes
        (else ``'zeros'``), ``name`` to ``'variable'`` (made unique in the layer). Keras 2's order with the
        name first, ``add_weight(name, shape, initializer, regularizer, trainable, dtype, constraint)``,
        is accepted too.

        ``shape`` is Keras's shape; the initializer sees it (so fans are Keras's) and :meth:`weight_from_keras`
        turns the value into the stored layout. Trainable weights are parameters; non-trainable ones (moving
        statistics) are buffers.
        """
        return create_weight(self, args, kwargs)

    def _maybe_build(self, input_shape: Any) -> None:
        if self.built:
            return
        try:
            with name_scope(self.name, self):
                self._path = current_path()
                if type(self).build is not Layer.build:  # the default only marks the layer built (below)
                    self.build(input_shape)
        except (ShapeError, ConfigError):
            raise
        except (ValueError, TypeError, RuntimeError, IndexError) as e:
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) cannot be built for input shape "
                             f"{input_shape}: {e}") from e
        self.built = True

    # ------------------------------------------------------------------------------------------ calling
    def __call__(self, *args, **kwargs):
        try:  # free unless an error is raised (then loom's frames leave its traceback; see traceback_utils)
            if not kwargs and len(args) == 1 and self.built and isinstance(args[0], torch.Tensor):
                if not (eager_masks.STATE.in_use or self._computes_mask):
                    return nn.Module.__call__(self, args[0])  # the hot path: forward casts the one tensor
                return self._call_eager(args, {})
            if structure.any_leaf(is_symbolic, [args, kwargs]):
                return self._call_symbolic(args, kwargs)
            if not self.built:
                with name_scope(self.name, self):  # weights made during the first call get this layer's path
                    return self._call_eager(args, kwargs)
            return self._call_eager(args, kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised unchanged, only its traceback is shorter
            if not config.is_traceback_filtering_enabled():
                raise
            tb = traceback_utils.filtered(e.__traceback__)
            try:
                raise e.with_traceback(tb)
            finally:
                del tb, e

    def _call_eager(self, args: tuple, kwargs: dict):
        """An eager call, with Keras's masks carried on the tensors (see :mod:`loom.layers.eager_masks`)."""
        if not (eager_masks.STATE.in_use or self._computes_mask):
            return self._call_unmasked(args, kwargs)
        if args:
            args = (self._convert_inputs(args[0]),) + args[1:]
        kwargs = dict(kwargs)
        mask = eager_masks.input_mask(self, args, kwargs)
        outputs = self._call_unmasked(args, kwargs)
        if mask is not None or self._computes_mask:
            eager_masks.attach_output_mask(self, args[0] if args else None, outputs, mask)
        return outputs

    def _call_unmasked(self, args: tuple, kwargs: dict):
        training = kwargs.pop("training", None)
        if args:
            args = (self._convert_inputs(args[0]),) + args[1:]
        if not self.built:
            self._build_inputs = structure.map_structure(  # what summary() shows for layers outside a graph
                lambda t: SymbolicTensor(tuple(t.shape), t.dtype) if isinstance(t, torch.Tensor) else None,
                args[0] if args else None)
            self._maybe_build(structure.map_structure(
                lambda t: (None,) + tuple(t.shape[1:]) if isinstance(t, torch.Tensor) else None,
                args[0] if args else None))
        if args:
            args = (structure.map_structure(self._input_dtype, args[0]),) + args[1:]
        if training is None:
            return nn.Module.__call__(self, *args, **kwargs)
        # The mode given for this call holds for every sublayer, then each one's own mode comes back.
        saved = saved_modes(self)
        for module, _, _ in saved:
            module.training = bool(training)
            if isinstance(module, Layer):
                module._mode_set = True
        try:
            return nn.Module.__call__(self, *args, **kwargs)
        finally:
            restore_modes(saved)

    def _convert_inputs(self, inputs: Any) -> Any:
        """NumPy arrays and Python numbers in ``inputs`` as tensors on this layer's device and float dtype.

        A nested Python list of numbers is one array; other lists, tuples and dicts are structures of inputs.
        """
        if isinstance(inputs, torch.Tensor):
            return inputs
        placement: list = []

        def to_tensor(x):
            if not placement:
                placement.append(self._placement())
            device, float_dtype = placement[0]
            t = backend.to_tensor(x, device=device)
            if float_dtype is not None and t.is_floating_point() and t.dtype != float_dtype:
                t = t.to(float_dtype)
            return t

        def convert(x):
            if isinstance(x, (np.ndarray, np.generic)) or (isinstance(x, (int, float)) and not isinstance(x, bool)):
                return to_tensor(x)
            if isinstance(x, (list, tuple)):
                return to_tensor(x) if _is_number_rows(x) else type(x)(convert(v) for v in x)
            if isinstance(x, dict):
                return {k: convert(v) for k, v in x.items()}
            return x
        return convert(inputs)

    def _input_dtype(self, x: Any) -> Any:
        """``x`` cast as Keras casts a layer's inputs: floats to the dtype of the layer's own float weights
        (outside autocast), integers too where :attr:`_casts_int_inputs`; anything else unchanged."""
        if not isinstance(x, torch.Tensor) or x.dtype is torch.float32 and self._dtype is torch.float32:
            return x
        floating = x.is_floating_point()
        if not (floating or self._casts_int_inputs) or x.is_complex():
            return x
        want = None
        for _, t in self._own_weights():
            if t.is_floating_point():
                want = t.dtype
                break
        if want is None or want == x.dtype or floating and torch.is_autocast_enabled(x.device.type):
            return x
        return x.to(want)

    def _placement(self) -> tuple[torch.device | None, torch.dtype | None]:
        """The device and float dtype of this layer's first weight (``(None, None)`` when it has none)."""
        for t in self.parameters():
            return t.device, (t.dtype if t.is_floating_point() else None)
        for t in self.buffers():
            return t.device, (t.dtype if t.is_floating_point() else None)
        return None, None

    def _call_symbolic(self, args: tuple, kwargs: dict):
        from loom.graph import Node
        if not args:
            raise InputError(f"Layer '{self.name}' was called without inputs.")
        kwargs = dict(kwargs)
        training = kwargs.pop("training", None)
        inputs = args[0]
        shapes = structure.map_structure(lambda t: t.shape if is_symbolic(t) else None, inputs)
        self._check_input_spec(shapes)
        self._maybe_build(shapes)
        with SymbolicScope():
            example, specs, has_masks = infer_outputs(self, args, kwargs)
        flat_outputs = [SymbolicTensor(shape, dtype, index=i, has_mask=has_mask)
                        for i, ((shape, dtype), has_mask) in enumerate(zip(specs, has_masks))]
        it = iter(flat_outputs)
        outputs = structure.map_structure(lambda _: next(it), example)
        node = Node(self, args, kwargs, outputs, training=None if training is None else bool(training))
        for t in flat_outputs:
            t.node = node
        return outputs

    def _check_input_spec(self, shapes: Any) -> None:
        if self.input_spec is None:
            return
        specs = self.input_spec if isinstance(self.input_spec, (list, tuple)) else [self.input_spec]
        flat = shapes if isinstance(shapes, (list, tuple)) and shapes and isinstance(shapes[0], tuple) else [shapes]
        for spec, shape in zip(specs, flat):
            if spec is not None and shape is not None:
                spec.check(self.name, tuple(shape))

    def compute_mask(self, inputs, mask=None):
        """The mask of the outputs: the input mask when ``supports_masking``, else ``None``."""
        return mask if self.supports_masking else None

    # ---------------------------------------------------------------------------------------- weights
    def _split_children(self) -> tuple[list["Layer"], list[tuple[str, nn.Module]]]:
        """Child layers and plain torch child modules, in attribute order; lists/dicts of layers are opened."""
        layers: list[Layer] = []
        modules: list[tuple[str, nn.Module]] = []
        seen: set[int] = set()

        def walk(module: nn.Module, prefix: str) -> None:
            for name, child in module.named_children():
                if id(child) in seen:
                    continue
                seen.add(id(child))
                if isinstance(child, Layer):
                    layers.append(child)
                elif isinstance(child, _CONTAINERS):
                    walk(child, f"{prefix}{name}.")
                else:
                    modules.append((f"{prefix}{name}", child))
        walk(self, "")
        return layers, modules

    def _sublayers(self) -> list["Layer"]:
        """Layers whose weights follow this layer's own in ``weights`` (child layers, in attribute order)."""
        return self._split_children()[0]

    def _own_weights(self, names: list[str] | None = None) -> list[tuple[str, torch.Tensor]]:
        """``(attribute, weight)`` for ``names`` (default: all, in Keras's order), read from torch's registries (so
        that a property of the same name, such as ``Normalization.mean`` in the broadcast shape, does not hide
        the weight)."""
        params, buffers = self._parameters, self._buffers
        if names is None:
            names = self._trainable_names + self._non_trainable_names
        return [(n, params[n] if n in params else buffers[n]) for n in names]

    def _weight_entries(self) -> list[tuple["Layer", str, torch.Tensor]]:
        seen: set[int] = set()
        out = []
        for name, t in self._own_weights():
            if id(t) not in seen:
                seen.add(id(t))
                out.append((self, name, t))
        for layer in self._sublayers():
            for owner, name, t in layer._weight_entries():
                if id(t) not in seen:
                    seen.add(id(t))
                    out.append((owner, name, t))
        for name, t in self._foreign_parameters():
            if id(t) not in seen:
                seen.add(id(t))
                out.append((self, name, t))
        return out

    def _foreign_parameters(self) -> list[tuple[str, torch.Tensor]]:
        """Parameters of plain ``nn.Module`` children (not loom layers), in torch's order."""
        out = []
        for child_name, child in self._split_children()[1]:
            for n, p in child.named_parameters():
                out.append((f"{child_name}.{n}", p))
            for n, b in child.named_buffers():
                out.append((f"{child_name}.{n}", b))
        return out

    @property
    def weights(self) -> list[torch.Tensor]:
        """All weights in Keras order: this layer's trainable, its non-trainable, then sublayers'."""
        return [t for _, _, t in self._weight_entries()]

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        return [t for t in self.weights if isinstance(t, nn.Parameter) and t.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        return [t for t in self.weights if not (isinstance(t, nn.Parameter) and t.requires_grad)]

    # Keras's names for the same lists (its ``variables`` add SeedGenerator states, which in loom are not weights).
    variables = property(lambda self: self.weights, doc="``weights`` (Keras's name for them).")
    trainable_variables = property(lambda self: self.trainable_weights, doc="``trainable_weights``.")
    non_trainable_variables = property(lambda self: self.non_trainable_weights, doc="``non_trainable_weights``.")

    def weight_to_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """One stored weight in Keras's layout. Override when the stored layout differs (e.g. conv kernels)."""
        return value

    def weight_from_keras(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """A Keras-layout weight in the stored layout; the inverse of :meth:`weight_to_keras`."""
        return value

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays, in Keras's shapes and order."""
        # .copy(): copies, as Keras, never views of the live tensors (which the optimizer changes in place).
        return [owner.weight_to_keras(name, t.detach()).cpu().numpy().copy()
                for owner, name, t in self._weight_entries()]

    def set_weights(self, weights: list) -> None:
        """Load weights given in Keras's shapes and order (as returned by Keras's ``get_weights()``).

        Raises:
            InputError: the number of arrays or one array's shape does not match; the message names it.
        """
        entries = self._weight_entries()
        weights = list(weights)
        if len(weights) != len(entries):
            raise InputError(f"Layer '{self.name}' expects {len(entries)} weight arrays "
                             f"({[f'{o.name}/{n}' for o, n, _ in entries]}), but got {len(weights)}.")
        with torch.no_grad():
            for (owner, name, t), w in zip(entries, weights):
                value = owner.weight_from_keras(name, torch.as_tensor(np.asarray(w)))
                if tuple(value.shape) != tuple(t.shape):
                    expected = owner.weight_to_keras(name, t.detach()).shape
                    raise InputError(f"Weight '{owner.name}/{name}' has shape {tuple(expected)}, but the "
                                     f"given array has shape {np.asarray(w).shape}.")
                t.copy_(value.to(dtype=t.dtype, device=t.device))

    def count_params(self) -> int:
        """The number of scalars in all weights (shared weights counted once)."""
        return int(sum(t.numel() for t in self.weights))

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = bool(value)
        for module in self.modules():
            if isinstance(module, Layer):
                module._trainable = value
            for p in module.parameters(recurse=False):
                p.requires_grad_(value)

    @property
    def losses(self) -> list[torch.Tensor]:
        """Regularization penalties of this layer and its sublayers, computed from the current weights."""
        return self._collect_losses()

    def _collect_losses(self) -> list[torch.Tensor]:
        # A method, not the property itself, so that subclasses extend it with super() (traceable by torch.compile).
        out = [reg(getattr(self, name)) for name, reg in self._regularizers.items()]
        out.extend(self.__dict__.get("_added_losses", ()))
        for layer in self._sublayers():
            out.extend(layer.losses)
        return out

    @property
    def dtype(self) -> str:
        return backend.dtype_name(self._dtype)

    # ------------------------------------------------------------------------------------------- shapes
    def _node_attr(self, attr: str):
        if not self._inbound_nodes:
            raise GraphError(f"Layer '{self.name}' has never been called, so it has no {attr}.")
        values = []
        for node in self._inbound_nodes:
            tensors = node.output_tensors if attr == "output_shape" else node.input_tensors
            shapes = [t.shape for t in tensors]
            values.append(shapes[0] if len(shapes) == 1 else shapes)
        if any(v != values[0] for v in values):
            raise GraphError(f"Layer '{self.name}' has been called on inputs of different shapes "
                                 f"({values}); its {attr} is ambiguous.")
        return values[0]

    @property
    def output_shape(self):
        """The output shape of the layer (batch dim ``None``), from the graph it was called in."""
        return self._node_attr("output_shape")

    @property
    def input_shape(self):
        return self._node_attr("input_shape")

    @property
    def output(self):
        """The symbolic output of the layer's first call."""
        if not self._inbound_nodes:
            raise GraphError(f"Layer '{self.name}' has never been called, so it has no output.")
        return self._inbound_nodes[0].outputs

    def __dir__(self) -> list[str]:
        """Attribute names that resolve: a layer never called symbolically has no ``input``/``output``/shapes
        (tools that read every listed attribute, such as ``torch.jit.trace``, would otherwise fail on it)."""
        names = super().__dir__()
        if self._inbound_nodes:
            return names
        return [n for n in names if n not in ("input", "output", "input_shape", "output_shape")]

    @property
    def input(self):
        """The symbolic input of the layer's first call."""
        if not self._inbound_nodes:
            raise GraphError(f"Layer '{self.name}' has never been called, so it has no input.")
        node = self._inbound_nodes[0]
        return node.call_args[0] if node.call_args else node.outputs

    # ------------------------------------------------------------------------------------------- config
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this layer (Keras's base keys plus the layer's own)."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_config()}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "Layer":
        return cls(**config)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"

    @classmethod
    def registered_name(cls) -> str:
        return registered_name(cls)


class _AddedLosses:
    """Whether any layer has used ``add_loss`` (until then ``forward`` tracks no call depth) and the depth."""
    in_use = False
    depth = 0


_ADDED_LOSSES = _AddedLosses()


def _as_container(value: Any) -> Any:
    """A list/tuple of modules as ``nn.ModuleList`` and a dict of them as ``nn.ModuleDict``, so torch and the
    weight order see layers kept in containers, as Keras tracks them."""
    if type(value) in (list, tuple) and value and all(isinstance(v, nn.Module) for v in value):
        return nn.ModuleList(value)
    if type(value) is dict and value and all(isinstance(k, str) and isinstance(v, nn.Module) for k, v in value.items()):
        return nn.ModuleDict(value)
    return value


def _is_number_rows(x: Any) -> bool:
    """A (nested) Python list of numbers, i.e. one array rather than a list of inputs."""
    while isinstance(x, (list, tuple)) and x:
        x = x[0]
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _mask_arguments(call) -> tuple[tuple[int, str], ...]:
    """``(position, name)`` of the call arguments ``x`` that have a ``x_mask`` argument beside them: a graph
    passes each such tensor's mask there, as Keras does (e.g. ``MultiHeadAttention``'s ``value_mask``)."""
    names = [n for n in inspect.signature(call).parameters if n != "self"]
    return tuple((i, n) for i, n in enumerate(names) if f"{n}_mask" in names)


def _marks_built(build):
    """Wrap a subclass's ``build`` so that calling it directly (as Keras users do) marks the layer built."""
    @functools.wraps(build)
    def wrapper(self, *args, **kwargs):
        with name_scope(self.name, self):  # weights made by a direct call get Keras's paths ('net/dense/kernel')
            if self._path is None:
                self._path = current_path()
            result = build(self, *args, **kwargs)
        if args:
            _note_build_shape(self, args[0])
        self.built = True
        return result
    return wrapper


def _note_build_shape(layer: Layer, input_shape: Any) -> None:
    """Keep a single ``input_shape`` given to ``build`` as the input that ``summary()`` and a saved build config
    show, when no call has recorded one (Keras keeps its ``_build_shapes_dict`` the same way)."""
    if layer._build_inputs is None and isinstance(input_shape, (tuple, list, torch.Size)) and all(
            d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in input_shape):
        layer._build_inputs = SymbolicTensor(tuple(input_shape), backend.torch_dtype(None))

