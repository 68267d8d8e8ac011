"""loom.tree against keras.tree."""

import collections

import pytest

from loom import tree
from loom.errors import InputError
from tests.keras_oracle import keras

# (Keras's paths into a namedtuple index its fields in sorted order; loom uses positions: alike for sorted fields.)
Point = collections.namedtuple("Point", "x y")
STRUCTURES = [
    {"b": [1, (2, None)], "a": 3},
    collections.OrderedDict([("b", 1), ("a", [2, 3])]),
    [Point(1, 2), {"k": (4,)}, 5],
    7,
    [],
    ((1,), [2, [3, {"z": 4, "y": 5}]]),
]


@pytest.mark.parametrize("structure", STRUCTURES)
def test_flatten_pack_and_paths_match_keras(structure):
    assert tree.flatten(structure) == keras.tree.flatten(structure)
    assert tree.flatten_with_path(structure) == keras.tree.flatten_with_path(structure)
    assert tree.is_nested(structure) == keras.tree.is_nested(structure)
    values = list(range(100, 100 + len(tree.flatten(structure))))
    ours, theirs = tree.pack_sequence_as(structure, values), keras.tree.pack_sequence_as(structure, values)
    assert ours == theirs and type(ours) is type(theirs)
    assert tree.lists_to_tuples(structure) == keras.tree.lists_to_tuples(structure)
    double = lambda x: None if x is None else 2 * x  # noqa: E731
    assert tree.map_structure(double, structure) == keras.tree.map_structure(double, structure)


def test_map_structure_several_and_mismatch():
    assert tree.map_structure(lambda a, b: a + b, [1, (2, 3)], [10, (20, 30)]) == [11, (22, 33)]
    with pytest.raises(InputError):
        tree.map_structure(lambda a, b: a, [1, 2], [1, [2]])
    with pytest.raises(InputError):
        tree.assert_same_structure([1, 2], (1, 2))
    with pytest.raises(ValueError):
        keras.tree.assert_same_structure([1, 2], [1, [2]])
    tree.assert_same_structure({"a": 1, "b": [2]}, {"b": [3], "a": 4})
    tree.assert_same_paths([1, {"a": 2}], [3, {"a": 4}])
    with pytest.raises(InputError):
        tree.assert_same_paths([1, {"a": 2}], [3, {"b": 4}])
    assert tree.map_structure(lambda x: 1, [None, 2], none_is_leaf=False) == [None, 1]


def test_up_to_shapes_and_traverse_match_keras():
    shallow, deep = [1, 2], [[1, 2], (3,)]
    assert tree.map_structure_up_to(shallow, str, deep) == keras.tree.map_structure_up_to(shallow, str, deep)
    shapes = {"a": (None, 3), "b": [(1, 2), (4,)]}
    assert tree.map_shape_structure(len, shapes) == keras.tree.map_shape_structure(len, shapes)
    s = [1, [2, (3, 4)]]
    for fn in (lambda x: None, lambda x: 0 if isinstance(x, int) else None,
               lambda x: tree.MAP_TO_NONE if isinstance(x, tuple) else None):
        kfn = (lambda x, fn=fn: keras.tree.MAP_TO_NONE if fn(x) is tree.MAP_TO_NONE else fn(x))
        for top_down in (True, False):
            assert tree.traverse(fn, s, top_down) == keras.tree.traverse(kfn, s, top_down)
