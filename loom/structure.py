"""Nested-structure helpers (lists, tuples, dicts of leaves), used for layer inputs and model I/O.

Example:
    >>> from loom.structure import flatten, map_structure
    >>> flatten([1, {"b": 2, "a": 3}, (4,)])
    [1, 3, 2, 4]
    >>> map_structure(lambda v: v * 10, {"x": [1, 2]})
    {'x': [10, 20]}
"""

from __future__ import annotations

from typing import Any, Callable


def flatten(obj: Any) -> list:
    """Leaves of ``obj`` in order (dict values in sorted key order, as Keras's ``tree.flatten``)."""
    if isinstance(obj, (list, tuple)):
        out: list = []
        for v in obj:
            out.extend(flatten(v))
        return out
    if isinstance(obj, dict):
        out = []
        for k in sorted(obj):
            out.extend(flatten(obj[k]))
        return out
    return [obj]


def map_structure(fn: Callable[[Any], Any], obj: Any) -> Any:
    """Apply ``fn`` to every leaf, keeping the list/tuple/dict structure."""
    if isinstance(obj, list):
        return [map_structure(fn, v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(map_structure(fn, v) for v in obj)
    if isinstance(obj, dict):
        return {k: map_structure(fn, v) for k, v in obj.items()}
    return fn(obj)


def pack_as(template: Any, flat: list) -> Any:
    """``flat`` (leaves in :func:`flatten`'s order) in ``template``'s list / tuple / dict structure.

    Example:
        >>> pack_as({"b": None, "a": (None, None)}, [1, 2, 3])
        {'b': 3, 'a': (1, 2)}
    """
    leaves = iter(flat)

    def build(obj: Any) -> Any:
        if isinstance(obj, list):
            return [build(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(build(v) for v in obj)
        if isinstance(obj, dict):
            built = {k: build(obj[k]) for k in sorted(obj)}
            return {k: built[k] for k in obj}
        return next(leaves)

    return build(template)


def any_leaf(pred: Callable[[Any], bool], obj: Any) -> bool:
    """True when ``pred`` holds for some leaf."""
    if isinstance(obj, (list, tuple)):
        return any(any_leaf(pred, v) for v in obj)
    if isinstance(obj, dict):
        return any(any_leaf(pred, v) for v in obj.values())
    return pred(obj)
