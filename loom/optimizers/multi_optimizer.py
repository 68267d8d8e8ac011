"""Different optimizers for different weights, as ``keras.optimizers.MultiOptimizer`` and ``OptimizerMap``.

An :class:`OptimizerMap` assigns an optimizer to each weight by its path (``'dense/kernel'``): an exact key,
else the one key that matches as a full regular expression, else the default optimizer. A
:class:`MultiOptimizer` built on a model's weights hands each inner optimizer its own weights and gradients;
every inner optimizer keeps its own learning rate, schedule, state and step count.

Example:
    >>> import torch
    >>> from loom.optimizers import SGD, Adam, MultiOptimizer, OptimizerMap
    >>> a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    >>> a.path, b.path = "encoder/kernel", "head/kernel"
    >>> opt = MultiOptimizer(OptimizerMap(SGD(0.1), {"head/.*": SGD(1.0)}))
    >>> opt.apply([torch.ones(2), torch.ones(2)], [a, b])
    >>> a.detach(), b.detach()
    (tensor([0.9000, 0.9000]), tensor([0., 0.]))
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Iterable, Iterator

import torch

from loom.errors import ConfigError
from loom.optimizers.optimizer import Optimizer


def _check_inner(optimizer: Any, what: str) -> None:
    if not isinstance(optimizer, Optimizer) or isinstance(optimizer, MultiOptimizer):
        raise ConfigError(f"{what} must be a loom Optimizer (not a MultiOptimizer or LossScaleOptimizer). "
                          f"Received: {optimizer!r}")


class OptimizerMap(MutableMapping):
    """Weight path -> optimizer, with regular-expression keys and a default, as ``keras.optimizers.OptimizerMap``.

    Args:
        default_optimizer: The optimizer of weights no key matches.
        optimizer_map: ``{path or full-match regex: optimizer}``. Defaults to None (empty).

    Raises:
        ConfigError: a value is not a loom optimizer, a key is not a string or already present, or (when
            looked up) a path matches several keys.

    Example:
        >>> from loom.optimizers import SGD
        >>> m = OptimizerMap(SGD(0.1), {"head/.*": SGD(1.0)})
        >>> m["head/bias"].learning_rate, m["body/bias"].learning_rate
        (1.0, 0.1)
    """

    def __init__(self, default_optimizer: Optimizer, optimizer_map: dict | None = None):
        _check_inner(default_optimizer, "OptimizerMap: default_optimizer")
        if optimizer_map is not None and not isinstance(optimizer_map, dict):
            raise ConfigError(f"OptimizerMap: optimizer_map must be a dictionary. Received: {optimizer_map!r}")
        self._default_optimizer = default_optimizer
        self._optimizer_map: dict[str, Optimizer] = {}
        for key, optimizer in (optimizer_map or {}).items():
            self[key] = optimizer

    @property
    def default_optimizer(self) -> Optimizer:
        return self._default_optimizer

    def __getitem__(self, key: str) -> Optimizer:
        if key in self._optimizer_map:
            return self._optimizer_map[key]
        matching = [pattern for pattern in self._optimizer_map if re.fullmatch(pattern, key)]
        if len(matching) > 1:
            raise ConfigError(f"OptimizerMap: multiple optimizers assigned to variable '{key}' (keys {matching}).")
        return self._optimizer_map[matching[0]] if matching else self._default_optimizer

    def __setitem__(self, key: str, optimizer: Optimizer) -> None:
        if not isinstance(key, str):
            raise ConfigError(f"OptimizerMap: key must be a string. Received: {key!r}")
        if key in self._optimizer_map:
            raise ConfigError(f"OptimizerMap: '{key}' already exists with value {self._optimizer_map[key]!r}.")
        _check_inner(optimizer, f"OptimizerMap['{key}']")
        self._optimizer_map[key] = optimizer

    def __delitem__(self, key: str) -> None:
        del self._optimizer_map[key]

    def __len__(self) -> int:
        return len(self._optimizer_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._optimizer_map)

    def __call__(self, variable: torch.Tensor) -> Optimizer:
        return self[str(getattr(variable, "path", "") or "")]

    def get_config(self) -> dict[str, Any]:
        from loom.optimizers import serialize
        return {"default_optimizer": serialize(self._default_optimizer),
                "optimizer_map": {k: serialize(v) for k, v in self._optimizer_map.items()}}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "OptimizerMap":
        from loom.optimizers import deserialize
        optimizer_map = {k: deserialize(v, custom_objects) for k, v in (config.get("optimizer_map") or {}).items()}
        return cls(deserialize(config["default_optimizer"], custom_objects), optimizer_map)


class MultiOptimizer(Optimizer):
    """Apply each weight's gradient with the optimizer an :class:`OptimizerMap` gives it.

    Args:
        optimizer_map: An :class:`OptimizerMap` (or a callable ``weight -> optimizer``).
        loss_scale_factor: Set on every inner optimizer. Defaults to None.
        name: Defaults to ``'multi_optimizer'``.

    Raises:
        ConfigError: the map gives something other than a loom optimizer; ``learning_rate`` is read or set
            (read it on the inner optimizers, as Keras says).

    Example:
        >>> from loom.optimizers import SGD
        >>> MultiOptimizer(OptimizerMap(SGD())).get_config()["loss_scale_factor"] is None
        True
    """

    def __init__(self, optimizer_map: Any, loss_scale_factor: float | None = None, name: str | None = None):
        super().__init__(learning_rate=0.0, loss_scale_factor=None, name=name)
        self._optimizer_map = optimizer_map
        self._inner: list[Optimizer] = []
        for optimizer in [*getattr(optimizer_map, "values", lambda: [])(),
                          getattr(optimizer_map, "default_optimizer", None)]:
            if optimizer is not None and all(optimizer is not o for o in self._inner):
                self._inner.append(optimizer)
        self._scale = None
        self.loss_scale_factor = loss_scale_factor

    @property
    def optimizers(self) -> list[Optimizer]:
        return list(self._inner)

    @property
    def loss_scale_factor(self) -> float | None:
        return getattr(self, "_scale", None)

    @loss_scale_factor.setter
    def loss_scale_factor(self, value: float | None) -> None:
        self._scale = value
        for optimizer in getattr(self, "_inner", ()):
            optimizer.loss_scale_factor = value

    @property
    def learning_rate(self) -> float:
        raise ConfigError("Learning rate cannot be accessed on a MultiOptimizer. Access the learning rate on the "
                          "individual sub-optimizers instead (optimizer.optimizers).")

    @learning_rate.setter
    def learning_rate(self, value: Any) -> None:
        if getattr(self, "_built", None) is not None:
            raise ConfigError("Learning rate cannot be set on a MultiOptimizer. Set the learning rate on the "
                              "individual sub-optimizers instead (optimizer.optimizers).")

    def build(self, params: Iterable[Any]) -> None:
        if self._built:
            return
        params = [params] if isinstance(params, torch.Tensor) else list(params)
        self._owner: dict[int, int] = {}
        groups: dict[int, list] = {}
        for p in params:
            optimizer = self._optimizer_map(p)
            _check_inner(optimizer, f"The optimizer of weight '{getattr(p, 'path', tuple(p.shape))}'")
            if all(optimizer is not o for o in self._inner):
                optimizer.loss_scale_factor = self._scale
                self._inner.append(optimizer)
            index = next(i for i, o in enumerate(self._inner) if o is optimizer)
            self._owner[id(p)] = index
            groups.setdefault(index, []).append(p)
        for index, group in groups.items():
            self._inner[index].build(group)
        super().build(params)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if "_owner" in state:  # which inner optimizer updates a parameter, for the copy's parameters
            self._owner = {id(p): index for index, optimizer in enumerate(self._inner)
                           for p in optimizer._flat_params()}

    def _apply(self, work: list) -> None:
        by_optimizer: dict[int, tuple[list, list]] = {}
        for _, params, grads in work:
            for p, g in zip(params, grads):
                entry = by_optimizer.setdefault(self._owner[id(p)], ([], []))
                entry[0].append(g)
                entry[1].append(p)
        for index, (grads, params) in sorted(by_optimizer.items()):
            self._inner[index].apply(grads, params)
        self._finish_step()

    def finalize_variable_values(self, var_list: Iterable[torch.Tensor] | None = None) -> None:
        wanted = None if var_list is None else {id(p) for p in var_list}
        for optimizer in self._inner:
            if optimizer.built:
                optimizer.finalize_variable_values([p for p in optimizer._flat_params()
                                                    if wanted is None or id(p) in wanted])

    def get_state_tensors(self) -> dict[str, torch.Tensor]:
        out = {"iterations": torch.tensor(self._iterations, dtype=torch.int64)}
        for index, optimizer in enumerate(self._inner):
            out.update({f"optimizer_{index}/{k}": v for k, v in optimizer.get_state_tensors().items()})
        return out

    def set_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        tensors = dict(tensors)
        if "iterations" in tensors:
            self._iterations = int(tensors.pop("iterations"))
        for index, optimizer in enumerate(self._inner):
            prefix = f"optimizer_{index}/"
            own = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            if own:
                optimizer.set_state_tensors(own)

    def get_config(self) -> dict[str, Any]:
        return {"optimizer_map": {"class_name": "OptimizerMap", "config": self._optimizer_map.get_config()},
                "loss_scale_factor": self.loss_scale_factor, "name": self.name}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "MultiOptimizer":
        config = dict(config)
        optimizer_map = config["optimizer_map"]
        if isinstance(optimizer_map, dict) and "config" in optimizer_map:
            optimizer_map = OptimizerMap.from_config(optimizer_map["config"], custom_objects)
        return cls(optimizer_map, loss_scale_factor=config.get("loss_scale_factor"), name=config.get("name"))

    def __repr__(self) -> str:
        return f"<MultiOptimizer name={self.name!r} optimizers={[type(o).__name__ for o in self._inner]}>"
