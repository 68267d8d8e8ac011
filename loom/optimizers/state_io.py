"""Saving and restoring an optimizer's state: :class:`StateIO`, a mixin of :class:`~loom.optimizers.Optimizer`.

Two forms: torch's ``state_dict()`` / ``load_state_dict()`` with ``iterations`` (and optimizer-wide scalars
such as Nadam's) added, and flat tensors keyed by strings (:meth:`StateIO.get_state_tensors`:
``iterations`` and ``"<index>.<slot>"``), which ``model.save``, safetensors files and the training-state
callbacks write.

It is separate from the base class because it reads and writes the state that updates create but takes no
part in an update.

Example:
    >>> import torch
    >>> from loom.optimizers import SGD
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    >>> _ = opt.apply_gradients([(torch.ones(2), w)])
    >>> sorted(opt.get_state_tensors())
    ['0.momentum', 'iterations']
    >>> clone = SGD(learning_rate=0.1, momentum=0.9)
    >>> clone.build([torch.nn.Parameter(torch.ones(2))])
    >>> clone.set_state_tensors(opt.get_state_tensors())
    >>> int(clone.iterations)
    1
"""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError


class StateIO:
    """Mixin: an optimizer's state as torch's state dict or as string-keyed tensors (see the module docstring)."""

    def _extra_state(self) -> dict[str, float]:
        """Optimizer-wide scalar state besides ``iterations`` (saved with the per-parameter state)."""
        return {}

    def _set_extra_state(self, values: dict[str, float]) -> None:
        pass

    def _flat_params(self) -> list[torch.Tensor]:
        return [p for g in self.param_groups for p in g["params"]]

    def get_state_tensors(self) -> dict[str, torch.Tensor]:
        """All state as tensors keyed by strings (for safetensors): ``iterations``, ``"<index>.<slot>"``.

        ``index`` numbers the parameters in param-group order, as ``state_dict()`` does.
        """
        out = {"iterations": torch.tensor(self._iterations, dtype=torch.int64)}
        out.update({k: torch.tensor(v, dtype=torch.float64) for k, v in self._extra_state().items()})
        if self._built:
            for index, p in enumerate(self._flat_params()):
                if p in self.state:
                    for slot, tensor in self.state[p].items():
                        out[f"{index}.{slot}"] = tensor
        return out

    def set_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`get_state_tensors` returned (the optimizer must be built on matching params).

        Raises:
            ConfigError: a key, parameter index or shape does not match this optimizer.
        """
        tensors = dict(tensors)
        if "iterations" in tensors:
            self._iterations = int(tensors.pop("iterations"))
        extra = {k: float(tensors.pop(k)) for k in list(self._extra_state()) if k in tensors}
        self._set_extra_state(extra)
        if not tensors:
            return
        self._require_built("set_state_tensors()")
        params = self._flat_params()
        for key, value in tensors.items():
            index, _, slot = key.partition(".")
            slots = [*self._slots, *self._base_slots()]
            if not index.isdigit() or int(index) >= len(params) or slot not in slots:
                raise ConfigError(f"Unexpected optimizer state key '{key}' for {type(self).__name__} with "
                                  f"{len(params)} parameters; expected 'iterations' or '<index>.<slot>' with slot "
                                  f"in {slots}.")
            p = params[int(index)]
            expected = self._slot_shape(slot, p)
            if tuple(value.shape) != tuple(p.shape if expected is None else expected):
                raise ConfigError(f"Optimizer state '{key}' has shape {tuple(value.shape)} but parameter {index} "
                                  f"has shape {tuple(p.shape)}.")
            self.state[p][slot] = value.detach().to(device=p.device, dtype=p.dtype).clone()

    def state_dict(self) -> dict[str, Any]:
        """torch's state dict plus ``iterations`` (and optimizer-wide scalars such as Nadam's)."""
        self._require_built("state_dict()")
        state = super().state_dict()
        state["iterations"] = self._iterations
        state.update(self._extra_state())
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._require_built("load_state_dict()")
        state_dict = dict(state_dict)
        self._iterations = int(state_dict.pop("iterations", 0))
        self._set_extra_state({k: state_dict.pop(k) for k in list(self._extra_state()) if k in state_dict})
        super().load_state_dict(state_dict)
        self._group_index = None
