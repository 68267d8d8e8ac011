"""Per-parameter optimizer state ("slots"): :class:`Slots`, a mixin of :class:`~loom.optimizers.Optimizer`.

A subclass names its slots and their initial values in ``_slots`` (Adam: ``momentum`` and ``velocity``). It
may keep fewer in some configurations (``_active_slots``: SGD without momentum keeps none), give a slot
another shape than its parameter's (``_slot_shape``: Adafactor's factored averages) or another start
(``_new_slot``: ScheduleFreeAdamW's ``z`` starts at the weights). Any optimizer may keep two more
(``_base_slots``): the weights' moving average and the gradient accumulator of
:mod:`loom.optimizers.averaging`. A slot is made the first time its parameter is updated and lives in torch's
``optimizer.state[param]``.

It is separate from the base class because three parts read it and none of them owns it: the eager update,
the update inside a compiled step (:mod:`loom.optimizers.graph_update`) and the state's saving and restoring
(:mod:`loom.optimizers.state_io`).

Example:
    >>> import torch
    >>> from loom.optimizers import Adam
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> opt = Adam(use_ema=True)
    >>> opt.build([w])
    >>> sorted(opt._gather_states([w]))
    ['average', 'momentum', 'velocity']
"""

from __future__ import annotations

import torch

from loom.optimizers import averaging


class Slots:
    """Mixin: which per-parameter state an optimizer keeps, and making it (see the module docstring)."""

    #: Per-parameter state names and initial fill values, in Keras's order.
    _slots: dict[str, float] = {}

    def _gather_states(self, params: list) -> dict[str, list[torch.Tensor]]:
        slots = {**self._active_slots(), **self._base_slots()}
        out: dict[str, list[torch.Tensor]] = {name: [] for name in slots}
        for p in params:
            state = self.state[p]
            for name, fill in slots.items():
                tensor = state.get(name)
                if tensor is None:
                    tensor = state[name] = self._new_slot(name, p, fill)
                out[name].append(tensor)
        return out

    def _active_slots(self) -> dict[str, float]:
        """The state this configuration needs (SGD without momentum needs none, for example)."""
        return dict(self._slots)

    def _base_slots(self) -> dict[str, float]:
        """State every optimizer may keep besides its own: the weights' average, the gradient accumulator."""
        return {**({averaging.AVERAGE: 0.0} if self.use_ema else {}),
                **({averaging.ACCUMULATOR: 0.0} if self.gradient_accumulation_steps else {})}

    def _new_slot(self, name: str, param: torch.Tensor, fill: float) -> torch.Tensor:
        """A fresh slot tensor for ``param``: ``fill`` everywhere, shaped by :meth:`_slot_shape`."""
        shape = self._slot_shape(name, param)
        if shape is None:
            return torch.full_like(param, fill, memory_format=torch.preserve_format)
        return torch.full(shape, fill, dtype=param.dtype, device=param.device)

    def _slot_shape(self, name: str, param: torch.Tensor) -> tuple | None:
        """The shape of slot ``name`` for ``param``; None (default) means ``param``'s own shape."""
        return None
