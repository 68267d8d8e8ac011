"""``Discretization``: bucket continuous values by boundaries (given, or learnt as quantiles by ``adapt``)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from loom.errors import ConfigError, InputError
from loom.layers.layer import Layer
from loom.layers.preprocessing import quantiles
from loom.layers.preprocessing.adapt_data import iter_batches
from loom.layers.preprocessing.encoding import encode_ids

_MODES = ("int", "one_hot", "multi_hot", "count")


class Discretization(Layer):
    """Map each value to the index of its bin: bin ``i`` holds ``boundaries[i-1] <= x < boundaries[i]``.

    Values below the first boundary fall in bin 0 and values at or above the last one in bin
    ``len(bin_boundaries)``, so ``len(bin_boundaries) + 1`` bins in all.

    Args:
        bin_boundaries: the sorted inner boundaries (default ``None``: learnt by :meth:`adapt`).
        num_bins: the number of bins :meth:`adapt` learns, as ``num_bins - 1`` quantile boundaries
            (default ``None``); give this or ``bin_boundaries``, not both.
        epsilon: the error tolerance of the learnt quantiles (default ``0.01``).
        output_mode: ``'int'`` (int32 bin ids), ``'one_hot'``, ``'multi_hot'`` or ``'count'`` (default
            ``'int'``).
        sparse: unsupported by the torch backend; must stay ``False`` (default ``False``).
        dtype: the float dtype of encoded outputs (default ``None``: floatx).
        name: the layer's name (default ``None``).

    Input shape:
        Any shape of numbers, e.g. ``(batch, features)``; they are compared as float32.

    Output shape:
        ``'int'``: the input's shape. ``'one_hot'``: the input's shape plus ``bins`` (a trailing axis of size 1
        is replaced).
        ``'multi_hot'`` / ``'count'``: ``(batch, bins)`` for ``(batch, features)``; ``(bins,)`` for a 1D input
        (one sample). ``bins`` is ``len(bin_boundaries) + 1``.

    Returns:
        The bin index of each value (int32) with ``'int'``; else those indices encoded as float vectors.

    Raises:
        ConfigError: an unknown ``output_mode``, ``sparse=True``, a negative ``num_bins``, or both / neither of
            ``num_bins`` and ``bin_boundaries``.
        InputError: a call before the layer has boundaries (``num_bins`` given but :meth:`adapt` not run).

    Example:
        >>> import numpy as np, loom
        >>> layer = loom.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
        >>> layer([[-1.5, 1.0, 3.4, 0.5]]).tolist()
        [[0, 2, 3, 1]]
        >>> layer = loom.layers.Discretization(num_bins=4)
        >>> layer.adapt(np.arange(100, dtype="float32"))
        >>> layer.bin_boundaries
        [24.0, 49.0, 74.0]
    """

    def __init__(self, bin_boundaries: Sequence[float] | None = None, num_bins: int | None = None,
                 epsilon: float = 0.01, output_mode: str = "int", sparse: bool = False, dtype: Any = None,
                 name: str | None = None, **kwargs: Any):
        kwargs.pop("trainable", None)
        super().__init__(name=name, dtype=dtype, **kwargs)
        where = f"Discretization '{self.name}'"
        if output_mode not in _MODES:
            raise ConfigError(f"{where}: output_mode must be one of {_MODES}; got {output_mode!r}.")
        if sparse:
            raise ConfigError(f"{where}: sparse=True is not supported by loom (torch has no sparse preprocessing "
                              f"outputs); use sparse=False.")
        if num_bins is not None and num_bins < 0:
            raise ConfigError(f"{where}: num_bins must be >= 0; got {num_bins}.")
        if num_bins is not None and bin_boundaries is not None:
            raise ConfigError(f"{where}: give num_bins or bin_boundaries, not both; got num_bins={num_bins} and "
                              f"bin_boundaries={bin_boundaries}.")
        if num_bins is None and bin_boundaries is None:
            raise ConfigError(f"{where}: give either num_bins (then call adapt) or bin_boundaries.")
        self.bin_boundaries = None if bin_boundaries is None else [float(b) for b in bin_boundaries]
        self.num_bins = num_bins
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = sparse
        self._summary = quantiles.empty()

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn ``num_bins`` quantile boundaries from ``data`` (an array, tensor or iterable of batches).

        Raises:
            InputError: the layer was given ``bin_boundaries``, or the data is empty.
        """
        if self.num_bins is None:
            raise InputError(f"Discretization '{self.name}' was built with bin_boundaries; it cannot adapt "
                             f"(create it with num_bins instead).")
        self._summary = quantiles.empty()
        for batch in iter_batches(data, steps, f"Discretization '{self.name}'"):
            values = batch if isinstance(batch, torch.Tensor) else torch.as_tensor(np.asarray(batch, "float32"))
            if values.numel() == 0:
                continue
            summary = quantiles.summarize(values.detach().cpu(), self.epsilon)
            self._summary = quantiles.merge(summary, self._summary, self.epsilon)
        if self._summary.shape[1] == 0:
            raise InputError(f"Discretization '{self.name}'.adapt() received no values.")
        self.bin_boundaries = quantiles.bin_boundaries(self._summary, self.num_bins).tolist()

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.bin_boundaries is None:
            raise InputError(f"Discretization '{self.name}' has no bin boundaries yet: pass bin_boundaries or "
                             f"call adapt() before using it.")
        boundaries = torch.tensor(self.bin_boundaries, dtype=torch.float32, device=inputs.device)
        ids = torch.bucketize(inputs.to(torch.float32), boundaries, right=True)
        if self.output_mode == "int":
            return ids.to(torch.int32)
        return encode_ids(ids, self.output_mode, len(self.bin_boundaries) + 1, self._dtype)

    def get_config(self) -> dict:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                "output_mode": self.output_mode, "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Discretization":
        config = dict(config)
        boundaries = config.pop("bin_boundaries", None)
        if boundaries is not None and config.get("num_bins") is not None:
            layer = cls(**config)  # an adapted layer: its learnt boundaries are restored as they were
            layer.bin_boundaries = [float(b) for b in boundaries]
            return layer
        return cls(bin_boundaries=boundaries, **config)
