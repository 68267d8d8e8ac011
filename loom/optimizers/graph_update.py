"""The update inside a compiled train step: :class:`GraphUpdate`, a mixin of :class:`~loom.optimizers.Optimizer`.

:mod:`loom.training.compiled_step` traces one optimizer update into its compiled train step when
:meth:`GraphUpdate.updates_in_graph` says it can. On each step it then asks whether this call must run eagerly
after all (:meth:`GraphUpdate.graph_update_blocked`), computes the scalars that change from step to step
eagerly (:meth:`GraphUpdate.graph_inputs`), runs the traced :meth:`GraphUpdate.graph_update` and counts the
update (:meth:`GraphUpdate.graph_done`).

It is separate from the base class because it is a second way of running the same update that only the
compiled train step uses; it reuses the base class's pieces (rates, unscaling, clipping, decay, slots), so
both ways compute the same thing.

Example:
    >>> import torch
    >>> from loom.optimizers import SGD
    >>> w = torch.nn.Parameter(torch.zeros(3))
    >>> opt = SGD(learning_rate=0.5, momentum=0.9)
    >>> opt.build([w])
    >>> opt.updates_in_graph([w]), opt.graph_update_blocked()
    (True, False)
    >>> states, rates = opt.graph_inputs([w])  # eagerly, before each step
    >>> sorted(states), rates  # the slots; the weight-decay factor (1: none), then the learning rate
    (['momentum'], tensor([1.0000, 0.5000]))
    >>> with torch.no_grad():  # what the compiled step traces
    ...     opt.graph_update([w.detach()], [torch.ones(3)], states, rates)
    >>> opt.graph_done()
    >>> w.tolist(), int(opt.iterations)
    ([-0.5, -0.5, -0.5], 1)
"""

from __future__ import annotations

import torch

from loom.optimizers import averaging


class GraphUpdate:
    """Mixin: one optimizer update traced into a compiled train step (see the module docstring)."""

    def updates_in_graph(self, params: list) -> bool:
        """Whether :meth:`graph_update` can update ``params`` inside a compiled train step.

        It can when ``params`` are this optimizer's parameters in order, in one param group, and nothing hooks
        or overrides ``step()``. Hyperparameters other than the learning rate (clipping, momentum, ...) are read
        when the step is traced, as Keras's traced train function does.
        """
        return self._built_on(params) and len(self.param_groups) == 1 and self._plain_step()

    def graph_update_blocked(self) -> bool:
        """True while the update must run eagerly: several param groups, step hooks (checked each step), or a
        call that only accumulates gradients (the compiled step then gives the gradients to ``step_with``)."""
        return len(self.param_groups) != 1 or self._has_step_hooks() or not self._is_update_call()

    def graph_inputs(self, params: list) -> tuple[dict, torch.Tensor]:
        """``(states, rates)`` for the next :meth:`graph_update`, computed eagerly before each step.

        ``rates`` holds the weight-decay factor (1 without decay) and :meth:`_rates` as one tensor, so that
        schedules and callbacks changing the learning rate reach the graph without recompiling it.
        """
        group = self.param_groups[0]
        if callable(self._learning_rate):
            group["lr"] = self._scheduled_or(self._learning_rate)
        decay, *rates = self._group_rates(group, params, self._update_count + 1)
        key = (1.0 if decay is None else decay, *rates, *(self._ema_rates() if self.use_ema else ()))
        if key != getattr(self, "_graph_key", None):
            self._graph_key, self._graph_rates = key, torch.tensor(key, dtype=params[0].dtype,
                                                                   device=params[0].device)
        return self._gather_states(params), self._graph_rates

    def graph_update(self, params: list, grads: list, states: dict, rates: torch.Tensor) -> None:
        """One update of ``params`` (detached views, updated in place) traced into a compiled step.

        Call :meth:`graph_done` after each call that ran.
        """
        decay, *rates = rates.unbind()
        if self.use_ema:
            *rates, momentum, one_minus_momentum, overwrite = rates
        grads = self._unscale(grads)
        if self.gradient_accumulation_steps:  # this is an update call: see graph_update_blocked
            grads = averaging.mean_and_reset(grads, states[averaging.ACCUMULATOR], self.gradient_accumulation_steps)
        self._decay_(self.param_groups[0], params, decay)  # a factor of 1 keeps every weight bit-identical
        self._update(params, self._clip(grads), states, *rates)
        if self.use_ema:
            averaging.update_averages(states[averaging.AVERAGE], params, momentum, one_minus_momentum)
            if self.ema_overwrite_frequency:
                averaging.overwrite_with_averages(params, states[averaging.AVERAGE], overwrite)

    def graph_done(self) -> None:
        """Count an update made by :meth:`graph_update`."""
        self._commit_update()
        self._finish_step()
