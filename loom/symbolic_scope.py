"""``SymbolicScope``: marks code that only infers shapes and dtypes, as ``keras.SymbolicScope``.

loom infers a functional graph's shapes by running layers on ``meta`` tensors; inside this scope
:func:`in_symbolic_scope` is true, so custom layers can skip side effects (counters, caches) that should
happen only on real data, as they would under Keras's scope.

Example:
    >>> import loom
    >>> from loom.symbolic_scope import in_symbolic_scope
    >>> with loom.SymbolicScope():
    ...     in_symbolic_scope()
    True
    >>> in_symbolic_scope()
    False
"""

from __future__ import annotations

from typing import Any

__all__ = ["SymbolicScope", "get_symbolic_scope", "in_symbolic_scope"]

_ACTIVE: list["SymbolicScope"] = []


class SymbolicScope:
    """A scope for shape and dtype inference only (see the module docstring).

    Example:
        >>> import loom
        >>> with loom.SymbolicScope() as scope:
        ...     isinstance(scope, loom.SymbolicScope)
        True
    """

    def __enter__(self) -> "SymbolicScope":
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self)


def get_symbolic_scope() -> SymbolicScope | None:
    """The innermost open :class:`SymbolicScope`, or ``None``."""
    return _ACTIVE[-1] if _ACTIVE else None


def in_symbolic_scope() -> bool:
    """Whether a :class:`SymbolicScope` is open."""
    return bool(_ACTIVE)
