"""``loom.ops``: Keras 3's ``keras.ops`` namespace on torch tensors.

The top level holds every ``keras.ops`` function (the NumPy-like, nn, linalg, math and core ops); the
submodules ``loom.ops.numpy``, ``loom.ops.nn``, ``loom.ops.linalg`` and ``loom.ops.image`` mirror Keras's.
Inputs may be tensors, NumPy arrays or Python scalars; results are torch tensors on the inputs' device.

Example:
    >>> from loom import ops
    >>> ops.sum(ops.square([1, 2, 3])).item()
    14
    >>> ops.numpy.argmax([[1.0, 3.0, 2.0]], axis=-1).tolist()
    [1]
"""

from loom.ops import core, image, linalg, math, nn, numpy
from loom.ops.core import *  # noqa: F401,F403
from loom.ops.linalg import *  # noqa: F401,F403
from loom.ops.math import *  # noqa: F401,F403
from loom.ops.nn import *  # noqa: F401,F403
from loom.ops.numpy import *  # noqa: F401,F403

__all__ = sorted(set(core.__all__) | set(linalg.__all__) | set(math.__all__) | set(nn.__all__)
                 | set(numpy.__all__) | {"image", "linalg", "nn", "numpy"})
