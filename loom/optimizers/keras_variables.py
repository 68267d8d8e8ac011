"""An optimizer's variables in Keras 3's order: :class:`KerasVariables`, a mixin of
:class:`~loom.optimizers.Optimizer` (``optimizer.variables``), and the slot layout ``.keras`` files use.

Keras lists ``iterations``, then ``learning_rate`` (unless it is a schedule), then the slot variables of every
weight, family by family as each optimizer's ``build`` creates them: names created together are interleaved per
weight (Adam's momentum and velocity), names created apart follow one another (RMSprop's velocities, then
momentums); Nadam ends with its ``u_product``. A slot is named after its weight's path
(``'adam/sequential_dense_kernel_momentum'``).

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2, name="dense")], name="net")
    >>> model.compile(optimizer=loom.optimizers.Adam(name="adam"), loss="mse")
    >>> _ = model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    >>> [v.path for v in model.optimizer.variables][:3]
    ['adam/iteration', 'adam/learning_rate', 'adam/net_dense_kernel_momentum']
"""

from __future__ import annotations

from typing import Any

import torch

from loom.variables import Variable, _scoped, name_scope


def slot_layout(optimizer: Any) -> list[tuple[str, ...]]:
    """The slot families of ``optimizer`` in Keras's creation order (interleaved within a tuple): the base
    class's weight averages and gradient accumulators first, then the algorithm's own."""
    base = ([("average",)] if getattr(optimizer, "use_ema", False) else []) + (
        [("gradient_accumulator",)] if getattr(optimizer, "gradient_accumulation_steps", None) else [])
    return base + _own_layout(optimizer)


def _own_layout(optimizer: Any) -> list[tuple[str, ...]]:
    name = type(optimizer).__name__
    if name == "Lion":
        return [("momentum",)]
    if name == "Lamb" or name == "ScheduleFreeAdamW":
        return [("momentum", "velocity")]
    if name == "Ftrl":
        return [("accumulator", "linear")]
    if name == "Adam" or name == "AdamW":
        return [("momentum", "velocity")] + ([("velocity_hat",)] if getattr(optimizer, "amsgrad", False) else [])
    if name == "SGD":
        return [("momentum",)] if getattr(optimizer, "momentum", 0) else []
    if name == "RMSprop":
        return [("velocity",)] + ([("momentum",)] if getattr(optimizer, "momentum", 0) > 0 else []) + (
            [("average_gradient",)] if getattr(optimizer, "centered", False) else [])
    if name == "Adagrad":
        return [("accumulator",)]
    if name == "Adamax":
        return [("momentum", "norm")]
    if name == "Nadam":
        return [("momentum", "velocity")]
    if name == "Adadelta":
        return [("accumulated_grad", "accumulated_delta_var")]
    return []  # (Adafactor's factored state is not mapped: Keras then warns and starts it afresh)


def has_lr_variable(optimizer: Any) -> bool:
    """Whether Keras keeps the learning rate as a variable (not for a schedule)."""
    from loom.schedules import LearningRateSchedule
    return not isinstance(getattr(optimizer, "_learning_rate", None), LearningRateSchedule)


class KerasVariables:
    """Mixin: ``optimizer.variables`` as Keras lists them (see the module docstring)."""

    @property
    def variables(self) -> list:
        """The optimizer's :class:`loom.Variable` s in Keras's order: ``iterations`` (live), ``learning_rate``
        (its current value: set it with ``optimizer.learning_rate = ...``), then, once built, each weight's slots,
        which share memory with the state the updates use (``assign`` changes it), in the weight's loom layout.
        ``[]`` slots for a family the optimizer has not created yet (its first update does)."""
        out = [self._iteration_variable]
        with name_scope(self.name, caller=self):
            if has_lr_variable(self):
                out.append(Variable(float(self.learning_rate), dtype="float32", trainable=False,
                                    name="learning_rate"))
            if self._built:
                params = self._flat_params()
                for family in slot_layout(self):
                    for param in params:
                        state = self.state.get(param, {})
                        out.extend(_view(state[name], _slot_name(param, name)) for name in family if name in state)
        if self._built and type(self).__name__ == "Nadam":  # build makes it, unnamed, outside the scope: 'variable'
            out.append(Variable(float(getattr(self, "_u_product", 1.0)), dtype="float32", trainable=False))
        return out


def _slot_name(param: torch.Tensor, slot: str) -> str:
    path = getattr(param, "path", None) or "variable"
    return f"{path.replace('/', '_')}_{slot}"


def _view(tensor: torch.Tensor, name: str) -> Any:
    """A :class:`loom.Variable` over ``tensor``'s memory, named ``name`` in the current name scope."""
    var = torch.Tensor._make_subclass(Variable, tensor.detach(), False)
    var._keras_name = name
    var._keras_path = _scoped(name)
    var._owner = None
    return var
