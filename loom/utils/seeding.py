"""One call that makes runs repeatable: Python, NumPy and torch (CPU and CUDA) random generators.

Example:
    >>> import torch, loom
    >>> loom.utils.set_random_seed(7); a = torch.rand(2)
    >>> loom.utils.set_random_seed(7); b = torch.rand(2)
    >>> bool((a == b).all())
    True
"""

from __future__ import annotations

import random

import numpy as np
import torch


def set_random_seed(seed: int) -> None:
    """Seed every random generator loom uses, as ``keras.utils.set_random_seed``."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
