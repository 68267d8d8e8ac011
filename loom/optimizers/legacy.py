"""Keras 2's ``optimizers.legacy`` names, kept working.

Keras 3 raises ``ImportError`` on ``keras.optimizers.legacy.Adam(...)``; Keras 2 programs (and the book's
2nd edition notebooks run under TF 2.11+) still write it, so loom keeps the names: each one is loom's
optimizer of the same name, with Keras 3's defaults and update rule.

Example:
    >>> from loom.optimizers import legacy
    >>> type(legacy.Adam(learning_rate=0.01)).__name__
    'Adam'
"""

from loom.optimizers.adagrad import Adagrad
from loom.optimizers.adam import Adam
from loom.optimizers.ftrl import Ftrl
from loom.optimizers.optimizer import Optimizer
from loom.optimizers.rmsprop import RMSprop
from loom.optimizers.sgd import SGD

__all__ = ["Adagrad", "Adam", "Ftrl", "Optimizer", "RMSprop", "SGD"]
