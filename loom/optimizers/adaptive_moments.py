"""``AdaptiveMomentOptimizer``: the base of the optimizers with Adam's hyperparameters.

Adam, AdamW, Adamax, Nadam, Lamb and ScheduleFreeAdamW all take ``beta_1`` (decay of the first moment),
``beta_2`` (decay of the second moment) and ``epsilon``, and put them in their config in that order; this
class stores them once. Subclasses define the update (``_slots``, ``_rates``, ``_update``) and add their own
arguments.

Example:
    >>> from loom.optimizers import Lamb
    >>> isinstance(Lamb(), AdaptiveMomentOptimizer), Lamb(beta_2=0.99).get_config()["beta_2"]
    (True, 0.99)
"""

from __future__ import annotations

from typing import Any

from loom.optimizers.optimizer import Optimizer


class AdaptiveMomentOptimizer(Optimizer):
    """An :class:`~loom.optimizers.Optimizer` keeping Adam's ``beta_1``, ``beta_2`` and ``epsilon``.

    Args:
        learning_rate: Defaults to 0.001.
        beta_1: Decay of the first moment. Defaults to 0.9.
        beta_2: Decay of the second moment. Defaults to 0.999.
        epsilon: The small constant of the denominator. Defaults to 1e-7.
        **kwargs: The base arguments (weight_decay, clipnorm, use_ema, gradient_accumulation_steps, ...).
    """

    def __init__(self, learning_rate: Any = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, **kwargs: Any):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def _hyperparameters(self) -> dict[str, Any]:
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}
