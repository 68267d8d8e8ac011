"""Merge layers: combine a list of tensors elementwise (``Add``...), by concatenation or by dot product.

Elementwise merges follow Keras's broadcasting: the non-batch shapes are aligned from the right and each
pair of sizes must be equal or one of them 1; an input of lower rank gets size-1 axes inserted right after
the batch axis. Shapes are checked when the layer is called on symbolic tensors, and errors name the
layer and every input shape. Masks combine as in Keras (a position is kept if any input keeps it).

Example:
    >>> import loom
    >>> a, b = loom.Input((8,)), loom.Input((8,))
    >>> loom.layers.add([a, b]).shape, loom.layers.concatenate([a, b]).shape
    ((None, 8), (None, 16))
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from loom.errors import ConfigError, ShapeError
from loom.layers.layer import Layer


def _shapes_text(shapes: Sequence) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


def _broadcast_shape(layer: "Merge", shapes: Sequence[tuple]) -> tuple:
    """Keras's elementwise output shape (non-batch dims right-aligned); raises ShapeError naming all inputs."""
    out: tuple = tuple(shapes[0][1:])
    for shape in shapes[1:]:
        a, b = (out, tuple(shape[1:])) if len(out) >= len(shape) - 1 else (tuple(shape[1:]), out)
        merged = list(a[:len(a) - len(b)])
        for i, j in zip(a[len(a) - len(b):], b):
            if i is None or j is None:
                merged.append(None)
            elif i == 1 or j == 1 or i == j:
                merged.append(j if i == 1 else i)
            else:
                raise ShapeError(f"Layer '{layer.name}' ({type(layer).__name__}) needs inputs of the same shape (or "
                                 f"shapes that broadcast: each size equal or 1); got input shapes "
                                 f"[{_shapes_text(shapes)}].")
        out = tuple(merged)
    return (None,) + out


class Merge(Layer):
    """Base class of the merge layers: ``call`` takes a list of tensors (and their masks)."""

    _fresh_output = True

    supports_masking = True
    _min_inputs = 1
    _max_inputs: int | None = None

    def _validate(self, input_shape: Any) -> list[tuple]:
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not all(isinstance(s, (list, tuple)) for s in input_shape):
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) must be called on a list of tensors, "
                             f"got input shape {input_shape}.")
        shapes = [tuple(s) for s in input_shape]
        count = len(shapes)
        if count < self._min_inputs or (self._max_inputs is not None and count > self._max_inputs):
            wanted = self._min_inputs if self._max_inputs == self._min_inputs else f"at least {self._min_inputs}"
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) needs {wanted} inputs, got {count} "
                             f"with shapes [{_shapes_text(shapes)}].")
        batches = {s[0] for s in shapes if s} - {None}
        if len(batches) > 1:
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) cannot merge tensors with different "
                             f"batch sizes; got input shapes [{_shapes_text(shapes)}].")
        self._check_shapes(shapes)
        return shapes

    def _check_shapes(self, shapes: list[tuple]) -> None:
        _broadcast_shape(self, shapes)

    def _check_input_spec(self, shapes: Any) -> None:
        self._validate(shapes)

    def build(self, input_shape):
        self._validate(input_shape)

    def call(self, inputs, mask=None):
        if not isinstance(inputs, (list, tuple)):
            raise ShapeError(f"Layer '{self.name}' ({type(self).__name__}) must be called on a list of tensors.")
        ranks = [x.dim() for x in inputs]
        if len(set(ranks)) > 1:  # Keras inserts size-1 axes after the batch axis (and drops the masks)
            top = max(ranks)
            inputs = [x.reshape(x.shape[:1] + (1,) * (top - x.dim()) + x.shape[1:]) for x in inputs]
            mask = None
        return self._merge(list(inputs), mask)

    def _merge(self, inputs: list[torch.Tensor], mask: Any) -> torch.Tensor:
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        out = mask[0]
        for m in mask[1:]:
            out = torch.logical_or(out, m)
        return out


def _reduce(inputs: list[torch.Tensor], op: Callable) -> torch.Tensor:
    out = inputs[0]
    for x in inputs[1:]:
        out = op(out, x)
    return out


def _expanded_masks(inputs: list[torch.Tensor], mask: Any) -> list[torch.Tensor | None]:
    """Each input's mask broadcast to the input's shape (``None`` where an input has no mask)."""
    masks = list(mask) if isinstance(mask, (list, tuple)) else [None] * len(inputs)
    return [None if m is None else torch.broadcast_to(m.unsqueeze(-1), x.shape) for x, m in zip(inputs, masks)]


class Add(Merge):
    """Elementwise sum of a list of tensors. Example: ``Add()([a, b])``; function form ``add([a, b])``.

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        a list of tensors (two for ``Subtract``) of shapes that broadcast together.

    Output shape:
        the broadcast shape of the inputs.

    Returns:
        The elementwise sum of the inputs.

    Raises:
        ShapeError: inputs whose shapes do not broadcast (or not exactly two for ``Subtract``).

    Example:
        >>> import torch, loom
        >>> a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
        >>> loom.layers.Add()([a, b]).tolist()
        [[4.0, 6.0]]
    """

    def _merge(self, inputs, mask):
        return _reduce(inputs, torch.add)

    _runs_in_place = True

    def _call_in_place(self, inputs):
        first = inputs[0]
        if any(x.shape != first.shape or x.dtype != first.dtype for x in inputs[1:]):
            return None
        for x in inputs[1:]:
            first.add_(x)
        return first


class Subtract(Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs). Function form ``subtract([a, b])``.

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        a list of tensors (two for ``Subtract``) of shapes that broadcast together.

    Output shape:
        the broadcast shape of the inputs.

    Returns:
        ``inputs[0] - inputs[1]`` of the inputs.

    Raises:
        ShapeError: inputs whose shapes do not broadcast (or not exactly two for ``Subtract``).

    Example:
        >>> import torch, loom
        >>> a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
        >>> loom.layers.Subtract()([a, b]).tolist()
        [[-2.0, -2.0]]
    """

    _min_inputs = _max_inputs = 2

    def _merge(self, inputs, mask):
        return inputs[0] - inputs[1]


class Average(Merge):
    """Elementwise mean of a list of tensors. Function form ``average([a, b])``.

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        a list of tensors (two for ``Subtract``) of shapes that broadcast together.

    Output shape:
        the broadcast shape of the inputs.

    Returns:
        The elementwise mean of the inputs.

    Raises:
        ShapeError: inputs whose shapes do not broadcast (or not exactly two for ``Subtract``).

    Example:
        >>> import torch, loom
        >>> a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
        >>> loom.layers.Average()([a, b]).tolist()
        [[2.0, 3.0]]
    """

    def _merge(self, inputs, mask):
        return _reduce(inputs, torch.add) / len(inputs)


class Multiply(Merge):
    """Elementwise product. Masked positions count as 1 and, when every input is masked, the output is 0
    where no input keeps it (as Keras). Function form ``multiply([a, b])``.

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        a list of tensors (two for ``Subtract``) of shapes that broadcast together.

    Output shape:
        the broadcast shape of the inputs.

    Returns:
        The elementwise product of the inputs.

    Raises:
        ShapeError: inputs whose shapes do not broadcast (or not exactly two for ``Subtract``).

    Example:
        >>> import torch, loom
        >>> a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
        >>> loom.layers.Multiply()([a, b]).tolist()
        [[3.0, 8.0]]
    """

    def _merge(self, inputs, mask):
        masks = _expanded_masks(inputs, mask)
        if all(m is None for m in masks):
            return _reduce(inputs, torch.mul)
        one = torch.ones((), dtype=inputs[0].dtype, device=inputs[0].device)
        xs = [x if m is None else torch.where(m, x, one) for x, m in zip(inputs, masks)]
        out = _reduce(xs, torch.mul)
        if all(m is not None for m in masks):
            keep = _reduce(masks, torch.logical_or)
            out = torch.where(keep, out, torch.zeros((), dtype=out.dtype, device=out.device))
        return out


class _MaskedExtremum(Merge):
    """Keras's masked max/min: a masked input takes the running result's value, and vice versa."""

    _op: Callable = staticmethod(torch.maximum)

    def _merge(self, inputs, mask):
        masks = _expanded_masks(inputs, mask)
        if all(m is None for m in masks):
            return _reduce(inputs, self._op)
        output, output_mask = inputs[0], masks[0]
        for x, m in zip(inputs[1:], masks[1:]):
            if m is not None:
                x = torch.where(m, x, output)
            if output_mask is not None:
                output = torch.where(output_mask, output, x)
            output_mask = torch.logical_or(output_mask, m) if m is not None and output_mask is not None else None
            output = self._op(output, x)
        return output


class Maximum(_MaskedExtremum):
    """Elementwise maximum. Function form ``maximum([a, b])``.

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        a list of tensors (two for ``Subtract``) of shapes that broadcast together.

    Output shape:
        the broadcast shape of the inputs.

    Returns:
        The elementwise maximum of the inputs.

    Raises:
        ShapeError: inputs whose shapes do not broadcast (or not exactly two for ``Subtract``).

    Example:
        >>> import torch, loom
        >>> a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
        >>> loom.layers.Maximum()([a, b]).tolist()
        [[3.0, 4.0]]
    """

    _op = staticmethod(torch.maximum)


class Minimum(_MaskedExtremum):
    """Elementwise minimum. Function form ``minimum([a, b])``.

    Args:
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        a list of tensors (two for ``Subtract``) of shapes that broadcast together.

    Output shape:
        the broadcast shape of the inputs.

    Returns:
        The elementwise minimum of the inputs.

    Raises:
        ShapeError: inputs whose shapes do not broadcast (or not exactly two for ``Subtract``).

    Example:
        >>> import torch, loom
        >>> a, b = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, 4.0]])
        >>> loom.layers.Minimum()([a, b]).tolist()
        [[1.0, 2.0]]
    """

    _op = staticmethod(torch.minimum)


class Concatenate(Merge):
    """Concatenate a list of tensors along ``axis`` (default -1); other sizes must match.

    Args:
        axis: the axis to join the inputs along (default -1).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        a list of tensors of the same rank, equal in every axis but ``axis``.

    Output shape:
        the same rank; ``axis`` is the sum of the inputs' sizes on it.

    Returns:
        The concatenated tensor.


    Example:
        >>> import torch
        >>> Concatenate()([torch.zeros(2, 3), torch.zeros(2, 4)]).shape
        torch.Size([2, 7])
    """

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def _check_shapes(self, shapes):
        ranks = {len(s) for s in shapes}
        problem = None
        if len(ranks) > 1:
            problem = "they have different ranks"
        elif not -len(shapes[0]) <= self.axis < len(shapes[0]):
            problem = f"axis {self.axis} is out of range for rank {len(shapes[0])}"
        else:
            rank = len(shapes[0])
            concat_axis = self.axis % rank
            for i in range(rank):
                sizes = {s[i] for s in shapes if s[i] is not None}
                if i != concat_axis and len(sizes) > 1:
                    problem = f"axis {i} differs ({' vs '.join(str(s[i]) for s in shapes)})"
                    break
        if problem:
            raise ShapeError(f"Layer '{self.name}' (Concatenate) needs inputs whose shapes match except on the "
                             f"concatenation axis {self.axis}, but {problem}; got input shapes "
                             f"[{_shapes_text(shapes)}].")

    def call(self, inputs, mask=None):
        return torch.cat(list(inputs), dim=self.axis)

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        full = []
        for x, m in zip(inputs, mask):
            if m is None:
                full.append(torch.ones_like(x, dtype=torch.bool))
            elif m.dim() < x.dim():
                full.append(torch.broadcast_to(m.unsqueeze(-1), x.shape))
            else:
                full.append(m.bool())
        return torch.any(torch.cat(full, dim=self.axis), dim=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


def _l2_normalize(x: torch.Tensor, axis: int) -> torch.Tensor:
    """Keras's ``normalize``: ``x * min(rsqrt(sum(x**2)), 1/epsilon)``."""
    inv_norm = torch.rsqrt(torch.sum(torch.square(x), dim=axis, keepdim=True))
    return x * torch.clamp(inv_norm, max=1.0 / 1e-7)


def batch_dot(x: torch.Tensor, y: torch.Tensor, axes: Sequence[int]) -> torch.Tensor:
    """Keras's ``batch_dot``: contract ``x``'s axis ``axes[0]`` with ``y``'s axis ``axes[1]``, per sample.

    The result has ``x``'s other non-batch axes then ``y``'s; 2D x 2D gives ``(batch, 1)``.
    """
    a0, a1 = axes
    x_ndim, y_ndim = x.dim(), y.dim()
    x = torch.movedim(x, a0, -1)
    y = torch.movedim(y, a1, 1)
    x_mid = x.shape[1:-1]
    y_tail = y.shape[2:]
    x3 = x.reshape(x.shape[0], -1, x.shape[-1]) if x_ndim != 2 else x.unsqueeze(1)
    y3 = y.reshape(y.shape[0], y.shape[1], -1) if y_ndim != 2 else y.unsqueeze(2)
    out = torch.bmm(x3, y3)
    out = out.reshape(out.shape[:1] + x_mid + y_tail)
    if x_ndim == 2 and y_ndim == 2:
        out = out.reshape(out.shape[0], 1)
    return out


class Dot(Merge):
    """Dot product of two tensors along ``axes``, per sample.

    Args:
        axes: an int (the same axis of both inputs) or a pair ``(axis_of_a, axis_of_b)``; axis 0 (the
            batch) is not allowed.
        normalize: L2-normalise both inputs along the dot axes first, giving cosine similarity
            (default ``False``).

    Input shape:
        a list of two tensors ``(batch, ...)`` whose ``axes`` sizes match.

    Output shape:
        the remaining axes of the first input followed by those of the second (``(batch, 1)`` for two vectors).

    Returns:
        The per-sample dot products (cosine similarities with ``normalize=True``).

    Raises:
        ShapeError: not exactly two inputs, or sizes that differ along ``axes``.

    Example:
        >>> import torch
        >>> Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 3)])
        tensor([[3.],
                [3.]])
    """

    _min_inputs = _max_inputs = 2

    def __init__(self, axes: int | Sequence[int], normalize: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axes, bool) or not isinstance(axes, (int, list, tuple)) or (
                not isinstance(axes, int) and (len(axes) != 2 or not all(
                    isinstance(a, int) and not isinstance(a, bool) for a in axes))):
            raise ConfigError(f"Dot '{self.name}': axes must be an int or a pair of ints, got {axes!r}.")
        self.axes = axes if isinstance(axes, int) else list(axes)
        self.normalize = normalize

    def _resolve_axes(self, ranks: Sequence[int]) -> list[int]:
        raw = [self.axes, self.axes] if isinstance(self.axes, int) else list(self.axes)
        return [a % r if a < 0 else a for a, r in zip(raw, ranks)]

    def _check_shapes(self, shapes):
        a0, a1 = self._resolve_axes([len(s) for s in shapes])
        problem = None
        if min(len(s) for s in shapes) < 2:
            problem = "both inputs need a rank of at least 2"
        elif 0 in (a0, a1):
            problem = "axis 0 is the batch axis and cannot be contracted"
        elif a0 >= len(shapes[0]) or a1 >= len(shapes[1]):
            problem = f"axes {self.axes} are out of range"
        elif None not in (shapes[0][a0], shapes[1][a1]) and shapes[0][a0] != shapes[1][a1]:
            problem = f"the sizes along the dot axes differ ({shapes[0][a0]} at axis {a0} vs {shapes[1][a1]} at " \
                      f"axis {a1})"
        if problem:
            raise ShapeError(f"Layer '{self.name}' (Dot, axes={self.axes}): {problem}; got input shapes "
                             f"[{_shapes_text(shapes)}].")

    def call(self, inputs, mask=None):
        x1, x2 = inputs
        axes = self._resolve_axes([x1.dim(), x2.dim()])
        if self.normalize:
            x1, x2 = _l2_normalize(x1, axes[0]), _l2_normalize(x2, axes[1])
        return batch_dot(x1, x2, axes)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs: list, **kwargs) -> Any:
    """``Add(**kwargs)(inputs)``: the elementwise sum."""
    return Add(**kwargs)(inputs)


def subtract(inputs: list, **kwargs) -> Any:
    """``Subtract(**kwargs)(inputs)``: ``inputs[0] - inputs[1]``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs: list, **kwargs) -> Any:
    """``Multiply(**kwargs)(inputs)``: the elementwise product."""
    return Multiply(**kwargs)(inputs)


def average(inputs: list, **kwargs) -> Any:
    """``Average(**kwargs)(inputs)``: the elementwise mean."""
    return Average(**kwargs)(inputs)


def maximum(inputs: list, **kwargs) -> Any:
    """``Maximum(**kwargs)(inputs)``: the elementwise maximum."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs: list, **kwargs) -> Any:
    """``Minimum(**kwargs)(inputs)``: the elementwise minimum."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs: list, axis: int = -1, **kwargs) -> Any:
    """``Concatenate(axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs: list, axes: int | Sequence[int] = -1, normalize: bool = False, **kwargs) -> Any:
    """``Dot(axes, normalize, **kwargs)(inputs)``."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
