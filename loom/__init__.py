"""loom: the Keras 3 API running natively on PyTorch (``import loom as keras``).

The top level holds Keras's public names (``Model``, ``Layer``, ``layers``, ``ops``...) plus loom's own
packages (``tuning``, ``ensembles``, ``distributed``). Heavier packages load on first use, so
``import loom`` stays fast; implementation modules stay importable (``loom.graph``) but are not listed by
``dir(loom)``.

Example:
    >>> import loom
    >>> inputs = loom.Input((64,))
    >>> x = loom.layers.Dense(32, activation="relu")(inputs)
    >>> outputs = loom.layers.Dense(10, activation="softmax")(x)
    >>> model = loom.Model(inputs, outputs)
    >>> model.count_params()
    2410
"""

import contextlib
import importlib
from typing import Any, Iterator

from loom import activations, backend, config, constraints, initializers, regularizers, utils
from loom import errors
from loom.errors import LoomError
from loom import layers, losses, metrics, optimizers
from loom.initializers import Initializer
from loom.layers import Input, InputLayer, InputSpec, Layer
from loom.losses import Loss
from loom.metrics import Metric
from loom.optimizers import Optimizer
from loom.regularizers import Regularizer
from loom.symbolic import SymbolicTensor as KerasTensor
from loom import models
from loom.models import Model, Sequential
from loom import saving
from loom import callbacks, dtype_policies, mixed_precision, tree
from loom.mixed_precision import DTypePolicy, FloatDTypePolicy

__version__ = "0.1.0"


def version() -> str:
    """loom's version string, as ``keras.version()``."""
    return __version__


@contextlib.contextmanager
def device(device_name: Any) -> Iterator[Any]:
    """A context in which new tensors are created on ``device_name`` (``'cpu'``, ``'gpu:0'``, ``'cuda:1'``), as
    ``keras.device``.

    loom's tensor-creating ops (``ops.arange``, ``ops.ones``, ``ops.convert_to_tensor`` of NumPy data,
    ``loom.random.*``) follow :func:`loom.backend.device_scope`; torch's own factories (``torch.ones``, the
    weights layers create) follow a ``torch.device`` mode entered as well. ``fit`` / ``evaluate`` / ``predict``
    need no scope: they run a model on a GPU in loom's device scope by themselves.

    Args:
        device_name: a device name (``'gpu'`` means ``'cuda'``) or a ``torch.device``.

    Yields:
        The ``torch.device``.

    Raises:
        ConfigError: an invalid device name.

    Example:
        >>> import torch, loom
        >>> with loom.device("meta"):
        ...     torch.ones(1).device.type, loom.ops.arange(2).device.type
        ('meta', 'meta')
    """
    import torch
    with backend.device_scope(device_name) as d, torch.device(d):
        yield d


# Name -> module (a submodule loaded on first access) or (module, attribute).
_LAZY: dict[str, Any] = {
    "applications": "loom.applications", "datasets": "loom.datasets", "distributed": "loom.distributed",
    "ensembles": "loom.ensembles", "tuning": "loom.tuning", "ops": "loom.ops", "random": "loom.random",
    "Variable": ("loom.variables", "Variable"), "name_scope": ("loom.variables", "name_scope"),
    "RematScope": ("loom.remat", "RematScope"), "remat": "loom.remat",
    "StatelessScope": ("loom.stateless_scope", "StatelessScope"),
    "SymbolicScope": ("loom.symbolic_scope", "SymbolicScope"),
    "Operation": ("loom.operation", "Operation"), "Function": ("loom.function", "Function"),
    "Quantizer": ("loom.quantizers", "Quantizer"), "quantizers": "loom.quantizers",
    "distillation": "loom.distillation", "export": "loom.export", "legacy": "loom.legacy",
    "preprocessing": "loom.preprocessing", "visualization": "loom.visualization", "wrappers": "loom.wrappers",
}
_EAGER = ["DTypePolicy", "FloatDTypePolicy", "Initializer", "Input", "InputSpec", "KerasTensor", "Layer", "Loss",
          "LoomError", "Metric", "Model", "Optimizer", "Regularizer", "Sequential", "activations", "backend",
          "callbacks", "config", "constraints", "device", "dtype_policies", "initializers", "layers", "losses",
          "metrics", "mixed_precision", "models", "optimizers", "regularizers", "saving", "tree", "utils", "version"]
__all__ = sorted(_EAGER + list(_LAZY))


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'loom' has no attribute {name!r}")
    module = target if isinstance(target, str) else target[0]
    try:
        value = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        raise AttributeError(f"module 'loom' has no attribute {name!r} ({module} is not installed)") from None
    if not isinstance(target, str):
        value = getattr(value, target[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return list(__all__) + ["__version__"]
