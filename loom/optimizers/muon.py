"""Muon (Jordan et al., 2024, "Muon: An optimizer for hidden layers"), as ``keras.optimizers.Muon``.

2-D weights (except embeddings and layers matched by ``exclude_layers``) take a Nesterov momentum step
orthogonalised by ``ns_steps`` Newton-Schulz iterations, scaled by ``sqrt(max(rows, cols)) * rms_rate``
(Moonlight's rule); every other weight takes an AdamW step at ``learning_rate * adam_lr_ratio``::

    m = momentum * m + g;  u = NS(g + momentum * m  if nesterov else m)
    w -= learning_rate * u * sqrt(max(rows, cols)) * rms_rate

Weight decay is ``weight_decay`` for Muon weights and ``adam_weight_decay`` for the others.

Example:
    >>> import torch
    >>> from loom.optimizers import Muon
    >>> w = torch.nn.Parameter(torch.eye(2))
    >>> _ = Muon(learning_rate=0.1, weight_decay=None).apply_gradients([(torch.eye(2), w)])
    >>> w.detach().diagonal().tolist() == [w[0, 0].item()] * 2  # an orthogonal step along the identity
    True
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import torch

from loom.optimizers.optimizer import Optimizer


def newton_schulz(x: torch.Tensor, steps: int, a: float, b: float, c: float) -> torch.Tensor:
    """Approximately orthogonalise the last two axes of ``x`` (the quintic iteration Muon uses)."""
    tall = x.shape[-2] > x.shape[-1]
    if tall:
        x = x.transpose(-2, -1)
    x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
    for _ in range(steps):
        gram = x @ x.transpose(-2, -1)
        x = a * x + (b * gram + c * gram @ gram) @ x
    return x.transpose(-2, -1) if tall else x


class Muon(Optimizer):
    """Momentum orthogonalised by Newton-Schulz for matrices, AdamW for the rest, as ``keras.optimizers.Muon``.

    Args:
        learning_rate: Defaults to 0.001.
        adam_beta_1: AdamW's first-moment decay. Defaults to 0.9.
        adam_beta_2: AdamW's second-moment decay. Defaults to 0.999.
        adam_weight_decay: Weight decay of the AdamW weights. Defaults to 0.004.
        epsilon: AdamW's epsilon. Defaults to 1e-7.
        weight_decay: Weight decay of the Muon weights. Defaults to 0.004.
        exclude_layers: Regular expressions; weights whose path matches one use AdamW. Defaults to None.
        exclude_embeddings: Weights with ``'embedding'`` in their path use AdamW. Defaults to True.
        muon_a, muon_b, muon_c: The Newton-Schulz coefficients. Default 3.4445, -4.775, 2.0315.
        adam_lr_ratio: AdamW's rate is ``learning_rate * adam_lr_ratio``. Defaults to 1.
        momentum: Muon's momentum. Defaults to 0.95.
        ns_steps: Newton-Schulz iterations. Defaults to 5.
        nesterov: Use Nesterov momentum. Defaults to True.
        rms_rate: Scale of the update's RMS, or None for none. Defaults to 0.2.
        **kwargs: The other base arguments (clipnorm, use_ema, gradient_accumulation_steps, ...).

    Example:
        >>> Muon(exclude_layers=["head"]).get_config()["exclude_layers"]
        ['head']
    """

    _slots = {"momentum": 0.0, "velocity": 0.0}

    def __init__(self, learning_rate: Any = 0.001, adam_beta_1: float = 0.9, adam_beta_2: float = 0.999,
                 adam_weight_decay: float | None = 0.004, epsilon: float = 1e-7, weight_decay: float | None = 0.004,
                 exclude_layers: list | None = None, exclude_embeddings: bool = True, muon_a: float = 3.4445,
                 muon_b: float = -4.7750, muon_c: float = 2.0315, adam_lr_ratio: float = 1,
                 momentum: float = 0.95, ns_steps: int = 5, nesterov: bool = True, rms_rate: float | None = 0.2,
                 **kwargs: Any):
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, **kwargs)
        self.adam_beta_1, self.adam_beta_2, self.adam_weight_decay = adam_beta_1, adam_beta_2, adam_weight_decay
        self.epsilon, self.adam_lr_ratio = epsilon, adam_lr_ratio
        self.exclude_layers, self.exclude_embeddings = list(exclude_layers or []), exclude_embeddings
        self.muon_a, self.muon_b, self.muon_c = muon_a, muon_b, muon_c
        self.momentum, self.ns_steps, self.nesterov, self.rms_rate = momentum, ns_steps, nesterov, rms_rate

    def _uses_adamw(self, param: torch.Tensor) -> bool:
        if param.dim() != 2:
            return True
        path = str(getattr(param, "path", "") or "")
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def _slot_shape(self, name: str, param: torch.Tensor) -> tuple | None:
        if name == "velocity" and not self._uses_adamw(param):
            return ()  # a placeholder: Muon weights keep no second moment
        return None

    def _group_rates(self, group: dict, params: list, step: int) -> tuple:
        """No shared decay factor: ``_update`` decays Muon and AdamW weights by their own factors."""
        lr, f = group["lr"], self._scalar_type(params)

        def factor(decay: float | None) -> float:
            return 1.0 if not decay else float(f(1) - f(decay) * f(lr))
        t, adam_lr = f(step), f(lr) * f(self.adam_lr_ratio)
        alpha = adam_lr * np.sqrt(f(1) - f(self.adam_beta_2) ** t) / (f(1) - f(self.adam_beta_1) ** t)
        return (None, lr, float(alpha), factor(group["weight_decay"]), factor(self.adam_weight_decay))

    def _update(self, params, grads, states, lr, alpha, muon_decay, adam_decay):
        decayed = {id(p) for p in self._decayed(self.param_groups[0], params)}
        adam = [i for i, p in enumerate(params) if self._uses_adamw(p)]
        muon = [i for i, p in enumerate(params) if not self._uses_adamw(p)]
        for indices, factor in ((muon, muon_decay), (adam, adam_decay)):
            targets = [params[i] for i in indices if id(params[i]) in decayed]
            if targets:
                torch._foreach_mul_(targets, factor)
        for i in muon:
            self._muon_step(params[i], grads[i], states["momentum"][i], lr)
        for i in adam:
            self._adamw_step(params[i], grads[i], states["momentum"][i], states["velocity"][i], alpha)

    def _muon_step(self, w: torch.Tensor, g: torch.Tensor, m: torch.Tensor, lr: Any) -> None:
        m.add_(g + m * (self.momentum - 1))
        direction = g + self.momentum * m if self.nesterov else m
        update = lr * newton_schulz(direction, self.ns_steps, self.muon_a, self.muon_b, self.muon_c)
        if self.rms_rate is not None:
            update = update * math.sqrt(max(w.shape[0], w.shape[1])) * self.rms_rate
        w.sub_(update)

    def _adamw_step(self, w: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor, alpha: Any) -> None:
        m.add_((g - m) * (1 - self.adam_beta_1))
        v.add_((torch.square(g) - v) * (1 - self.adam_beta_2))
        w.sub_(m * alpha / (torch.sqrt(v) + self.epsilon))

    def _hyperparameters(self) -> dict[str, Any]:
        return {"adam_beta_1": self.adam_beta_1, "adam_beta_2": self.adam_beta_2, "epsilon": self.epsilon,
                "exclude_layers": self.exclude_layers, "muon_a": self.muon_a, "muon_b": self.muon_b,
                "muon_c": self.muon_c, "adam_lr_ratio": self.adam_lr_ratio, "momentum": self.momentum,
                "ns_steps": self.ns_steps, "nesterov": self.nesterov, "exclude_embeddings": self.exclude_embeddings,
                "adam_weight_decay": self.adam_weight_decay, "rms_rate": self.rms_rate}
