"""Stateful metrics: the ``Metric`` base class, ``Mean``/``Sum`` and ``MeanMetricWrapper``.

A metric keeps its running state in torch tensors on the same device as the data. ``update_state`` only
queues tensor ops (no ``.item()``, no host synchronisation), ``result()`` returns a 0-d tensor, and the
state moves to the data's device on the first update (or with ``.to(device)``). Read the number with
``float(metric.result())`` once per epoch, not per step.

Example:
    >>> import torch
    >>> from loom.metrics import Mean
    >>> m = Mean(name="loss")
    >>> m.update_state(torch.tensor(2.0), sample_weight=32)  # a batch-mean loss, weighted by batch size
    >>> m.update_state(torch.tensor(4.0), sample_weight=16)
    >>> m.result()
    tensor(2.6667)
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import torch

from loom import backend
from loom.errors import InputError
from loom.losses.loss import apply_mask, squeeze_or_expand_to_same_rank
from loom.variables import Variable, meta_like
from loom.symbolic_scope import in_symbolic_scope


def _divide_no_nan(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.where(y == 0, torch.zeros_like(x), x / y)


class Metric:
    """Base class: subclasses create state with :meth:`add_state`, and define ``update_state``/``result``.

    Args:
        name: Defaults to the snake-case class name, made unique (``precision``, ``precision_1``...) as Keras.
        dtype: State dtype; defaults to floatx (``'float32'``).

    Example:
        >>> import torch
        >>> class Count(Metric):
        ...     def __init__(self, name="count"):
        ...         super().__init__(name=name)
        ...         self.count = self.add_state("count")
        ...     def update_state(self, y_true, y_pred, sample_weight=None):
        ...         self._place(y_pred)
        ...         self.count.add_(y_pred.shape[0])
        ...     def result(self):
        ...         return self.count.clone()
        >>> m = Count()
        >>> m.update_state(None, torch.zeros(5, 2))
        >>> m.result()
        tensor(5.)
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "update_state" in cls.__dict__:
            cls.update_state = _not_while_inferring_shapes(cls.__dict__["update_state"])

    def __init__(self, name: str | None = None, dtype: Any = None):
        self.name = name or backend.automatic_name(type(self))
        self._dtype = backend.torch_dtype(dtype)
        self._device = torch.device("cpu")
        self._state_names: list[str] = []
        self._constant_names: list[str] = []

    @property
    def dtype(self) -> str:
        return backend.dtype_name(self._dtype)

    def add_state(self, name: str, shape: tuple = (), fill: float = 0.0, dtype: torch.dtype | None = None,
                  variable_name: str | None = None) -> Any:
        """Create a state :class:`~loom.variables.Variable` (not trainable, zeroed by :meth:`reset_state`), store
        it as attribute ``name`` and return it.

        Args:
            name: the attribute.
            shape: its shape (default ``()``).
            fill: its first value (default 0.0).
            dtype: its dtype (default ``None``: the metric's dtype).
            variable_name: the variable's ``name`` where Keras's differs from the attribute (default ``None``:
                ``name``); its ``path`` is ``'<metric name>/<variable name>'``, as Keras.
        """
        tensor = torch.full(tuple(shape), fill, dtype=dtype or self._dtype, device=self._device)
        variable = Variable(tensor, trainable=False, name=variable_name or name)
        variable._keras_path = f"{self.name}/{variable.name}"
        setattr(self, name, variable)
        if name not in self._state_names:
            self._state_names.append(name)
        return variable

    def add_variable(self, shape: tuple = (), initializer: Any = "zeros", dtype: Any = None,
                     aggregation: str = "sum", name: str | None = None) -> Any:
        """A state :class:`~loom.variables.Variable` (not trainable), reset to zeros by :meth:`reset_state`.

        Args:
            shape: its shape (default ``()``).
            initializer: its initializer (default ``'zeros'``; ``None`` means zeros).
            dtype: its dtype (default ``None``: the metric's dtype).
            aggregation: accepted for Keras compatibility (default ``'sum'``).
            name: its name (default ``'variable'``, made unique in the metric).
        """
        from loom.variables import Variable
        name = name or _unique(self._state_names, "variable")
        variable = Variable(initializer if initializer is not None else "zeros", shape=tuple(shape),
                            dtype=dtype if dtype is not None else self._dtype, trainable=False, name=name)
        variable._keras_path = f"{self.name}/{name}"
        variable.data = variable.data.to(self._device)
        attribute = name if name not in self.__dict__ and name.isidentifier() else f"_variable_{len(self._state_names)}"
        object.__setattr__(self, attribute, variable)
        self._state_names.append(attribute)
        return variable

    def add_weight(self, shape: tuple = (), initializer: Any = "zeros", dtype: Any = None,
                   name: str | None = None) -> Any:
        """Keras's alias of :meth:`add_variable`."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, name=name)

    def add_constant(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """Store a tensor that moves with the state but is never reset (thresholds, for example)."""
        value = value.to(self._device)
        setattr(self, name, value)
        if name not in self._constant_names:
            self._constant_names.append(name)
        return value

    @property
    def variables(self) -> list[Any]:
        """The state :class:`~loom.variables.Variable` s, in Keras's order and with Keras's names."""
        return [getattr(self, n) for n in self._state_names]

    @property
    def device(self) -> torch.device:
        return self._device

    def to(self, device: Any) -> "Metric":
        """Move the state (and constants) to ``device``; returns ``self``."""
        device = torch.device(device)
        for name in self._state_names + self._constant_names:
            tensor = getattr(self, name)
            if isinstance(tensor, torch.nn.Parameter) and device.type != "meta":
                tensor.data = tensor.data.to(device)  # a Variable: moved in place, so references stay valid
            elif isinstance(tensor, torch.nn.Parameter):  # torch cannot swap a parameter's data for meta data
                setattr(self, name, meta_like(tensor))
            else:
                setattr(self, name, tensor.to(device))
        self._device = device
        return self

    def _place(self, tensor: torch.Tensor) -> None:
        """Follow the data: move the state to ``tensor``'s device if it is elsewhere."""
        if tensor.device != self._device:
            self.to(tensor.device)

    def reset_state(self) -> None:
        """Zero every state tensor in place."""
        for tensor in self.variables:
            tensor.zero_()

    def update_state(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement update_state().")

    # ---------------------------------------------------------------------- stateless API (Keras 3)
    def stateless_update_state(self, metric_variables: list, *args: Any, **kwargs: Any) -> list[torch.Tensor]:
        """The state after ``update_state(*args, **kwargs)`` starting from ``metric_variables``; the metric's
        own state is left as it was."""
        return self._stateless(metric_variables, lambda: (self.update_state(*args, **kwargs), None))[0]

    def stateless_result(self, metric_variables: list) -> torch.Tensor:
        """``result()`` for the state ``metric_variables``; the metric's own state is left as it was."""
        return self._stateless(metric_variables, lambda: self.result())[1]

    def stateless_reset_state(self) -> list[torch.Tensor]:
        """The state :meth:`reset_state` would give; the metric's own state is left as it was."""
        return self._stateless(None, lambda: (self.reset_state(), None))[0]

    def _stateless(self, values: list | None, run: Callable[[], Any]) -> tuple[list[torch.Tensor], Any]:
        own = self.variables
        if values is not None and len(values) != len(own):
            raise InputError(f"Metric '{self.name}': {len(values)} metric_variables given, the metric has "
                             f"{len(own)}.")
        saved = [v.detach().clone() for v in own]
        try:
            with torch.no_grad():
                for var, value in zip(own, values or []):
                    var.copy_(backend.to_tensor(value).to(var.dtype))
            out = run()
            state = [v.detach().clone() for v in self.variables]
        finally:
            with torch.no_grad():
                for var, value in zip(self.variables, saved):
                    var.copy_(value)
        return state, (out.detach().clone() if isinstance(out, torch.Tensor) else out)

    def result(self) -> torch.Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement result().")

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """``update_state(*args, **kwargs)`` then ``result()``."""
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}>"


def _not_while_inferring_shapes(update_state: Callable) -> Callable:
    """``update_state`` that does nothing inside a :class:`loom.SymbolicScope`: a layer updating a metric in
    ``call`` runs (on ``meta`` tensors) while a functional model infers its shapes, and Keras leaves the state
    alone then (its symbolic calls run in a stateless scope)."""
    @functools.wraps(update_state)
    def update(self: "Metric", *args: Any, **kwargs: Any) -> Any:
        if in_symbolic_scope():
            return None
        return update_state(self, *args, **kwargs)
    return update


def _unique(taken: list[str], base: str) -> str:
    name, i = base, 0
    while name in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def _as_state_tensor(x: Any, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return backend.to_tensor(x, dtype=dtype, device=device)


def reduce_to_samplewise_values(values: torch.Tensor, sample_weight: torch.Tensor | None,
                                reduce_fn: Callable, dtype: torch.dtype) -> tuple[torch.Tensor, Any]:
    """Weight ``values`` and reduce them to one value per sample, as Keras's reduction metrics do."""
    values = values.to(dtype)
    if sample_weight is not None:
        sample_weight = _as_state_tensor(sample_weight, dtype, values.device)
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim, values_ndim = sample_weight.dim(), values.dim()
        if values_ndim > weight_ndim:
            values = reduce_fn(values, dim=tuple(range(weight_ndim, values_ndim)))
        sample_weight = torch.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, dim=tuple(range(1, weight_ndim)))
    if values.dim() > 1:
        values = reduce_fn(values, dim=tuple(range(1, values.dim())))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum of values, as ``keras.metrics.Sum``.

    Args:
        name: Defaults to ``'sum'``.
        dtype: Defaults to floatx.

    Example:
        >>> import torch
        >>> m = Sum()
        >>> m.update_state(torch.tensor([1.0, 3.0]), sample_weight=torch.tensor([1.0, 0.5]))
        >>> m.result()
        tensor(2.5000)
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_state("total")

    @torch.no_grad()
    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = backend.to_tensor(values)
        self._place(values)
        values, _ = reduce_to_samplewise_values(values, sample_weight, torch.sum, self._dtype)
        self.total.add_(values.sum())

    def result(self) -> torch.Tensor:
        return self.total.clone()


class Mean(Metric):
    """Running (weighted) mean of values, as ``keras.metrics.Mean``.

    The trainer's loss tracker is a ``Mean``: ``update_state(batch_loss, sample_weight=batch_size)`` gives
    the sample-weighted mean of the batch losses. A Python-number weight costs no host-to-device copy.

    Args:
        name: Defaults to ``'mean'``.
        dtype: Defaults to floatx.

    Example:
        >>> import torch
        >>> m = Mean()
        >>> m.update_state(torch.tensor([1.0, 3.0]), sample_weight=torch.tensor([1.0, 0.0]))
        >>> m.result()
        tensor(1.)
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_state("total")
        self.count = self.add_state("count")

    @torch.no_grad()
    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values = backend.to_tensor(values)
        self._place(values)
        if values.dim() == 0 and isinstance(sample_weight, (int, float)) and not isinstance(sample_weight, bool):
            self.total.add_(values.to(self._dtype) * sample_weight)
            self.count.add_(sample_weight)
            return
        values, sample_weight = reduce_to_samplewise_values(values, sample_weight, torch.mean, self._dtype)
        self.total.add_(values.sum())
        if sample_weight is not None:
            self.count.add_(sample_weight.sum())
        else:
            self.count.add_(values.shape[0] if values.dim() >= 1 else 1)

    def result(self) -> torch.Tensor:
        return _divide_no_nan(self.total, self.count)


class MeanMetricWrapper(Mean):
    """The weighted mean of a per-sample function ``fn(y_true, y_pred, **kwargs)``.

    Args:
        fn: Per-sample function (a loss function, an accuracy function, your own).
        name: Defaults to ``None``: the class's name in snake case (``'mean_metric_wrapper'``), as Keras;
            ``compile(metrics=[fn])`` names the wrapper after ``fn``.
        dtype: Defaults to floatx.
        **kwargs: Passed to ``fn``.

    Example:
        >>> import torch
        >>> from loom.losses import mean_absolute_error
        >>> m = MeanMetricWrapper(mean_absolute_error, name="mean_absolute_error")
        >>> m.update_state(torch.zeros(2, 1), torch.tensor([[1.0], [3.0]]))
        >>> m.name, m.result()
        ('mean_absolute_error', tensor(2.))
    """

    def __init__(self, fn: Callable, name: str | None = None, dtype: Any = None, **kwargs: Any):
        super().__init__(name=name, dtype=dtype)  # None: 'mean_metric_wrapper', as Keras (compile names it after fn)
        self._fn = fn
        self._fn_kwargs = kwargs

    @torch.no_grad()
    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None,
                     mask: torch.Tensor | None = None) -> None:
        """Accumulate ``fn``; ``mask`` (loom extension) zeroes the weight of masked samples."""
        y_pred = backend.to_tensor(y_pred)
        self._place(y_pred)
        y_true = backend.to_tensor(y_true, device=y_pred.device)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if mask is not None:
            if sample_weight is not None:
                sample_weight = _as_state_tensor(sample_weight, self._dtype, y_pred.device)
            sample_weight = apply_mask(sample_weight, mask, self._dtype, reduction="sum")
        super().update_state(values, sample_weight=sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fn": getattr(self._fn, "__name__", repr(self._fn)), **self._fn_kwargs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "MeanMetricWrapper":
        config = dict(config)
        if "fn" not in config:  # subclasses such as BinaryAccuracy fix their function
            return cls(**config)
        fn = config.pop("fn")
        if isinstance(fn, str):
            from loom.metrics import functions_by_name
            fn = functions_by_name(fn)
        return cls(fn, **config)


class FunctionMean(MeanMetricWrapper):
    """Base of the metrics that are the running mean of one fixed function, configured by name and dtype.

    Subclasses set ``_fn`` (the per-sample function) and ``_default_name``, and may override
    ``_per_sample_fn`` to wrap ``_fn``.

    Args:
        name: Defaults to the subclass's ``_default_name``.
        dtype: Defaults to floatx.

    Example:
        >>> import torch
        >>> from loom.losses import mean_absolute_error
        >>> class MAE(FunctionMean):
        ...     _fn = staticmethod(mean_absolute_error)
        ...     _default_name = "mae"
        >>> MAE()(torch.zeros(2, 1), torch.tensor([[1.0], [3.0]]))
        tensor(2.)
        >>> MAE().get_config()
        {'name': 'mae', 'dtype': 'float32'}
    """

    _fn = staticmethod(lambda y_true, y_pred: None)
    _default_name = ""

    def __init__(self, name: str | None = None, dtype: Any = None):
        super().__init__(self._per_sample_fn(), name=name or self._default_name, dtype=dtype)

    @classmethod
    def _per_sample_fn(cls) -> Callable:
        return cls._fn

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}
