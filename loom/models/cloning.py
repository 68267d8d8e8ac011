"""``clone_model``: the same architecture with new layers, as ``keras.models.clone_model``.

Each layer is rebuilt from its config (fresh weights, as Keras) unless ``clone_function`` says otherwise;
a functional graph is replayed node by node on new inputs, so shared layers stay shared. Copy the weights
with ``clone.set_weights(model.get_weights())``.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
    >>> clone = clone_model(model)
    >>> clone.layers[0] is model.layers[0], clone.count_params() == model.count_params()
    (False, True)
"""

from __future__ import annotations

from typing import Any, Callable

from loom import structure
from loom.errors import ConfigError
from loom.layers.input_layer import Input
from loom.models.functional import Model
from loom.models.sequential import Sequential
from loom.symbolic import SymbolicTensor


def _default_clone(layer: Any) -> Any:
    return layer.__class__.from_config(layer.get_config())


def clone_model(model: Model, input_tensors: Any = None, clone_function: Callable | None = None,
                call_function: Callable | None = None, recursive: bool = False, **kwargs: Any) -> Model:
    """A new model with ``model``'s architecture and new layers (fresh weights by default).

    Args:
        model: a ``Sequential``, functional ``Model`` or subclassed model with ``get_config``.
        input_tensors: symbolic tensors (from ``loom.Input``) the clone starts from (default ``None``: new
            inputs of the same shapes, dtypes and names).
        clone_function: ``layer -> new layer`` (default ``None``: ``cls.from_config(layer.get_config())``).
        call_function: ``(layer, *args, **kwargs) -> outputs`` replacing each layer call of a functional model
            (default ``None``: ``layer(*args, **kwargs)``).
        recursive: also clone the layers inside nested Sequential and functional models with
            ``clone_function`` (default False: ``clone_function`` receives the nested model whole).

    Raises:
        ConfigError: unknown keyword arguments, or ``input_tensors`` / ``call_function`` for a subclassed
            model, or ``input_tensors`` that are not symbolic.
    """
    if kwargs:
        raise ConfigError(f"clone_model: unknown arguments {sorted(kwargs)}.")
    clone_function = clone_function or _default_clone
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_function, call_function, recursive)
    if isinstance(model, Model) and model.is_graph_network:
        return _clone_functional(model, input_tensors, clone_function, call_function, recursive)
    if input_tensors is not None or call_function is not None:
        raise ConfigError(f"clone_model: input_tensors and call_function need a Sequential or functional model; "
                          f"'{getattr(model, 'name', model)}' is a subclassed {type(model).__name__}.")
    return clone_function(model)


def _clone_layer(layer: Any, clone_function: Callable, call_function: Callable | None, recursive: bool) -> Any:
    if recursive and (isinstance(layer, Sequential) or (isinstance(layer, Model) and layer.is_graph_network)):
        return clone_model(layer, clone_function=clone_function, call_function=call_function, recursive=True)
    return clone_function(layer)


def _symbolic_inputs(input_tensors: Any, count: int, name: str) -> list[SymbolicTensor]:
    flat = structure.flatten(input_tensors)
    if len(flat) != count or not all(isinstance(t, SymbolicTensor) for t in flat):
        raise ConfigError(f"clone_model('{name}'): input_tensors must be {count} symbolic tensor(s) made with "
                          f"loom.Input, got {[type(t).__name__ for t in flat]}.")
    return flat


def _clone_sequential(model: Sequential, input_tensors: Any, clone_function: Callable,
                      call_function: Callable | None, recursive: bool) -> Sequential:
    if call_function is not None:
        raise ConfigError(f"clone_model('{model.name}'): call_function needs a functional model, not a Sequential.")
    clone = Sequential(name=model.name)
    if input_tensors is not None:
        clone.add(_symbolic_inputs(input_tensors, 1, model.name)[0], rebuild=False)
    elif model._input_layer is not None:
        spec = model._input_layer
        clone.add(Input(batch_shape=tuple(spec.batch_shape), dtype=spec.dtype, name=spec.name), rebuild=False)
    for layer in model.layers:
        clone.add(_clone_layer(layer, clone_function, call_function, recursive), rebuild=False)
    clone._maybe_rebuild()
    return clone


def _clone_functional(model: Model, input_tensors: Any, clone_function: Callable,
                      call_function: Callable | None, recursive: bool) -> Model:
    old_inputs = model.inputs
    if input_tensors is None:
        new_inputs = [Input(batch_shape=t.shape, dtype=t.dtype, name=t.node.layer.name) for t in old_inputs]
    else:
        new_inputs = _symbolic_inputs(input_tensors, len(old_inputs), model.name)
    tensors = {id(old): new for old, new in zip(old_inputs, new_inputs)}
    layers: dict[int, Any] = {}
    swap = lambda v: tensors[id(v)] if isinstance(v, SymbolicTensor) else v  # noqa: E731
    for node in model._nodes:
        if node.is_input:
            continue
        if id(node.layer) not in layers:
            layers[id(node.layer)] = _clone_layer(node.layer, clone_function, call_function, recursive)
        layer = layers[id(node.layer)]
        args = structure.map_structure(swap, list(node.call_args))
        kwargs = structure.map_structure(swap, dict(node.call_kwargs))
        if node.training is not None:
            kwargs.setdefault("training", node.training)
        outputs = call_function(layer, *args, **kwargs) if call_function else layer(*args, **kwargs)
        new_outputs = [t for t in structure.flatten(outputs) if isinstance(t, SymbolicTensor)]
        for old, new in zip(node.output_tensors, new_outputs):
            tensors[id(old)] = new
    inputs = Model._pack(new_inputs, model._input_kind, model._input_keys)
    outputs = Model._pack([tensors[id(t)] for t in model.outputs], model._output_kind, model._output_keys)
    return Model(inputs, outputs, name=model.name)
