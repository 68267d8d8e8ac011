"""Small helpers of ``keras.utils`` about data tuples and functional graphs.

``pack_x_y_sample_weight`` / ``unpack_x_y_sample_weight`` convert between ``(x, y, sample_weight)`` and the
tuples ``fit`` accepts; ``get_source_inputs`` finds the ``Input`` tensors a symbolic tensor is computed from.

Example:
    >>> pack_x_y_sample_weight([1, 2])
    ([1, 2],)
    >>> unpack_x_y_sample_weight(pack_x_y_sample_weight(1, 2))
    (1, 2, None)
"""

from __future__ import annotations

from typing import Any

from loom.training.data import unpack_x_y_sample_weight


def pack_x_y_sample_weight(x: Any, y: Any = None, sample_weight: Any = None) -> Any:
    """``x``, ``(x, y)`` or ``(x, y, sample_weight)``; a list/tuple ``x`` alone is wrapped as ``(x,)``.

    Args:
        x: Inputs.
        y: Targets. Defaults to `None`.
        sample_weight: Sample weights. Defaults to `None`.
    """
    if y is None:
        return (x,) if isinstance(x, (list, tuple)) else x
    if sample_weight is None:
        return x, y
    return x, y, sample_weight


def get_source_inputs(tensor: Any) -> list:
    """The ``Input`` tensors ``tensor`` is computed from (itself when it is one), as Keras.

    Args:
        tensor: A symbolic tensor.

    Example:
        >>> import loom
        >>> inp = loom.Input((3,))
        >>> out = loom.layers.Dense(2)(loom.layers.Dense(4)(inp))
        >>> get_source_inputs(out) == [inp]
        True
    """
    node = getattr(tensor, "node", None)
    if node is None or node.is_input:
        return [tensor]
    found: list = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if not any(source is seen for seen in found):
                found.append(source)
    return found


__all__ = ["get_source_inputs", "pack_x_y_sample_weight", "unpack_x_y_sample_weight"]
