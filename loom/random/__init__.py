"""``loom.random``: Keras's ``keras.random`` on torch generators.

Example:
    >>> from loom import random
    >>> random.randint((3,), 0, 10, seed=0).dtype
    torch.int32
"""

from loom.random.random import (beta, binomial, categorical, dropout, gamma, normal, randint, shuffle,
                                truncated_normal, uniform)
from loom.random.seed_generator import SeedGenerator

__all__ = ["SeedGenerator", "beta", "binomial", "categorical", "dropout", "gamma", "normal", "randint", "shuffle",
           "truncated_normal", "uniform"]
