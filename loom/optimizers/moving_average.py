"""The optimizer's side of ``use_ema``: :class:`MovingAverage`, a mixin of :class:`~loom.optimizers.Optimizer`.

:mod:`loom.optimizers.averaging` holds the rules and the tensor arithmetic of the exponential moving average
of the weights; this mixin applies them to an optimizer's own parameters: the momentum each call uses
(``_ema_rates``, also an input of the update inside a compiled step), the update of the averages after an
eager call, and :meth:`MovingAverage.finalize_variable_values`, which ``fit`` calls when training ends.

It is separate from the base class because it does something only for optimizers made with
``use_ema=True``.

Example:
    >>> import torch
    >>> from loom.optimizers import SGD
    >>> w = torch.nn.Parameter(torch.zeros(1))
    >>> opt = SGD(learning_rate=1.0, use_ema=True, ema_momentum=0.5)
    >>> for _ in range(2):
    ...     _ = opt.apply_gradients([(torch.ones(1), w)])
    >>> w.item(), opt.state[w]["average"].item()  # the first call's momentum is 0: the average starts at -1
    (-2.0, -1.5)
    >>> opt.finalize_variable_values()
    >>> w.item()
    -1.5
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

from loom.optimizers import averaging


class MovingAverage:
    """Mixin: the moving average of an optimizer's weights, when ``use_ema`` (see the module docstring)."""

    def _ema_rates(self) -> tuple:
        """``(momentum, 1 - momentum, overwrite now)`` for this call's average update, in the weights' precision."""
        f = self._scalar_type(self._flat_params())
        momentum = f(self.ema_momentum) if self._update_count != 0 else f(0.0)
        frequency = self.ema_overwrite_frequency
        return float(momentum), float(f(1) - momentum), bool(frequency and (self._update_count + 1) % frequency == 0)

    def _update_averages(self, momentum: Any, one_minus_momentum: Any, overwrite: Any) -> None:
        params = self._flat_params()
        averages = self._gather_states(params)[averaging.AVERAGE]
        averaging.update_averages(averages, params, momentum, one_minus_momentum)
        if self.ema_overwrite_frequency:
            averaging.overwrite_with_averages(params, averages, overwrite)

    def finalize_variable_values(self, var_list: Iterable[torch.Tensor] | None = None) -> None:
        """With ``use_ema``, set the weights (default: all this optimizer's) to their moving averages.

        ``fit`` calls this when training ends, as Keras does.
        """
        if not (self.use_ema and self._built):
            return
        params = [p for p in (self._flat_params() if var_list is None else var_list)
                  if averaging.AVERAGE in self.state.get(p, {})]
        with torch.no_grad():
            averaging.overwrite_with_averages(params, [self.state[p][averaging.AVERAGE] for p in params])
