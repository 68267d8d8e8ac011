"""``CategoryEncoding``: integer category ids as one-hot, multi-hot or count vectors."""

from __future__ import annotations

from typing import Any

import torch

from loom.errors import ConfigError, InputError
from loom.layers.layer import Layer
from loom.layers.preprocessing.encoding import encode_ids

_MODES = ("one_hot", "multi_hot", "count")


class CategoryEncoding(Layer):
    """Encode integer ids in ``[0, num_tokens)`` as dense vectors of width ``num_tokens``.

    Args:
        num_tokens: the number of categories; every input must lie in ``[0, num_tokens)`` (required).
        output_mode: ``'one_hot'`` (each id), ``'multi_hot'`` or ``'count'`` (over each sample's ids)
            (default ``'multi_hot'``; ``'binary'`` is an alias of ``'multi_hot'``).
        sparse: unsupported by the torch backend; must stay ``False`` (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``: the output dtype, default floatx).

    Call arguments:
        inputs: integer ids, a scalar, ``(batch,)`` or ``(batch, ids)`` (float ids are truncated).
        count_weights: weights of each id, same shape as ``inputs`` (``'count'`` mode only).

    Input shape:
        A scalar, ``(batch,)`` or ``(batch, ids)`` of integer ids. A 1D input is one sample for
        ``'multi_hot'`` / ``'count'`` and a batch of single ids for ``'one_hot'``.

    Output shape:
        ``'one_hot'``: the input's shape plus ``num_tokens`` (a trailing axis of size 1 is replaced):
        ``(batch, num_tokens)`` for ``(batch,)`` or ``(batch, 1)``, ``(batch, ids, num_tokens)`` otherwise.
        ``'multi_hot'`` / ``'count'``: ``(batch, num_tokens)``; ``(num_tokens,)`` for a scalar or 1D input.

    Returns:
        A float tensor of the layer's dtype: 1 at each id (``'one_hot'``, ``'multi_hot'``), or how many times
        each id occurs, weighted by ``count_weights`` when given (``'count'``).

    Raises:
        ConfigError: an unknown ``output_mode``, a missing or non-positive ``num_tokens``, or ``sparse=True``.
        InputError: an id outside ``[0, num_tokens)``, or ``count_weights`` outside ``'count'`` mode.

    Example:
        >>> import loom
        >>> layer = loom.layers.CategoryEncoding(num_tokens=4, output_mode="count")
        >>> layer([[0, 1], [0, 0], [1, 2], [3, 1]]).tolist()
        [[1.0, 1.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]]
        >>> loom.layers.CategoryEncoding(num_tokens=3, output_mode="one_hot")([0, 2]).tolist()
        [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """

    _casts_int_inputs = False

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in _MODES:
            raise ConfigError(f"CategoryEncoding '{self.name}': output_mode must be one of {_MODES}; got "
                              f"{output_mode!r}.")
        if num_tokens is None or int(num_tokens) < 1:
            raise ConfigError(f"CategoryEncoding '{self.name}': num_tokens must be an integer >= 1 (use "
                              f"IntegerLookup when the number of categories is not known); got {num_tokens}.")
        if sparse:
            raise ConfigError(f"CategoryEncoding '{self.name}': sparse=True is not supported by loom; use "
                              f"sparse=False.")
        self.num_tokens = int(num_tokens)
        self.output_mode = output_mode
        self.sparse = sparse

    def call(self, inputs: torch.Tensor, count_weights: Any = None) -> torch.Tensor:
        if count_weights is not None:
            if self.output_mode != "count":
                raise InputError(f"CategoryEncoding '{self.name}': count_weights is only used with "
                                 f"output_mode='count'; got output_mode={self.output_mode!r}.")
            count_weights = torch.as_tensor(count_weights, dtype=self._dtype, device=inputs.device)
        if inputs.is_floating_point():
            inputs = inputs.long()
        if not inputs.device.type == "meta" and inputs.numel():
            low, high = int(inputs.min()), int(inputs.max())
            if low < 0 or high >= self.num_tokens:
                raise InputError(f"CategoryEncoding '{self.name}': every input must be in [0, {self.num_tokens}) "
                                 f"(num_tokens={self.num_tokens}); got values in [{low}, {high}].")
        return encode_ids(inputs, self.output_mode, self.num_tokens, self._dtype, count_weights)

    def get_config(self) -> dict:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}
