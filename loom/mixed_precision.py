"""The global mixed-precision policy, as ``keras.mixed_precision`` (read by ``Model.compile``).

``'mixed_float16'`` / ``'mixed_bfloat16'`` make ``fit``, ``evaluate`` and ``predict`` run the forward pass
under ``torch.autocast`` in that dtype while the weights stay float32 (loss computed in float32; float16 on
CUDA also scales the loss with a ``GradScaler``). The policy is read when a model is compiled;
``compile(mixed_precision=...)`` overrides it for one model.

Example:
    >>> from loom import mixed_precision
    >>> mixed_precision.set_global_policy("mixed_bfloat16")
    >>> mixed_precision.global_policy().name
    'mixed_bfloat16'
    >>> mixed_precision.set_global_policy("float32")
"""

from __future__ import annotations

from loom.errors import ConfigError

_VALID = ("float32", "mixed_float16", "mixed_bfloat16")


class DTypePolicy:
    """A named policy: ``compute_dtype`` for the forward pass, ``variable_dtype`` for the weights."""

    def __init__(self, name: str = "float32"):
        if name not in _VALID:
            raise ConfigError(f"Unknown dtype policy {name!r}. Valid: {list(_VALID)}.")
        self.name = name

    @property
    def compute_dtype(self) -> str:
        return {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}[self.name]

    @property
    def variable_dtype(self) -> str:
        return "float32"

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self.name}">'


Policy = DTypePolicy
_GLOBAL = DTypePolicy("float32")


def set_global_policy(policy: str | DTypePolicy) -> None:
    """Set the policy models compiled from now on use (``'float32'``, ``'mixed_float16'``, ``'mixed_bfloat16'``)."""
    global _GLOBAL
    _GLOBAL = policy if isinstance(policy, DTypePolicy) else DTypePolicy(policy)


def global_policy() -> DTypePolicy:
    """The current global policy (``float32`` by default)."""
    return _GLOBAL
