"""``Normalization``: feature-wise ``(x - mean) / sqrt(variance)``, with the statistics learnt by ``adapt()``.

The adapted statistics are non-trainable weights named as Keras's (``mean``, ``variance``, ``count``), so
they travel with ``get_weights`` and with saved models; statistics given to the constructor are constants.
As in Keras, the weights are the attributes ``adapt_mean`` / ``adapt_variance`` (one value per kept
position: shape ``(3,)`` for ``axis=-1`` on ``(n, 3)`` data), while ``layer.mean`` / ``layer.variance`` are
the statistics in the inputs' broadcast shape (``(1, 3)``), ``None`` before the layer is built.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from loom import config as loom_config
from loom.errors import ConfigError, InputError, ShapeError
from loom.layers.layer import Layer
from loom.layers.preprocessing.adapt_data import iter_batches


class Normalization(Layer):
    """Shift and scale inputs to zero mean and unit variance along the kept ``axis``.

    The statistics come from the constructor (``mean`` and ``variance``, kept as constants) or from
    :meth:`adapt` (non-trainable weights ``mean``, ``variance`` and ``count``, as Keras's). Before
    :meth:`adapt` runs, the weights hold mean 0 and variance 1, so the layer passes its inputs through.

    Args:
        axis: the axis (or axes) that keep separate statistics (default ``-1``: one per feature); ``None``
            means one mean and variance over everything.
        mean: a fixed mean (default ``None``: learnt by :meth:`adapt`); needs ``variance`` too, and broadcasts
            over the kept axes.
        variance: a fixed variance, of ``mean``'s shape (default ``None``).
        invert: apply the inverse, ``mean + x * sqrt(variance)`` (default ``False``).
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        Any shape, e.g. ``(batch, features)``; the sizes of the kept axes must be known when the layer is built.

    Output shape:
        The input's shape.

    Returns:
        ``(inputs - mean) / sqrt(variance)`` in the layer's dtype (``mean + inputs * sqrt(variance)`` with
        ``invert=True``), the square root floored at the backend epsilon.

    Raises:
        ConfigError: only one of ``mean`` / ``variance``, or shapes of them that differ or have more axes than
            ``axis`` keeps.
        ShapeError: an ``axis`` outside the input's rank, or a kept axis of unknown size.

    Example:
        >>> import numpy as np, torch, loom
        >>> layer = loom.layers.Normalization()
        >>> layer.adapt(np.array([[1.0], [3.0]], dtype="float32"))
        >>> layer(np.array([[1.0], [5.0]], dtype="float32")).tolist()
        [[-1.0], [3.0]]
        >>> fixed = loom.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 1.0])
        >>> fixed(torch.tensor([[3.0, 2.0]])).tolist()
        [[1.0, 0.0]]
    """

    supports_masking = True

    def __init__(self, axis: int | Sequence[int] | None = -1, mean: Any = None, variance: Any = None,
                 invert: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.axis = () if axis is None else (int(axis),) if isinstance(axis, (int, np.integer)) else tuple(axis)
        if (mean is None) != (variance is None):
            raise ConfigError(f"Normalization '{self.name}': give both `mean` and `variance`, or neither; got "
                              f"mean={mean} and variance={variance}.")
        if mean is not None and np.shape(mean) != np.shape(variance):
            raise ConfigError(f"Normalization '{self.name}': `mean` and `variance` must have the same shape; got "
                              f"{np.shape(mean)} and {np.shape(variance)}.")
        if mean is not None and len(np.shape(mean)) > len(self.axis):
            raise ConfigError(f"Normalization '{self.name}': `mean` has rank {len(np.shape(mean))}, more than the "
                              f"{len(self.axis)} kept axes {self.axis}.")
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self._build_input_shape: tuple | None = None

    def build(self, input_shape: Any) -> None:
        if input_shape is None:
            return
        ndim = len(input_shape)
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ShapeError(f"Normalization '{self.name}': every axis must be in [-{ndim}, {ndim}) for inputs of "
                             f"shape {tuple(input_shape)}; got axis={self.axis}.")
        self._build_input_shape = tuple(input_shape)
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for d in self._keep_axis:
            if input_shape[d] is None:
                raise ShapeError(f"Normalization '{self.name}': kept axis {d} of input shape {tuple(input_shape)} "
                                 f"must be known.")
        self._reduce_axis = tuple(d for d in range(ndim) if d not in self._keep_axis)
        self._broadcast_shape = tuple(input_shape[d] if d in self._keep_axis else 1 for d in range(ndim))
        stat_shape = tuple(input_shape[d] for d in self._keep_axis)
        if self.input_mean is None:
            self.add_weight(name="mean", shape=stat_shape, initializer="zeros", trainable=False)
            self.add_weight(name="variance", shape=stat_shape, initializer="ones", trainable=False)
            self.add_weight(name="count", shape=(), dtype="int", initializer="zeros", trainable=False)
            return
        self.register_buffer("_fixed_mean", self._broadcast_constant(self.input_mean), persistent=False)
        self.register_buffer("_fixed_variance", self._broadcast_constant(self.input_variance), persistent=False)

    def _broadcast_constant(self, value: Any) -> torch.Tensor:
        t = torch.as_tensor(np.asarray(value), dtype=self._dtype)
        if t.ndim > 0:
            shape = [1] * len(self._broadcast_shape)
            for i in range(1, t.ndim + 1):
                shape[self._keep_axis[-i]] = t.shape[-i]
            t = t.reshape(shape)
        return t.broadcast_to(self._broadcast_shape).clone()

    @property
    def mean(self) -> torch.Tensor | None:
        """The mean in the inputs' broadcast shape (``(1, features)`` for ``axis=-1``), as Keras's ``layer.mean``;
        ``None`` before the layer is built."""
        return self._broadcast_statistic("mean")

    @property
    def variance(self) -> torch.Tensor | None:
        """The variance in the inputs' broadcast shape, as Keras's ``layer.variance``; ``None`` before build."""
        return self._broadcast_statistic("variance")

    @property
    def adapt_mean(self) -> Any:
        """The adapted mean weight (``'mean'``, one value per kept position), as Keras's ``adapt_mean``."""
        return self._buffers["mean"]

    @property
    def adapt_variance(self) -> Any:
        """The adapted variance weight (``'variance'``), as Keras's ``adapt_variance``."""
        return self._buffers["variance"]

    def _broadcast_statistic(self, name: str) -> torch.Tensor | None:
        buffers = self.__dict__.get("_buffers", {})
        if name in buffers:
            return buffers[name].reshape(self._broadcast_shape)
        if f"_fixed_{name}" in buffers:
            return buffers[f"_fixed_{name}"]
        if self.__dict__.get("_build_input_shape") is None:
            return None
        # Being built: the weight is not registered yet (torch's register_buffer then sees no attribute).
        raise AttributeError(name)

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        mean, variance = self.mean, self.variance
        inputs = inputs.to(mean.dtype)
        scale = torch.clamp(torch.sqrt(variance), min=loom_config.epsilon())
        try:
            if self.invert:
                return mean + inputs * scale
            return (inputs - mean) / scale
        except RuntimeError as e:  # statistics that do not broadcast against the inputs
            raise ShapeError(f"Normalization '{self.name}' holds statistics of shape {tuple(mean.shape)} (built for "
                             f"inputs of shape {self._build_input_shape}, axis={self.axis}); they do not broadcast "
                             f"to inputs of shape {tuple(inputs.shape)}. A 1-D array given to adapt() is one sample "
                             f"of many features: give one feature as a column of shape (n, 1).") from e

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learn the mean and variance of ``data`` (an array, a tensor, or an iterable of batches).

        Raises:
            InputError: the data is empty, or its kept dimensions do not match the built layer's.
        """
        if self.input_mean is not None:
            raise InputError(f"Normalization '{self.name}' was given a fixed mean and variance; it cannot adapt.")
        total_mean = total_var = None
        total_count = 0
        for batch in iter_batches(data, steps, f"Normalization '{self.name}'"):
            x = torch.as_tensor(np.asarray(batch) if not isinstance(batch, torch.Tensor) else batch)
            x = x.detach().to("cpu", torch.float64)
            if not self.built:
                self._maybe_build(tuple(x.shape))
            self._check_batch(tuple(x.shape))
            count = math.prod(x.shape[d] for d in self._reduce_axis) if self._reduce_axis else 1
            if count == 0:
                continue
            mean = x.mean(dim=self._reduce_axis) if self._reduce_axis else x
            var = x.var(dim=self._reduce_axis, unbiased=False) if self._reduce_axis else torch.zeros_like(x)
            if total_mean is None:
                total_mean, total_var, total_count = mean, var, count
                continue
            total_count += count
            w = count / total_count
            new_mean = total_mean * (1 - w) + mean * w
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1 - w)
                         + (var + (mean - new_mean) ** 2) * w)
            total_mean = new_mean
        if total_mean is None:
            raise InputError(f"Normalization '{self.name}'.adapt() received no samples.")
        with torch.no_grad():
            self.adapt_mean.copy_(total_mean.reshape(self.adapt_mean.shape).to(self.adapt_mean.dtype))
            self.adapt_variance.copy_(total_var.reshape(self.adapt_variance.shape).to(self.adapt_variance.dtype))

    def _check_batch(self, shape: tuple) -> None:
        built = self._build_input_shape
        if len(shape) != len(built) or any(shape[d] != built[d] for d in self._keep_axis):
            raise InputError(f"Normalization '{self.name}' was built for inputs of shape {built}; adapt() got a "
                             f"batch of shape {shape} (kept axes {self._keep_axis} must match).")

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(), "variance": np.array(self.input_variance).tolist()}

    @classmethod
    def from_config(cls, config: dict) -> "Normalization":
        config = dict(config)
        if isinstance(config.get("axis"), list):
            config["axis"] = tuple(config["axis"])
        return cls(**config)

    def get_build_config(self) -> dict | None:
        return {"input_shape": list(self._build_input_shape)} if self._build_input_shape else None

    def build_from_config(self, config: dict | None) -> None:
        if config:
            self._maybe_build(tuple(config["input_shape"]))
