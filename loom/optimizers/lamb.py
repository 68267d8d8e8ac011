"""LAMB (You et al., 2019, "Large Batch Optimization for Deep Learning"): Adam's step rescaled per tensor
by the trust ratio ``||w|| / ||step||``, as ``keras.optimizers.Lamb``::

    m = lerp(m, g, 1 - beta_1);  v = lerp(v, g**2, 1 - beta_2)
    step = (m / (1 - beta_1**t)) / (sqrt(v / (1 - beta_2**t)) + epsilon)
    w -= learning_rate * (||w|| / ||step|| if both norms > 0 else 1) * step

Example:
    >>> import torch
    >>> from loom.optimizers import Lamb
    >>> w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    >>> _ = Lamb(learning_rate=0.1).apply_gradients([(torch.tensor([1.0, 1.0]), w)])
    >>> w.detach()  # the step has norm sqrt(2), rescaled to ||w|| = 5
    tensor([2.6464, 3.6464])
"""

from __future__ import annotations

import torch

from loom.optimizers.adaptive_moments import AdaptiveMomentOptimizer


class Lamb(AdaptiveMomentOptimizer):
    """Layer-wise adaptive moments, as ``keras.optimizers.Lamb``.

    Args:
        learning_rate: Defaults to 0.001.
        beta_1: Decay of the first moment. Defaults to 0.9.
        beta_2: Decay of the second moment. Defaults to 0.999.
        epsilon: Added to the corrected ``sqrt(v)``. Defaults to 1e-7.
        **kwargs: The base arguments (weight_decay, clipnorm, use_ema, gradient_accumulation_steps, ...).

    Example:
        >>> Lamb().get_config()["epsilon"]
        1e-07
    """

    _slots = {"momentum": 0.0, "velocity": 0.0}

    def _rates(self, lr, step, f):
        t = f(step)
        return (lr, float(f(1) - f(self.beta_1) ** t), float(f(1) - f(self.beta_2) ** t))

    def _update(self, params, grads, states, lr, correction_1, correction_2):
        momentums, velocities = states["momentum"], states["velocity"]
        torch._foreach_lerp_(momentums, grads, 1 - self.beta_1)
        self._average_squares_(velocities, grads, self.beta_2)
        denominators = torch._foreach_div(velocities, correction_2)
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        steps = torch._foreach_div(momentums, correction_1)
        torch._foreach_div_(steps, denominators)
        weight_norms, step_norms = torch._foreach_norm(params), torch._foreach_norm(steps)
        for param, step, w_norm, s_norm in zip(params, steps, weight_norms, step_norms):
            ratio = torch.where((w_norm > 0) & (s_norm > 0), w_norm / s_norm, torch.ones_like(w_norm))
            param.sub_(step * (ratio * lr))
