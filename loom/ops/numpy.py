"""``loom.ops.numpy``: the 220 functions of ``keras.ops.numpy`` on torch tensors.

Inputs may be tensors, NumPy arrays, Python scalars or lists; results are torch tensors on the inputs' device,
with Keras's names, argument names, defaults and output dtypes. The functions live in private modules by
concept and are re-exported here:

- ``_numpy_unary``: element-wise functions of one tensor (``sin``, ``abs``, ``isnan``...)
- ``_numpy_binary``: element-wise functions of two tensors (``add``, ``maximum``, ``equal``...)
- ``_numpy_reduce`` / ``_numpy_nan``: reductions and scans (``sum``, ``argmax``, ``cumsum``, ``quantile``,
  ``nanmean``...)
- ``_numpy_shape``: layout (``reshape``, ``transpose``, ``pad``, ``take``...)
- ``_numpy_join``: joining and splitting (``concatenate``, ``stack``, ``split``...)
- ``_numpy_create``: creation (``arange``, ``ones``, ``eye``, ``linspace``, windows...)
- ``_numpy_linalg``: products, diagonals, differences (``matmul``, ``einsum``, ``trace``, ``diff``...)
- ``_numpy_search``: sorting, searching, selection (``sort``, ``where``, ``unique``, ``histogram``...)

Example:
    >>> import torch
    >>> from loom.ops import numpy as np_ops
    >>> x = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    >>> np_ops.sum(np_ops.abs(x), axis=-1).tolist()
    [3.0, 7.0]
    >>> np_ops.argmax(x, axis=1).dtype
    torch.int32
"""

from loom.ops._numpy_binary import *  # noqa: F401,F403
from loom.ops._numpy_binary import __all__ as _binary
from loom.ops._numpy_create import *  # noqa: F401,F403
from loom.ops._numpy_create import __all__ as _create
from loom.ops._numpy_join import *  # noqa: F401,F403
from loom.ops._numpy_join import __all__ as _join
from loom.ops._numpy_linalg import *  # noqa: F401,F403
from loom.ops._numpy_linalg import __all__ as _linalg
from loom.ops._numpy_nan import *  # noqa: F401,F403
from loom.ops._numpy_nan import __all__ as _nan
from loom.ops._numpy_reduce import *  # noqa: F401,F403
from loom.ops._numpy_reduce import __all__ as _reduce
from loom.ops._numpy_search import *  # noqa: F401,F403
from loom.ops._numpy_search import __all__ as _search
from loom.ops._numpy_shape import *  # noqa: F401,F403
from loom.ops._numpy_shape import __all__ as _shape
from loom.ops._numpy_unary import *  # noqa: F401,F403
from loom.ops._numpy_unary import __all__ as _unary

__all__ = sorted(set(_binary + _create + _join + _linalg + _nan + _reduce + _search + _shape + _unary))
