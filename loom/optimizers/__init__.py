"""Optimizers with Keras 3's names, defaults and exact update rules, as ``torch.optim.Optimizer`` subclasses.

Create one before the model exists, hand it the parameters with ``build`` (``model.compile`` does this),
then use it as any torch optimizer. :func:`get` resolves the identifiers ``compile(optimizer=...)`` takes.

Example:
    >>> import torch
    >>> from loom import optimizers
    >>> opt = optimizers.get("rmsprop")
    >>> opt.build(torch.nn.Linear(2, 1).parameters())
    >>> optimizers.serialize(opt)["class_name"]
    'RMSprop'
    >>> optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.1}}).learning_rate
    0.1
"""

from __future__ import annotations

from typing import Any

from loom import schedules
from loom.errors import ConfigError
from loom.optimizers.adadelta import Adadelta
from loom.optimizers.adagrad import Adagrad
from loom.optimizers.adam import Adam, AdamW
from loom.optimizers.adamax import Adamax
from loom.optimizers.nadam import Nadam
from loom.optimizers.optimizer import Optimizer
from loom.optimizers.rmsprop import RMSprop
from loom.optimizers.sgd import SGD
from loom.optimizers.adafactor import Adafactor
from loom.optimizers.ftrl import Ftrl
from loom.optimizers.lamb import Lamb
from loom.optimizers.lion import Lion
from loom.optimizers.muon import Muon
from loom.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from loom.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from loom.mixed_precision import LossScaleOptimizer
from loom.optimizers import legacy

__all__ = ["Optimizer", "SGD", "RMSprop", "Adam", "AdamW", "Nadam", "Adamax", "Adagrad", "Adadelta",
           "Adafactor", "Ftrl", "Lamb", "Lion", "Muon", "ScheduleFreeAdamW", "MultiOptimizer", "OptimizerMap",
           "LossScaleOptimizer", "legacy", "schedules", "get", "serialize", "deserialize"]

_BY_NAME = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam, AdamW, Nadam, Adamax, Adagrad, Adadelta,
                                                  Adafactor, Ftrl, Lamb, Lion, Muon, ScheduleFreeAdamW,
                                                  MultiOptimizer)}


def serialize(optimizer: Optimizer) -> dict[str, Any]:
    """``{'class_name': ..., 'config': ...}`` for an optimizer, as ``keras.optimizers.serialize``."""
    from loom.registry import registered_name
    if not isinstance(optimizer, Optimizer):
        raise ConfigError(f"serialize() expects a loom optimizer. Received: {optimizer!r}")
    return {"class_name": registered_name(type(optimizer)), "config": optimizer.get_config()}


def deserialize(config: dict[str, Any], custom_objects: dict | None = None) -> Any:
    """Rebuild an optimizer from :func:`serialize`'s output (a Keras-written config works too).

    Raises:
        ConfigError: the dict is malformed or names an unknown optimizer.
    """
    if not isinstance(config, dict) or "class_name" not in config:
        raise ConfigError(f"An optimizer config must be a dict with 'class_name' and 'config'. Received: {config!r}")
    name = config["class_name"]
    if name == "LossScaleOptimizer":
        return LossScaleOptimizer.from_config(dict(config.get("config", {})), custom_objects=custom_objects)
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
    elif isinstance(name, str) and name.lower() in _BY_NAME:
        cls = _BY_NAME[name.lower()]
    elif isinstance(name, str) and ">" in name:
        from loom.registry import get_registered
        cls = get_registered(name, custom_objects)
    else:
        raise ConfigError(f"Unknown optimizer '{name}'. Valid names: {sorted(_BY_NAME)} "
                          "(or register a custom class and pass custom_objects).")
    return cls.from_config(dict(config.get("config", {})), custom_objects=custom_objects)


def get(identifier: Any) -> Optimizer | None:
    """An optimizer from a name (``'adam'``, case-insensitive), a config dict, or an instance.

    Raises:
        ConfigError: the identifier is not recognised; the message lists the valid names.
    """
    if identifier is None or isinstance(identifier, Optimizer):
        return identifier
    inner = getattr(identifier, "inner_optimizer", None)  # mixed_precision.LossScaleOptimizer: loom scales itself
    if isinstance(inner, Optimizer):
        return inner
    if isinstance(identifier, str):
        return deserialize({"class_name": identifier, "config": {}})
    if isinstance(identifier, dict):
        return deserialize(identifier)
    raise ConfigError(f"Could not interpret optimizer identifier: {identifier!r}. "
                      f"Valid: an Optimizer instance, a config dict, or one of {sorted(_BY_NAME)}.")
