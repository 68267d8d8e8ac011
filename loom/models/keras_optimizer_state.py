"""Optimizer state in Keras 3's order: the ``optimizer/vars/0, 1, ...`` arrays of a ``.keras`` archive.

The order is ``optimizer.variables``' (:mod:`loom.optimizers.keras_variables`), with the slots taken in the
model's trainable-weight order. Slot values are in Keras's weight layout; loom keeps them in its own, so each is
converted through the weight's layer.

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(2, input_shape=(3,))])
    >>> model.compile(optimizer="adam", loss="mse")
    >>> _ = model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    >>> [tuple(a.shape) for a in optimizer_arrays(model)]
    [(), (), (3, 2), (3, 2), (2,), (2,)]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom.models.weight_map import WeightSlot, weight_slots
from loom.optimizers.keras_variables import has_lr_variable, slot_layout


def _trainable_slots(model: Any, optimizer: Any) -> list[tuple[int, WeightSlot]]:
    """``(index in the optimizer's params, slot)`` for each trainable weight, in Keras's order."""
    params = optimizer._flat_params() if getattr(optimizer, "_built", False) else []
    index = {id(p): i for i, p in enumerate(params)}
    return [(index[id(s.tensor)], s) for s in weight_slots(model) if id(s.tensor) in index]


def optimizer_arrays(model: Any) -> list[np.ndarray]:
    """The compiled model's optimizer state as Keras's ``optimizer/vars`` arrays (``[]`` when there is none)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "_flat_params"):
        return []
    return _arrays(model, optimizer)


def _arrays(model: Any, optimizer: Any) -> list[np.ndarray]:
    if type(optimizer).__name__ == "MultiOptimizer":  # its own step count and rate, then each inner optimizer's
        own = [np.asarray(optimizer._iterations, dtype=np.int32), np.asarray(0.0, dtype=np.float32)]
        return own + [a for inner in optimizer.optimizers for a in _arrays(model, inner)]
    out = [np.asarray(optimizer._iterations, dtype=np.int32)]  # calls, an int32 as Keras writes it
    if has_lr_variable(optimizer):
        out.append(np.asarray(optimizer.learning_rate, dtype=np.float32))
    slots = _trainable_slots(model, optimizer)
    params = optimizer._flat_params() if getattr(optimizer, "_built", False) else []
    for family in slot_layout(optimizer):
        for index, slot in slots:
            state = optimizer.state.get(params[index], {})
            for name in family:
                value = state.get(name)
                keras = slot.to_keras() if value is None else slot.owner.weight_to_keras(slot.name, value.detach())
                out.append((torch.zeros_like(keras) if value is None else keras).float().cpu().numpy())
    if type(optimizer).__name__ == "Nadam":
        out.append(np.asarray(getattr(optimizer, "_u_product", 1.0), dtype=np.float32))
    return out


def restore_optimizer_arrays(model: Any, arrays: list[np.ndarray]) -> bool:
    """Put Keras's ``optimizer/vars`` arrays into the compiled model's optimizer.

    Returns ``False`` (nothing changed) when the arrays do not fit this optimizer's layout, as Keras, which
    then only warns.
    """
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not getattr(optimizer, "_built", False) or not arrays:
        return False
    if type(optimizer).__name__ == "MultiOptimizer":
        return _restore_multi(model, optimizer, list(arrays))
    return _restore(model, optimizer, arrays)


def _count(model: Any, optimizer: Any) -> int:
    """How many arrays Keras writes for ``optimizer`` (a built one, or just its step count and rate)."""
    head = 2 if has_lr_variable(optimizer) else 1
    if not getattr(optimizer, "_built", False):
        return head
    tail = 1 if type(optimizer).__name__ == "Nadam" else 0
    return head + sum(len(f) for f in slot_layout(optimizer)) * len(_trainable_slots(model, optimizer)) + tail


def _restore_multi(model: Any, optimizer: Any, arrays: list[np.ndarray]) -> bool:
    counts = [_count(model, inner) for inner in optimizer.optimizers]
    if len(arrays) != 2 + sum(counts):
        return False
    position = 2
    for inner, count in zip(optimizer.optimizers, counts):
        if inner.built and not _restore(model, inner, arrays[position:position + count]):
            return False
        position += count
    optimizer.iterations = int(np.asarray(arrays[0]))
    return True


def _restore(model: Any, optimizer: Any, arrays: list[np.ndarray]) -> bool:
    head = 2 if has_lr_variable(optimizer) else 1
    slots = _trainable_slots(model, optimizer)
    layout = slot_layout(optimizer)
    tail = 1 if type(optimizer).__name__ == "Nadam" else 0
    expected = head + sum(len(f) for f in layout) * len(slots) + tail
    if len(arrays) == head:  # an optimizer Keras never built: only its step count
        optimizer.set_state_tensors({"iterations": torch.tensor(int(np.asarray(arrays[0])), dtype=torch.int64)})
        return True
    if len(arrays) != expected:
        return False
    state: dict[str, torch.Tensor] = {"iterations": torch.tensor(int(np.asarray(arrays[0])), dtype=torch.int64)}
    position = head
    for family in layout:
        for index, slot in slots:
            for name in family:
                value = torch.from_numpy(np.ascontiguousarray(arrays[position]))
                position += 1
                if tuple(value.shape) != slot.keras_shape():
                    return False
                state[f"{index}.{name}"] = slot.from_keras(value)
    if tail:
        state["u_product"] = torch.tensor(float(np.asarray(arrays[-1])), dtype=torch.float64)
    optimizer.set_state_tensors(state)
    return True
