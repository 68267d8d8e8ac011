"""``jit_compile=True``: the whole gradient computation of a train step as one ``torch.compile`` graph.

Compiling only the forward pass leaves the autograd engine, one Python call per backward node, and the
metric updates outside the graph; on small models that overhead is most of a step. Here the step is written
functionally, so the forward pass, the loss, the gradients (``torch.func.grad``) and the metric updates are
traced together with the optimizer's update, and inductor fuses them into a few kernels (as XLA does for
Keras on JAX):

    states, rates = optimizer.graph_inputs(params)    # eager: schedule, bias corrections -> one tensor
    loss = compiled(trainable weights, other weights and buffers, x, y, sample_weight, states, rates)

The step-dependent scalars (a schedule, Adam's bias correction, a learning rate changed by
``ReduceLROnPlateau``) enter the graph as a tensor, so they never recompile it. An optimizer that cannot
update inside the graph (several param groups, step hooks, a custom ``step()``) gets the gradients from the
graph and updates eagerly (``optimizer.step_with``).

Buffers (BatchNormalization's moving statistics) are passed in explicitly, because ``torch.func.grad`` only
lets a function update tensors it receives as arguments. Each graph is traced whole (``fullgraph``); a model
that cannot be (a layer calling ``.item()``, say) trains with the eager step instead, after a warning
(:func:`with_eager_fallback`). ``evaluate`` and ``predict`` compile their step the same way.

Compiled code outlives the process: inductor's kernels and AOTAutograd's graphs go to torch's on-disk cache
(``TORCHINDUCTOR_CACHE_DIR``), so a second run of the same script loads them instead of compiling again, and
inductor's per-process probe of the CPU's vector instruction sets is answered from the first run's record
(:mod:`loom.training.vec_isa_memo`, about 1.4 s of a 2-core machine's first compiled step); only dynamo's trace
of the Python (about a second for a small model) is repeated.

Example:
    >>> import numpy as np, loom
    >>> loom.utils.set_random_seed(0)
    >>> model = loom.Sequential([loom.Input((4,)), loom.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    >>> x = np.ones((8, 4), "float32")
    >>> history = model.fit(x, np.zeros((8, 1), "float32"), epochs=3, batch_size=8, verbose=0)
    >>> len(history.history["loss"]), history.history["loss"][2] < history.history["loss"][0]
    (3, True)
"""

from __future__ import annotations

import types
import warnings
from contextlib import nullcontext
from typing import Any, Callable

import torch

from loom import _torch_compat
from loom.graph import attach_output_masks
from loom.training.compile_utils import output_mask
from loom.training import vec_isa_memo
from loom.training.step import FlatForward, float32_outputs


def compiled(fn: Callable, small: bool = False) -> Callable:
    """``fn`` under ``torch.compile`` (static shapes), called with only the guards that tell its graphs apart.

    For ``small`` graphs inductor writes a C++ wrapper that calls the kernels without Python (about 6% on a
    tiny MLP); it compiles a C++ file as long as the graph, which takes minutes for an unrolled LSTM.

    Checking every guard (the model's attributes, the metric objects...) costs tens of microseconds a call,
    as much as a small model's whole step. Like Keras's cached train function, a compiled step reads the
    layers' Python attributes when it is traced (the first batch of each shape); change them, and call
    ``compile()`` again. A new input shape (the last, smaller batch) is traced once with every guard.
    """
    global _COMPILED
    _COMPILED += 1
    vec_isa_memo.before_compile()
    code = fn.__code__.replace(co_name=f"{fn.__code__.co_name}_{_COMPILED}")  # graphs live on the code object:
    own = types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)  # keep apart
    graph = torch.compile(own, dynamic=False, fullgraph=True, options={"cpp_wrapper": small})

    def call(*args):
        try:
            with _STANCE:
                out = graph(*args)
        except RuntimeError as e:
            if "Recompilation triggered" not in str(e):
                raise
            out = graph(*args)
        if vec_isa_memo.pending():
            vec_isa_memo.after_compile()
        return out
    return call


_COMPILED = 0


_STANCE = _torch_compat.SkipGuardStance()  # only the guards that tell a function's graphs apart


def make_compiled_train_step(model: torch.nn.Module, forward: Callable[[list], list], params: list,
                             optimizer: Any, loss_plan: Callable, metric_update: Callable | None,
                             regularization: Callable | None, autocast: tuple | None,
                             after_update: Callable | None = None) -> Callable:
    """``step(xs, ys, sws) -> (total, per-output losses)`` with the gradients computed in one compiled graph.

    The weights differentiated are those of ``params`` that still require gradients at each call: setting
    ``layer.trainable = False`` after ``compile()`` freezes the layer here as in the eager step (a graph is
    traced for each set of trainable weights met; a partial set updates eagerly, ``optimizer.step_with``).

    Args:
        model: the model (its parameters and buffers are looked up by name).
        forward: ``forward(xs) -> list of outputs`` (``model.run_flat`` for graph models).
        params: the trainable parameters the optimizer was built on.
        optimizer: a built loom optimizer.
        loss_plan: ``loss_plan(ys, outs, sws) -> (total, per-output values)``.
        metric_update: ``metric_update(ys, outs, sws)`` applied inside the graph, or ``None``.
        regularization: ``() -> tensor`` of regularization penalties, or ``None``.
        autocast: ``(device type, dtype)`` for mixed precision, or ``None``.
        after_update: called after each optimizer step (weight constraints), or ``None``.
    """
    holder = step_holder(model, forward, regularization)
    name_of = {id(p): n for n, p in holder.named_parameters()}
    all_params = [p for p in params if id(p) in name_of]  # the optimizer's order
    graphs: dict[tuple, tuple] = {}

    def step(xs, ys, sws):
        mask = tuple(p.requires_grad for p in all_params)
        built = graphs.get(mask)
        if built is None:
            active = [p for p, a in zip(all_params, mask) if a]
            built = graphs[mask] = _gradient_graphs(holder, active, optimizer, loss_plan, metric_update, autocast,
                                                    is_small(model), in_graph=all(mask))
        train_params, fixed_slots, compiled_update, compiled_gradients = built
        fixed = [getattr(module, attr).detach() for module, attr in fixed_slots]  # current, even if replaced
        values = [p.detach() for p in train_params]
        if compiled_update is not None and not optimizer.graph_update_blocked():
            total, parts = compiled_update(values, fixed, xs, ys, sws, *optimizer.graph_inputs(train_params))
            optimizer.graph_done()
        else:  # the update cannot run in the graph, or a step hook was registered since the step was built
            grads, total, parts = compiled_gradients(values, fixed, xs, ys, sws)
            for p, trainable in zip(all_params, mask):
                if not trainable:
                    p.grad = None  # a frozen weight keeps no stale gradient for the optimizer to apply
            optimizer.step_with(train_params, grads)
        if after_update is not None:
            after_update()
        return total, parts
    return step


def step_holder(model: torch.nn.Module, forward: Callable[[list], list],
                regularization: Callable | None) -> FlatForward:
    """The module a functional step calls: ``holder(xs) -> (outputs, regularization penalty or None)``, with
    ``model``'s weights as its own (so the penalty is computed while the step's weight values are swapped in)."""
    def forward_and_penalty(xs):
        return forward(xs), (regularization() if regularization is not None else None)
    return FlatForward(model, forward_and_penalty)


def _gradient_graphs(holder: torch.nn.Module, train_params: list, optimizer: Any, loss_plan: Callable,
                     metric_update: Callable | None, autocast: tuple | None, small: bool, in_graph: bool) -> tuple:
    """``(train_params, fixed_slots, compiled update or None, compiled gradients)`` differentiating
    ``train_params``; every other parameter and buffer of ``holder`` is a fixed input."""
    fixed_slots, grad_of = gradient_function(holder, train_params, loss_plan, autocast, metric_update is not None)

    def gradients(train_values, fixed_values, xs, ys, sws):
        grads, aux = grad_of(train_values, fixed_values, xs, ys, sws)
        total, parts, outs = aux[:3]
        if metric_update is not None:
            if len(aux) > 3:
                attach_output_masks(outs, aux[3])
            metric_update(ys, outs, sws)
        return grads, total.detach(), [p.detach() for p in parts]

    def update(train_values, fixed_values, xs, ys, sws, states, rates):
        grads, total, parts = gradients(train_values, fixed_values, xs, ys, sws)
        with torch.no_grad():
            optimizer.graph_update(train_values, grads, states, rates)
        return total, parts

    compiled_update = compiled(update, small) if in_graph and optimizer.updates_in_graph(train_params) else None
    return train_params, fixed_slots, compiled_update, compiled(gradients, small)  # traced on first call only


def gradient_function(holder: torch.nn.Module, train_params: list, loss_plan: Callable, autocast: tuple | None,
                      with_masks: bool) -> tuple[list, Callable]:
    """``(fixed_slots, grad_of)``: ``grad_of(train_values, fixed_values, xs, ys, sws) -> (gradients, aux)``
    differentiates the loss of ``holder``'s forward pass with respect to the values of ``train_params``; every
    other parameter and buffer is a fixed value, read from ``fixed_slots`` (``(module, attribute)`` pairs).
    ``aux`` is ``(total, per-output losses, detached outputs)``, plus the outputs' Keras masks when
    ``with_masks`` and any output has one."""
    named = list(holder.named_parameters())
    name_of = {id(p): n for n, p in named}
    train_ids = {id(p) for p in train_params}
    train_names = [name_of[id(p)] for p in train_params]
    fixed_names = [n for n, p in named if id(p) not in train_ids] + [n for n, _ in holder.named_buffers()]

    def loss_of(train_values, fixed_values, xs, ys, sws):
        weights = {**dict(zip(train_names, train_values)), **dict(zip(fixed_names, fixed_values))}
        with torch.autocast(*autocast) if autocast else nullcontext():
            outs, penalty = torch.func.functional_call(holder, weights, (xs,))
        if autocast:
            outs = float32_outputs(outs)
        total, parts = loss_plan(ys, outs, sws)
        if penalty is not None:
            total = total + penalty
        aux = (total, parts, [o.detach() for o in outs])
        masks = [output_mask(o) for o in outs] if with_masks else []
        if any(m is not None for m in masks):  # the metrics leave masked steps out
            aux += (masks,)
        return total, aux

    return [_slot(holder, n) for n in fixed_names], torch.func.grad(loss_of, has_aux=True)


def is_small(model: torch.nn.Module) -> bool:
    """Few weight tensors and no recurrent layer: a graph whose C++ wrapper compiles in seconds."""
    from loom.layers.rnn_base import RecurrentLayer
    return (sum(1 for _ in model.parameters()) <= 16
            and not any(isinstance(m, (RecurrentLayer, torch.nn.RNNBase)) for m in model.modules()))


def with_eager_fallback(compiled_fn: Callable, eager: Callable, what: str = "train step") -> Callable:
    """``compiled_fn``, or ``eager`` from the first call that torch.compile cannot trace (with a warning).

    Errors in the user's data or model are not swallowed: the eager function runs the same batch and raises
    them. That includes a compiled graph failing at run time (an Embedding index out of range fails inside a
    generated kernel with a message about the kernel): the batch runs eagerly, where loom's own checks name the
    layer and the value. Should the eager run succeed, the graph was at fault; the loop goes on eagerly, with
    a warning.
    """
    current = [compiled_fn]

    def call(*args):
        if current[0] is eager:
            return eager(*args)
        try:
            return compiled_fn(*args)
        except _torch_compat.dynamo_exception() as e:
            problem, failure = "could not be compiled", e
        except RuntimeError as e:  # raised by the compiled code (never by its tracing)
            problem, failure = "failed at run time where the eager one does not", e
        result = eager(*args)  # raises the error loom's checks give, if the batch is at fault
        warnings.warn(f"jit_compile: the {what} {problem} ({type(failure).__name__}: "
                      f"{str(failure).strip().splitlines()[0][:200]}); it continues eagerly.", stacklevel=2)
        current[0] = eager
        return result
    return call


def _slot(holder: torch.nn.Module, name: str) -> tuple[torch.nn.Module, str]:
    """``(module, attribute)`` holding the weight or buffer called ``name``."""
    path, _, attr = name.rpartition(".")
    return (holder.get_submodule(path) if path else holder), attr
