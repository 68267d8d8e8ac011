"""The global mixed-precision policy, as ``keras.mixed_precision`` (read by ``Model.compile``).

``'mixed_float16'`` / ``'mixed_bfloat16'`` make ``fit``, ``evaluate`` and ``predict`` run the forward pass
under ``torch.autocast`` in that dtype while the weights stay float32 (loss computed in float32; float16 on
CUDA also scales the loss with a ``GradScaler``). The policy is read when a model is compiled;
``compile(mixed_precision=...)`` overrides it for one model.

:class:`LossScaleOptimizer` wraps an optimizer with Keras's API; ``compile`` unwraps it (loom scales the
loss itself, with ``torch.amp.GradScaler``, for ``mixed_float16`` on CUDA), so on the CPU it is a pass-through.

Example:
    >>> from loom import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")
    >>> mixed_precision.global_policy().name
    'mixed_bfloat16'
    >>> mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


class DTypePolicy:
    """A named policy: ``compute_dtype`` for the forward pass, ``variable_dtype`` for the weights.

    Args:
        name: ``'float32'``, ``'float16'``, ``'bfloat16'``, ``'float64'``, ``'mixed_float16'`` or
            ``'mixed_bfloat16'`` (default ``None``: :func:`loom.config.floatx`).

    Example:
        >>> policy = DTypePolicy("mixed_float16")
        >>> policy.compute_dtype, policy.variable_dtype, policy.get_config()
        ('float16', 'float32', {'name': 'mixed_float16'})
    """

    def __init__(self, name: str | None = None):
        from loom import config
        name = config.floatx() if name is None else name
        if name not in _FLOATS and name not in _MIXED:
            name = _dtype_name(name)
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return _MIXED.get(self._name, self._name)

    @property
    def variable_dtype(self) -> str:
        return "float32" if self._name in _MIXED else self._name

    @property
    def quantization_mode(self) -> None:
        """``None``: a float policy (quantized ones are in :mod:`loom.dtype_policies`)."""
        return None

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict) -> "DTypePolicy":
        return cls(**config)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


def _dtype_name(name: Any) -> str:
    """The standard name of a non-float dtype policy (``'int32'``...), as Keras accepts any dtype name."""
    from loom import dtypes
    try:
        return dtypes.standardize_dtype(name) if isinstance(name, str) else _refuse(name)
    except ConfigError:
        return _refuse(name)


def _refuse(name: Any) -> str:
    raise ConfigError(f"Cannot convert {name!r} to a mixed precision DTypePolicy. Valid policies include "
                      f"{list(_MIXED) + list(_FLOATS)}, or the name of any dtype.")


Policy = FloatDTypePolicy = DTypePolicy
_GLOBAL = DTypePolicy("float32")


def set_dtype_policy(policy: str | DTypePolicy) -> None:
    """Set the policy models compiled from now on use (``'float32'``, ``'mixed_float16'``, ``'mixed_bfloat16'``).

    Raises:
        ConfigError: an unknown name, or an object that is not a policy.
    """
    global _GLOBAL
    if not isinstance(policy, (str, DTypePolicy)):
        raise ConfigError(f"Invalid `policy` argument. Expected the string name of a policy (such as "
                          f"'mixed_float16') or a DTypePolicy instance. Received: policy={policy!r}")
    _GLOBAL = policy if isinstance(policy, DTypePolicy) else DTypePolicy(policy)


def dtype_policy() -> DTypePolicy:
    """The current global policy (``float32`` by default)."""
    return _GLOBAL


set_global_policy, global_policy = set_dtype_policy, dtype_policy


class LossScaleOptimizer:
    """An optimizer wrapper with Keras's loss-scaling API.

    ``compile(optimizer=LossScaleOptimizer(...))`` trains with ``inner_optimizer``; loom's trainer applies
    dynamic loss scaling (``torch.amp.GradScaler``) for ``mixed_float16`` on CUDA, so on the CPU this is a
    pass-through. Attributes it does not define (``learning_rate``, ``iterations``...) are the inner
    optimizer's.

    Args:
        inner_optimizer: the loom optimizer to wrap.
        initial_scale: the starting loss scale (default 32768.0).
        dynamic_growth_steps: steps without overflow before the scale doubles (default 2000).
        name: the wrapper's name (default ``'loss_scale_optimizer'``).

    Example:
        >>> import loom
        >>> opt = LossScaleOptimizer(loom.optimizers.SGD(0.1))
        >>> opt.learning_rate, opt.get_config()["initial_scale"]
        (0.1, 32768.0)
    """

    def __init__(self, inner_optimizer: Any, initial_scale: float = 32768.0, dynamic_growth_steps: int = 2000,
                 name: str | None = None, **kwargs: Any):
        from loom.optimizers import Optimizer
        if not isinstance(inner_optimizer, Optimizer):
            raise ConfigError(f"LossScaleOptimizer: inner_optimizer must be a loom optimizer, got "
                              f"{type(inner_optimizer).__name__}.")
        if kwargs:
            raise ConfigError(f"LossScaleOptimizer: unknown arguments {sorted(kwargs)}.")
        self.inner_optimizer = inner_optimizer
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.name = name or "loss_scale_optimizer"

    def __getattr__(self, name: str) -> Any:
        if name == "inner_optimizer":
            raise AttributeError(name)
        return getattr(self.inner_optimizer, name)

    def scale_loss(self, loss: Any) -> Any:
        """``loss`` times :attr:`initial_scale`, as Keras's ``scale_loss`` before the first step."""
        return loss * self.initial_scale

    def get_config(self) -> dict:
        from loom.optimizers import serialize
        return {"name": self.name, "inner_optimizer": serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "LossScaleOptimizer":
        from loom.optimizers import deserialize
        config = dict(config)
        config["inner_optimizer"] = deserialize(config["inner_optimizer"], custom_objects=custom_objects)
        return cls(**config)
