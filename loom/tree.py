"""Nested structures of lists, tuples, namedtuples and dicts, as ``keras.tree``.

Leaves are everything that is not one of those containers (``None`` included). Plain dicts are walked in
sorted key order, ``OrderedDict``s in insertion order, as Keras does; rebuilt containers keep their type.

Example:
    >>> from loom import tree
    >>> structure = {"b": [1, (2, None)], "a": 3}
    >>> tree.flatten(structure)
    [3, 1, 2, None]
    >>> tree.pack_sequence_as(structure, [10, 20, 30, 40])
    {'a': 10, 'b': [20, (30, 40)]}
    >>> tree.map_structure(lambda x, y: x + y, [1, (2, 3)], [10, (20, 30)])
    [11, (22, 33)]
"""

from __future__ import annotations

import collections
from typing import Any, Callable, Iterator

from loom.errors import InputError


class MAP_TO_NONE:  # noqa: N801 - Keras's name
    """Return this from a :func:`traverse` function to put ``None`` in the node's place."""


def is_nested(structure: Any) -> bool:
    """Whether ``structure`` is a list, tuple, namedtuple or dict (not a leaf)."""
    return isinstance(structure, (list, tuple, dict))


def _items(node: Any) -> list[tuple[Any, Any]]:
    """``(key, child)`` pairs in Keras's order."""
    if isinstance(node, dict):
        keys = list(node) if isinstance(node, collections.OrderedDict) else sorted(node)
        return [(k, node[k]) for k in keys]
    return list(enumerate(node))


def _rebuild(node: Any, children: list) -> Any:
    """A container like ``node`` holding ``children`` (in :func:`_items` order)."""
    if isinstance(node, dict):
        pairs = zip([k for k, _ in _items(node)], children)
        if isinstance(node, collections.defaultdict):
            return collections.defaultdict(node.default_factory, pairs)
        return type(node)(pairs)
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        return type(node)(*children)
    return type(node)(children)


def _walk(structure: Any, path: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    if not is_nested(structure):
        yield path, structure
        return
    for key, child in _items(structure):
        yield from _walk(child, path + (key,))


def flatten(structure: Any) -> list:
    """The leaves of ``structure`` in order."""
    return [leaf for _, leaf in _walk(structure)]


def flatten_with_path(structure: Any) -> list[tuple[tuple, Any]]:
    """``(path, leaf)`` pairs; a path is the tuple of keys and indices leading to the leaf."""
    return list(_walk(structure))


def pack_sequence_as(structure: Any, flat_sequence: Any) -> Any:
    """``structure``'s shape filled with the values of ``flat_sequence`` in order.

    Raises:
        InputError: ``flat_sequence`` holds a different number of values than ``structure`` has leaves.
    """
    flat = list(flat_sequence)
    count = len(flatten(structure))
    if len(flat) != count:
        raise InputError(f"pack_sequence_as: the structure has {count} leaves but flat_sequence has {len(flat)} "
                         f"values.")
    values = iter(flat)

    def fill(node: Any) -> Any:
        if not is_nested(node):
            return next(values)
        return _rebuild(node, [fill(child) for _, child in _items(node)])
    return fill(structure)


def _kind(node: Any) -> Any:
    if isinstance(node, dict):
        return ("dict", tuple(sorted(node, key=repr)))
    if isinstance(node, tuple) and hasattr(node, "_fields"):
        return (type(node), len(node))
    return (list if isinstance(node, list) else tuple, len(node))


def assert_same_structure(a: Any, b: Any, check_types: Any = None) -> None:
    """Raise :class:`~loom.errors.InputError` (a ``ValueError``) unless ``a`` and ``b`` nest the same way.

    Lists and tuples count as different containers; ``check_types`` is accepted for Keras compatibility.
    """
    if is_nested(a) != is_nested(b) or (is_nested(a) and _kind(a) != _kind(b)):
        raise InputError(f"The two structures don't have the same nested structure: {a!r:.200} and {b!r:.200}.")
    if is_nested(a):
        for (_, x), (_, y) in zip(_items(a), _items(b)):
            assert_same_structure(x, y, check_types)


def assert_same_paths(a: Any, b: Any) -> None:
    """Raise :class:`~loom.errors.InputError` unless ``a`` and ``b`` have the same set of leaf paths."""
    paths_a = {p for p, _ in _walk(a)}
    paths_b = {p for p, _ in _walk(b)}
    if paths_a != paths_b:
        raise InputError(f"The two structures don't have the same paths: only in the first "
                         f"{sorted(paths_a - paths_b, key=repr)}, only in the second "
                         f"{sorted(paths_b - paths_a, key=repr)}.")


def map_structure(func: Callable, *structures: Any, none_is_leaf: bool = True) -> Any:
    """``func`` applied to the corresponding leaves of ``structures`` (which must nest the same way).

    With ``none_is_leaf=False``, ``None`` entries are kept as ``None`` without calling ``func``.
    """
    if not structures:
        raise InputError("map_structure needs at least one structure.")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)
    leaves = [flatten(s) for s in structures]
    if none_is_leaf:
        results = [func(*args) for args in zip(*leaves)]
    else:
        results = [None if args[0] is None else func(*args) for args in zip(*leaves)]
    return pack_sequence_as(structures[0], results)


def map_structure_up_to(shallow_structure: Any, func: Callable, *structures: Any) -> Any:
    """Like :func:`map_structure`, but only as deep as ``shallow_structure``: deeper parts reach ``func`` whole."""
    def walk(shallow: Any, nodes: tuple) -> Any:
        if not is_nested(shallow):
            return func(*nodes)
        for node in nodes:
            if not is_nested(node) or len(node) != len(shallow):
                raise InputError(f"map_structure_up_to: {node!r:.200} does not nest like {shallow!r:.200}.")
        children = [walk(child, tuple(_child(n, key, i) for n in nodes))
                    for i, (key, child) in enumerate(_items(shallow))]
        return _rebuild(shallow, children)
    return walk(shallow_structure, structures)


def _child(node: Any, key: Any, index: int) -> Any:
    return node[key] if isinstance(node, dict) else node[index]


def lists_to_tuples(structure: Any) -> Any:
    """``structure`` with every list turned into a tuple."""
    if not is_nested(structure):
        return structure
    children = [lists_to_tuples(child) for _, child in _items(structure)]
    return tuple(children) if isinstance(structure, list) else _rebuild(structure, children)


def _is_shape(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and all(d is None or isinstance(d, int) for d in x)


def map_shape_structure(func: Callable, structure: Any) -> Any:
    """``func`` applied to every shape (a tuple or list of ints and ``None``) in ``structure``."""
    if _is_shape(structure) or not is_nested(structure):
        return func(structure)
    return _rebuild(structure, [map_shape_structure(func, child) for _, child in _items(structure)])


def traverse(func: Callable, structure: Any, top_down: bool = True) -> Any:
    """Apply ``func`` to every node (containers included), as ``keras.tree.traverse``.

    Top-down: a node where ``func`` returns ``None`` is descended into, any other value replaces the node
    (:class:`MAP_TO_NONE` gives ``None``). Bottom-up: children first, then ``func`` on the rebuilt node;
    ``None`` keeps it.
    """
    def resolve(value: Any) -> Any:
        return None if value is MAP_TO_NONE else value

    def down(node: Any) -> Any:
        result = func(node)
        if result is not None:
            return resolve(result)
        if not is_nested(node):
            return node
        return _rebuild(node, [down(child) for _, child in _items(node)])

    def up(node: Any) -> Any:
        if is_nested(node):
            node = _rebuild(node, [up(child) for _, child in _items(node)])
        result = func(node)
        return node if result is None else resolve(result)
    return down(structure) if top_down else up(structure)
