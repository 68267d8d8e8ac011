"""``StatelessScope``: run code against given variable values without changing the variables, as Keras.

Inside the scope, the variables of ``state_mapping`` read as the mapped values, and ``assign`` /
``assign_add`` / ``assign_sub`` record the new value in the scope (where :meth:`StatelessScope.get_current_value`
returns it, and later reads see it) instead of keeping it: when the scope exits, every variable it touched
holds its old value again. ``collect_losses=True`` gathers the losses layers add with ``add_loss`` in
``scope.losses``. loom's variables are torch ``Parameter``s: updates written straight to their storage with
torch's in-place methods (not through ``assign``) bypass the scope, as they would bypass Keras's.

Example:
    >>> import loom
    >>> v = loom.Variable([1.0, 1.0])
    >>> with loom.StatelessScope(state_mapping=[(v, [5.0, 5.0])]) as scope:
    ...     _ = v.assign(v + 1)
    ...     scope.get_current_value(v).tolist()
    [6.0, 6.0]
    >>> v.tolist()
    [1.0, 1.0]
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

from loom.errors import ConfigError

__all__ = ["StatelessScope", "get_stateless_scope", "in_stateless_scope"]

_ACTIVE: list["StatelessScope"] = []


class StatelessScope:
    """A scope in which variable updates are recorded, not applied (see the module docstring).

    Args:
        state_mapping: ``(variable, value)`` pairs: inside the scope each variable reads as its value.
        collect_losses: gather the losses layers add with ``add_loss`` in :attr:`losses` (default ``False``).
        initialize_variables: accepted for Keras compatibility (loom's variables are created initialized).

    Example:
        >>> import loom
        >>> with loom.StatelessScope(collect_losses=True) as scope:
        ...     scope.losses
        []
    """

    def __init__(self, state_mapping: Iterable | None = None, collect_losses: bool = False,
                 initialize_variables: bool = True) -> None:
        from loom.variables import Variable
        self.collect_losses = bool(collect_losses)
        self.initialize_variables = bool(initialize_variables)
        self.losses: list[torch.Tensor] = []
        self._values: dict[int, tuple[Any, torch.Tensor]] = {}
        self._saved: dict[int, tuple[Any, torch.Tensor]] = {}
        for pair in state_mapping or []:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not isinstance(pair[0], torch.Tensor):
                raise ConfigError(f"StatelessScope: state_mapping takes (variable, value) pairs; got {pair!r}.")
            var, value = pair
            if not isinstance(var, Variable):
                raise ConfigError(f"StatelessScope: {type(var).__name__} in state_mapping is not a loom.Variable.")
            value = var._converted(value).to(var.dtype)
            if tuple(value.shape) != tuple(var.shape):
                raise ConfigError(f"StatelessScope: the value for variable '{var.path}' has shape "
                                  f"{tuple(value.shape)}; the variable has {tuple(var.shape)}.")
            self._values[id(var)] = (var, value)

    def __enter__(self) -> "StatelessScope":
        for var, value in self._values.values():
            self._remember(var)
            var.data = value.clone()
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _ACTIVE.remove(self)
        for var, original in self._saved.values():
            var.data = original
        self._saved.clear()

    def _remember(self, var: Any) -> None:
        if id(var) not in self._saved:
            self._saved[id(var)] = (var, var.data)

    def add_update(self, update: tuple) -> None:
        """Record ``(variable, new_value)``: later reads in the scope see it; the variable keeps its old value."""
        var, value = update
        self._remember(var)
        value = value.detach() if isinstance(value, torch.Tensor) else torch.as_tensor(value)
        var.data = value.to(var.dtype).clone()
        self._values[id(var)] = (var, var.data)

    def add_loss(self, loss: torch.Tensor) -> None:
        """Collect ``loss`` (when ``collect_losses``)."""
        if self.collect_losses:
            self.losses.append(loss)

    def get_current_value(self, variable: Any) -> torch.Tensor | None:
        """The value ``variable`` has in this scope (mapped or assigned), or ``None`` if the scope never set it."""
        entry = self._values.get(id(variable))
        return None if entry is None else entry[1]


def get_stateless_scope() -> StatelessScope | None:
    """The innermost open :class:`StatelessScope`, or ``None``."""
    return _ACTIVE[-1] if _ACTIVE else None


def in_stateless_scope() -> bool:
    """Whether a :class:`StatelessScope` is open."""
    return bool(_ACTIVE)
