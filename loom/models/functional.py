"""``Model``: a graph of layers from ``inputs`` to ``outputs``, itself a layer and a ``torch.nn.Module``.

Two ways to make one, as in Keras:

* functional: ``Model(inputs, outputs)`` where both sides are a symbolic tensor, a list or a dict;
* subclassing: subclass ``Model``, create layers in ``__init__`` and compute in ``call``.

The graph runs through :class:`~loom.graph.GraphRunner`; training, saving and the summary live in their
own modules and are reached through the methods here.

Example:
    >>> import numpy as np, loom
    >>> a = loom.Input((8,), name="a")
    >>> b = loom.Input((4,), name="b")
    >>> h = loom.layers.concatenate([a, loom.layers.Dense(8)(b)])
    >>> model = loom.Model([a, b], loom.layers.Dense(1, name="out")(h))
    >>> model.output_shape
    (None, 1)
    >>> model({"a": np.ones((2, 8)), "b": np.ones((2, 4))}).shape
    torch.Size([2, 1])
"""

from __future__ import annotations

import warnings
from typing import Any

import torch

from loom import backend, inference, structure
from loom.errors import ConfigError, GraphError, InputError, ShapeError
from loom.graph import GraphRunner, build_graph
from loom.traceback_utils import filter_traceback
from loom.layers.layer import Layer
from loom.symbolic import SymbolicTensor
from loom.training.data import warn_unused_input_keys
from loom.training.trainer import Trainable


def _io_structure(obj: Any, what: str) -> tuple[str, list[SymbolicTensor], list[str] | None]:
    """``(kind, flat tensors, dict keys)`` for a model's inputs or outputs given as tensor, list or dict."""
    if isinstance(obj, SymbolicTensor):
        return "single", [obj], None
    if isinstance(obj, (list, tuple)):
        flat = list(obj)
        kind = "tuple" if isinstance(obj, tuple) else "list"  # a call returns the same kind, as in Keras
        keys = None
    elif isinstance(obj, dict):
        keys = sorted(obj)  # Keras flattens dicts in sorted key order
        flat = [obj[k] for k in keys]
        kind = "dict"
    else:
        raise GraphError(f"Model {what} must be a symbolic tensor (from loom.Input or a layer call), a list or a "
                         f"dict of them; got {type(obj).__name__}.")
    for t in flat:
        if not isinstance(t, SymbolicTensor):
            raise GraphError(f"Model {what} must be symbolic tensors from loom.Input or layer calls; got "
                             f"{type(t).__name__}. (Real tensors are passed when calling the model, not here.)")
    if kind in ("list", "tuple") and len(flat) == 1:
        kind = "single"
    return kind, flat, keys


class Model(Trainable, Layer):
    """A model: layers connected from inputs to outputs. See the module docstring.

    Args:
        inputs: a symbolic tensor, list or dict of them (functional models; default ``None``).
        outputs: the same, computed from ``inputs`` (default ``None``).
        name: the model's name (default ``'functional'``, ``'functional_1'``...).
        **kwargs: ``trainable``: whether training updates the weights (default ``True``), ``dtype``.
    """

    #: ``model(x)`` without gradients runs the inference plan (:meth:`optimize_for_inference`).
    _optimized_for_inference = False

    def __init__(self, inputs: Any = None, outputs: Any = None, name: str | None = None, **kwargs):
        if (inputs is None) != (outputs is None):
            raise GraphError("Model(inputs, outputs): give both inputs and outputs, or neither (subclassing).")
        if name is None and inputs is not None and type(self) is Model:
            name = backend.unique_name("functional")
        super().__init__(name=name, **kwargs)
        self._runner: GraphRunner | None = None
        self._graph_layers: list[Layer] = []
        self.stop_training = False
        self.compiled = False
        self.optimizer = None
        if inputs is not None:
            self._init_graph(inputs, outputs)

    # ------------------------------------------------------------------------------------------- graph
    def _init_graph(self, inputs: Any, outputs: Any) -> None:
        self._input_kind, self._inputs, self._input_keys = _io_structure(inputs, "inputs")
        self._output_kind, self._outputs, self._output_keys = _io_structure(outputs, "outputs")
        self._set_graph(build_graph(self._inputs, self._outputs))

    def _set_graph(self, graph) -> None:
        """Adopt an ordered graph (:class:`~loom.graph.GraphMap`): its layers become child modules."""
        for layer in graph.layers:
            if layer is self:
                raise GraphError(f"Model '{self.name}' cannot contain itself.")
            self._register_layer(layer)
        self._graph_layers = graph.layers
        self._nodes = graph.nodes
        self._nodes_by_depth = graph.nodes_by_depth
        self._runner = GraphRunner(self._inputs, self._outputs, graph.nodes)
        self.__dict__["_mask_runner"] = None
        self.built = True

    @property
    def is_graph_network(self) -> bool:
        return self._runner is not None

    @property
    def layers(self) -> list[Layer]:
        """The layers in Keras's order (functional models include their ``InputLayer``s)."""
        if self._runner is not None:
            return list(self._graph_layers)
        return Layer._sublayers(self)

    def _sublayers(self) -> list[Layer]:
        return self.layers

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name`` (or at position ``index``).

        Raises:
            ConfigError: no such layer; the message lists the layer names.
        """
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ConfigError(f"Model '{self.name}' has {len(self.layers)} layers; index {index} is out of range.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConfigError(f"No layer named {name!r} in model '{self.name}'. Layers: {[l.name for l in self.layers]}")

    def _require_graph(self, what: str) -> None:
        if self._runner is None:
            raise ConfigError(f"Model '{self.name}' has no graph yet, so it has no {what}: call it on data or "
                              f"build it first.")

    @property
    def inputs(self) -> list[SymbolicTensor]:
        self._require_graph("inputs")
        return list(self._inputs)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        self._require_graph("outputs")
        return list(self._outputs)

    @property
    def input(self):
        self._require_graph("input")
        return self._pack(self._inputs, self._input_kind, self._input_keys)

    @property
    def output(self):
        self._require_graph("output")
        return self._pack(self._outputs, self._output_kind, self._output_keys)

    @property
    def input_names(self) -> list[str]:
        self._require_graph("input names")
        return list(self._input_keys) if self._input_kind == "dict" else [t.node.layer.name for t in self._inputs]

    @property
    def output_names(self) -> list[str]:
        """Keys for per-output losses and metrics: dict keys, else the names of the output layers."""
        self._require_graph("output names")
        if self._output_kind == "dict":
            return list(self._output_keys)
        return [t.node.layer.name for t in self._outputs]

    @property
    def input_shape(self):
        self._require_graph("input shape")
        shapes = [t.shape for t in self._inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        if self._runner is None:
            return super().output_shape
        shapes = [t.shape for t in self._outputs]
        return shapes[0] if len(shapes) == 1 else shapes

    # ---------------------------------------------------------------------------------------- running
    def call(self, inputs, mask=None):
        """Run the graph. Subclassed models override this."""
        if self._runner is None:
            raise NotImplementedError(f"Model '{self.name}' has no graph: build it with Model(inputs, outputs) "
                                      f"or override call() in a subclass.")
        if isinstance(inputs, torch.Tensor) and len(self._inputs) == 1:
            flat = [self._check_input(self._inputs[0], inputs)]
        else:
            flat = self._flatten_inputs(inputs)
        input_masks = self._input_masks(mask)
        if input_masks is not None:
            outs = self._masked_runner().run(flat, input_masks)
        elif not self._optimized_for_inference:
            outs = self._runner.run(flat)
        else:
            outs = inference.run(self, flat)
        if self._output_kind == "single":
            return outs[0]
        return self._pack(outs, self._output_kind, self._output_keys)

    def optimize_for_inference(self, enabled: bool = True) -> "Model":
        """Opt in (or back out with ``enabled=False``): ``model(x)`` without gradients runs the inference plan
        ``predict()`` uses (:mod:`loom.inference`: in-place activations, folded BatchNormalization, large CPU
        batches in pieces). The outputs are the same; the plan steps aside whenever a hook is registered or
        gradients are on. Returns the model.

        Raises:
            ConfigError: the model has no graph (subclassed, or a Sequential not built yet) or overrides
                ``call`` / ``forward``.

        Example:
            >>> import torch, loom
            >>> x = loom.Input((3,))
            >>> model = loom.Model(x, loom.layers.Dense(2, activation="relu")(x)).optimize_for_inference()
            >>> with torch.no_grad():
            ...     model(torch.ones(4, 3)).shape
            torch.Size([4, 2])
        """
        if enabled and not inference.runs_graph_as_written(self):
            raise ConfigError(f"Model '{self.name}'.optimize_for_inference() needs a functional or built Sequential "
                              f"model that runs its graph as written; this one has no graph yet or overrides "
                              f"call()/forward(), so its own code defines the outputs.")
        self._optimized_for_inference = bool(enabled)
        return self

    def run_flat(self, flat_inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        """The graph on already-validated tensors in ``inputs`` order; returns outputs as a flat list.

        This is the trainer's hot path: no conversion, no checks.

        Raises:
            ConfigError: the model has no graph (subclassed, or a Sequential not built yet).
        """
        runner = self._runner
        if runner is None:
            raise ConfigError(f"Model '{self.name}' has no graph to run: call it on data (or build it) first.")
        return runner.run(flat_inputs)

    @staticmethod
    def _pack(flat: list, kind: str, keys: list | None):
        if kind == "single":
            return flat[0]
        if kind == "dict":
            return dict(zip(keys, flat))
        return tuple(flat) if kind == "tuple" else list(flat)

    def _flatten_inputs(self, inputs: Any) -> list[torch.Tensor]:
        """Validate call inputs (tensor, list or dict) and return them in ``self.inputs`` order."""
        names = self.input_names
        n = len(self._inputs)
        if isinstance(inputs, dict):
            missing = [k for k in names if k not in inputs]
            unknown = [k for k in inputs if k not in names]
            if unknown and not missing:  # extra columns are ignored, as Keras
                warn_unused_input_keys(unknown, names)
            elif missing or unknown:
                raise InputError(f"Model '{self.name}' expects inputs named {names}; got keys {list(inputs)}"
                                 + (f" (missing {missing})" if missing else "")
                                 + (f" (unknown {unknown})" if unknown else "") + ".")
            flat = [inputs[k] for k in names]
        elif isinstance(inputs, (list, tuple)) and not (n == 1 and _is_array_like_rows(inputs)):
            flat = list(inputs)
            if len(flat) != n:
                flat = _nested_inputs(self.name, inputs, n, names)
        else:
            if n != 1:
                raise InputError(f"Model '{self.name}' expects {n} inputs {names} (a list or a dict keyed by "
                                 f"name), but got a single {type(inputs).__name__}.")
            flat = [inputs]
        return [self._check_input(t, x) for t, x in zip(self._inputs, flat)]

    def _check_input(self, spec: SymbolicTensor, x: Any) -> torch.Tensor:
        """``x`` as a tensor of the Input's dtype (floats follow the weights' dtype after ``.to(dtype)``).

        Raises:
            InputError: float data for an integer Input, or a shape that does not match the Input's.
        """
        if not isinstance(x, torch.Tensor):
            if x is None:
                raise InputError(f"Input '{_input_name(spec)}' of model '{self.name}' got None; pass an array "
                                 f"or tensor.")
            x = backend.to_tensor(x, device=self._device())
        weights_float = x.is_floating_point() and self._float_dtype()
        if x.dtype != spec.torch_dtype or weights_float and weights_float != x.dtype:
            x = self._cast_input(spec, x)
        expected = spec.shape
        if x.dim() != len(expected):
            if x.dim() == len(expected) + 1 and x.shape[-1] == 1:
                x = x.squeeze(-1)  # Keras's rank adjustment: (batch, n, 1) for an Input of (n,)
            elif x.dim() == len(expected) - 1 and expected[-1] == 1:
                x = x.unsqueeze(-1)  # and (batch,) for an Input of (1,)
        shape = x.shape
        if torch.jit.is_tracing():  # traced sizes are tensors; the trace checks nothing at run time anyway
            return x
        if not self._input_shape_matches(tuple(expected), tuple(shape)):
            raise InputError(f"Input '{_input_name(spec)}' of model '{self.name}' expects shape {expected} "
                             f"(None: any size), but got {tuple(shape)}.")
        return x

    def _input_shape_matches(self, expected: tuple, shape: tuple) -> bool:
        """Whether data of ``shape`` fits an Input of shape ``expected`` (``None``: any size)."""
        return len(shape) == len(expected) and all(e is None or e == d for e, d in zip(expected[1:], shape[1:]))

    def _cast_input(self, spec: SymbolicTensor, x: torch.Tensor) -> torch.Tensor:
        want = spec.torch_dtype
        if x.is_floating_point() and not want.is_floating_point and want != torch.bool:
            raise InputError(f"Input '{_input_name(spec)}' of model '{self.name}' expects {spec.dtype} data "
                             f"(e.g. token ids), but got {backend.dtype_name(x.dtype)}.")
        if want.is_floating_point:
            want = self._float_dtype() or want
        return x if x.dtype == want else x.to(want)

    def _device(self) -> torch.device:
        return self._placement()[0] or torch.device("cpu")

    def _float_dtype(self) -> torch.dtype | None:
        """The dtype of the first float weight: inputs follow it, so ``model.to(torch.float64)`` works."""
        for p in self.parameters():
            if p.is_floating_point():
                return p.dtype
        return None

    def _check_input_spec(self, shapes: Any) -> None:
        if self._runner is None:
            return
        if isinstance(shapes, dict):
            flat = [shapes.get(k) for k in self.input_names]
        elif isinstance(shapes, list) or (isinstance(shapes, tuple) and shapes and isinstance(shapes[0], tuple)):
            flat = list(shapes)
        else:
            flat = [shapes]
        if len(flat) != len(self._inputs):
            raise ShapeError(f"Model '{self.name}' expects {len(self._inputs)} input(s) {self.input_names}, "
                             f"but was called on {len(flat)}.")
        for spec, shape in zip(self._inputs, flat):
            if shape is None:
                continue
            if len(shape) != len(spec.shape) or any(
                    a is not None and b is not None and a != b for a, b in zip(spec.shape[1:], shape[1:])):
                raise ShapeError(f"Model '{self.name}' input '{spec.node.layer.name}' expects shape {spec.shape}, "
                                 f"but was called on shape {tuple(shape)}.")

    def _input_masks(self, mask: Any) -> list | None:
        """The masks given with the inputs (a nested model of a masked graph), one per input, or ``None``."""
        if mask is None or not structure.any_leaf(lambda m: m is not None, mask):
            return None
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
        return masks if len(masks) == len(self._inputs) else None

    def _masked_runner(self) -> GraphRunner:
        """A runner that carries masks given with the inputs through the graph (built on first use)."""
        runner = self.__dict__.get("_mask_runner")
        if runner is None:
            runner = GraphRunner(self._inputs, self._outputs, self._nodes, input_masks=True)
            self.__dict__["_mask_runner"] = runner
        return runner

    def compute_mask(self, inputs, mask=None):
        return None

    def quantize(self, mode: str | None = None, config: Any = None, filters: Any = None, **kwargs: Any) -> None:
        """Quantize the weights of every layer that has a quantized form, as Keras's ``Model.quantize``.

        Layers without one (``Conv2D``, ``Dropout``, the input layer...) are skipped with a warning. See
        :mod:`loom.layers.quantized`.

        Args:
            mode: ``'int8'``, ``'int4'`` or ``'float8'`` (default ``None``: ``config``'s mode).
            config: a ``loom.quantizers.QuantizationConfig`` (default ``None``: the mode's defaults).
            filters: which layers: a regex searched in the layer names, a list of them, or a callable taking a
                layer (default ``None``: all).
            **kwargs: ``type_check`` (default ``True``: subclasses of the quantizable layers are skipped).

        Raises:
            ConfigError: the model is not built, a layer is already quantized, or invalid arguments.
            NotSupportedError: ``'gptq'`` / ``'awq'`` (not implemented in loom).
        """
        from loom.layers.quantized import quantize_model
        quantize_model(self, mode, config, filters, **kwargs)

    # ------------------------------------------------------------------------------- summary and config
    def summary(self, line_length: int | None = None, positions: Any = None, print_fn: Any = None,
                expand_nested: bool = False, show_trainable: bool = False) -> None:
        """Print Keras's summary table (with a *Connected to* column for non-sequential models)."""
        from loom.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable)

    def get_config(self) -> dict:
        """The functional config (layers and their calls); for a subclassed model whose own ``get_config``
        calls this one, Keras's base keys (``name``, ``trainable``, ``dtype``) for it to extend."""
        from loom.models.config import functional_config
        if not self.is_graph_network and type(self).get_config is not Model.get_config:
            return Layer.get_config(self)
        return functional_config(self)

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "Model":
        """A functional model from a functional config; any other config (a subclassed model's own
        ``get_config``) is passed to the constructor, ``cls(**config)``, as Keras does.

        Raises:
            ConfigError: the constructor does not take the config's keys.
        """
        from loom.models.config import functional_from_config
        if isinstance(config, dict) and "layers" not in config:
            try:
                return cls(**config)
            except TypeError as e:
                raise ConfigError(f"Cannot rebuild {cls.__name__} from its config (keys {sorted(config)}): {e}. "
                                  f"Its get_config() must return the arguments of __init__, or override "
                                  f"from_config().") from e
        return functional_from_config(cls, config, custom_objects=custom_objects, safe_mode=safe_mode)

    # ------------------------------------------------------------------------------- saving (see saving)
    def to_json(self, **kwargs) -> str:
        """The architecture as a JSON string, as Keras (read back with ``loom.models.model_from_json``)."""
        from loom.models import to_json
        return to_json(self, **kwargs)

    @filter_traceback
    def save(self, filepath: str, overwrite: bool = True, include_optimizer: bool = True) -> None:
        """Write the model to one ``.loom`` file (config JSON + safetensors weights), atomically.

        In a distributed run only rank 0 writes; the call does nothing on other ranks.
        """
        from loom.distributed.context import is_rank_zero
        from loom.models.saving import save_model
        if not is_rank_zero():
            return
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer)

    @filter_traceback
    def save_weights(self, filepath: str, overwrite: bool = True) -> None:
        """Write the weights to a safetensors file (``.weights.safetensors``), atomically (rank 0 only when
        distributed)."""
        from loom.distributed.context import is_rank_zero
        from loom.models.saving import save_weights
        if not is_rank_zero():
            return
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath: str, skip_mismatch: bool = False) -> None:
        """Load weights written by :meth:`save_weights` (or a Keras ``.weights.h5`` file)."""
        from loom.models.saving import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch)

    def export(self, filepath: str, format: str = "tf_saved_model", verbose: bool | None = None,
               input_signature=None, **kwargs) -> None:
        """Write the model for serving without loom: ``format="onnx"`` or ``"torch"`` (a ``torch.export``
        program); see :mod:`loom.models.export`."""
        from loom.models.export import export_model
        export_model(self, filepath, format=format, verbose=verbose, input_signature=input_signature, **kwargs)


def _input_name(spec: SymbolicTensor) -> str:
    return spec.node.layer.name if spec.node is not None else "?"


def _is_array_like_rows(x: Any) -> bool:
    """A plain nested list of numbers (one array), as opposed to a list of per-input arrays."""
    return bool(x) and isinstance(x[0], (int, float)) or (bool(x) and isinstance(x[0], (list, tuple)) and bool(
        x[0]) and isinstance(x[0][0], (int, float)))


def _nested_inputs(model: str, inputs: Any, n: int, names: list) -> list:
    """The leaves of nested ``inputs`` when they are the model's ``n`` inputs (a custom step given ``fit(x=[a, b,
    c])``'s ``([a, b, c],)``), with Keras's warning; otherwise the error naming the inputs expected."""
    flat = structure.flatten(inputs)
    if len(flat) != n:
        raise InputError(f"Model '{model}' expects {n} input(s) {names}, but got {len(inputs)}.")
    warnings.warn(f"The structure of `inputs` doesn't match the expected structure: model '{model}' expects "
                  f"{n} inputs {names}, got them nested ({type(inputs).__name__} of {len(inputs)}); they are "
                  f"taken in order.", UserWarning, stacklevel=4)
    return flat
