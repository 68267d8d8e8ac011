"""loom: the Keras API of *Deep Learning with Python* (chapter 7), running natively on PyTorch.

Example:
    >>> import loom
    >>> inputs = loom.Input((64,))
    >>> x = loom.layers.Dense(32, activation="relu")(inputs)
    >>> outputs = loom.layers.Dense(10, activation="softmax")(x)
    >>> model = loom.Model(inputs, outputs)
    >>> model.count_params()
    2410
"""

from loom import activations, backend, constraints, initializers, regularizers, utils
from loom.errors import LoomError
from loom import layers, losses, metrics, optimizers
from loom.layers import Input, InputLayer
from loom import models
from loom.models import Model, Sequential
from loom import saving
from loom import callbacks, mixed_precision
from loom import distributed
from loom import applications, datasets

__version__ = "0.1.0"
