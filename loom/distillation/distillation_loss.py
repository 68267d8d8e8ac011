"""How a student is compared with its teacher: ``LogitsDistillation`` and ``FeatureDistillation``.

A distillation loss turns ``(teacher_outputs, student_outputs)`` into one scalar. ``loss`` may be a
structure (list / dict) matching the outputs, with ``None`` for outputs to skip. As in Keras 3.15, a loss
given by *name* is the plain loss function; only a :class:`loom.losses.KLDivergence` *instance* makes
``LogitsDistillation`` compare softened probabilities and scale by the squared temperature.

Example:
    >>> import torch
    >>> loss = LogitsDistillation(temperature=2.0, loss="mse")
    >>> float(loss.compute_loss(torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 0.0]])))
    0.5
"""

from __future__ import annotations

from typing import Any

import torch

from loom import losses as loom_losses
from loom import tree
from loom.errors import ConfigError, ShapeError

__all__ = ["DistillationLoss", "FeatureDistillation", "LogitsDistillation"]


def _as_function(loss: Any) -> Any:
    if loss is None or callable(loss):
        return loss
    if isinstance(loss, str):
        return loom_losses.get(loss)
    raise ConfigError(f"A distillation loss must be a loss name, a loss or None; got {type(loss).__name__}.")


def _summed(values: list) -> torch.Tensor:
    tensors = [v if isinstance(v, torch.Tensor) else torch.tensor(float(v)) for v in values]
    return torch.stack([t.reshape(()) for t in tensors]).sum()


class DistillationLoss:
    """Base class: ``compute_loss(teacher_outputs, student_outputs)`` returns a scalar. Override it.

    Example:
        >>> class Gap(DistillationLoss):
        ...     def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
        ...         return (teacher_outputs - student_outputs).abs().mean()
        >>> import torch
        >>> float(Gap().compute_loss(torch.ones(2), torch.zeros(2)))
        1.0
    """

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> torch.Tensor:
        """The scalar loss of the student's outputs against the teacher's."""
        raise NotImplementedError(f"{type(self).__name__} must implement compute_loss().")

    def validate_outputs(self, teacher_outputs: Any, student_outputs: Any) -> None:
        """Raise unless teacher and student outputs have the same structure."""
        try:
            tree.assert_same_structure(teacher_outputs, student_outputs)
        except Exception as e:  # noqa: BLE001 - any mismatch is reported as one error
            raise ShapeError(f"{type(self).__name__}: teacher and student outputs differ in structure: {e}") from e

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        """Raise if this loss cannot compare these two models (nothing to check by default)."""


class LogitsDistillation(DistillationLoss):
    """Compare the teacher's and student's final outputs (logits) softened by ``temperature``.

    Args:
        temperature: divides both logits before the comparison (default 3.0; must be positive).
        loss: the comparison: a loss name, a loss, or a structure of them matching the outputs (default
            ``'kl_divergence'``).

    Example:
        >>> import torch, loom
        >>> kl = LogitsDistillation(temperature=1.0, loss=loom.losses.KLDivergence())
        >>> float(kl.compute_loss(torch.zeros(1, 3), torch.zeros(1, 3)))
        0.0
    """

    def __init__(self, temperature: float = 3.0, loss: Any = "kl_divergence") -> None:
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise ConfigError(f"LogitsDistillation: temperature must be a number, got {type(temperature).__name__}.")
        if temperature <= 0:
            raise ConfigError(f"LogitsDistillation: temperature must be positive, got {temperature}.")
        self.temperature = temperature
        self._loss_spec = loss
        self.loss = tree.map_structure(_as_function, loss)
        if all(fn is None for fn in tree.flatten(self.loss)):
            raise ConfigError("LogitsDistillation: at least one loss must be non-None.")

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> torch.Tensor:
        def apply(fn: Any, teacher: torch.Tensor, student: torch.Tensor) -> Any:
            if fn is None:
                return 0.0
            teacher, student = teacher / self.temperature, student / self.temperature
            if isinstance(fn, loom_losses.KLDivergence):
                value = fn(torch.softmax(teacher, dim=-1), torch.softmax(student, dim=-1)).mean()
                return value * self.temperature ** 2
            return fn(teacher, student).mean()
        return _summed(tree.flatten(tree.map_structure(apply, self.loss, teacher_outputs, student_outputs)))

    def get_config(self) -> dict:
        from loom.serialization import serialize_keras_object
        return {"temperature": self.temperature, "loss": serialize_keras_object(self._loss_spec)}

    @classmethod
    def from_config(cls, config: dict) -> "LogitsDistillation":
        from loom.serialization import deserialize_keras_object
        return cls(**{**config, "loss": deserialize_keras_object(config.get("loss", "kl_divergence"))})


class FeatureDistillation(DistillationLoss):
    """Compare intermediate features: the output of ``teacher_layer_name`` with ``student_layer_name``.

    Args:
        loss: the comparison (default ``'mse'``), or a structure of losses matching the features.
        teacher_layer_name: the teacher layer whose output is the target (default ``None``: the final output).
        student_layer_name: the student layer compared with it (default ``None``: the final output).

    Example:
        >>> import torch
        >>> float(FeatureDistillation().compute_loss(torch.ones(2, 2), torch.zeros(2, 2)))
        1.0
    """

    def __init__(self, loss: Any = "mse", teacher_layer_name: str | None = None,
                 student_layer_name: str | None = None) -> None:
        self.teacher_layer_name = teacher_layer_name
        self.student_layer_name = student_layer_name
        self._loss_spec = loss
        self.loss = tree.map_structure(_as_function, loss)
        if all(fn is None for fn in tree.flatten(self.loss)):
            raise ConfigError("FeatureDistillation: `loss` must contain at least one non-None value.")

    def validate_model_compatibility(self, teacher: Any, student: Any) -> None:
        for role, model, name in (("teacher", teacher, self.teacher_layer_name),
                                  ("student", student, self.student_layer_name)):
            if name is None:
                continue
            if getattr(model, "inputs", None) is None:
                raise ConfigError(f"FeatureDistillation: layer names need functional or Sequential models; the "
                                  f"{role} model '{model.name}' is subclassed.")
            model.get_layer(name)

    def compute_loss(self, teacher_outputs: Any, student_outputs: Any, **kwargs: Any) -> torch.Tensor:
        def apply(fn: Any, teacher: torch.Tensor, student: torch.Tensor) -> Any:
            return 0.0 if fn is None else fn(teacher, student).mean()
        return _summed(tree.flatten(tree.map_structure(apply, self.loss, teacher_outputs, student_outputs)))

    def get_config(self) -> dict:
        from loom.serialization import serialize_keras_object
        return {"loss": serialize_keras_object(self._loss_spec), "teacher_layer_name": self.teacher_layer_name,
                "student_layer_name": self.student_layer_name}

    @classmethod
    def from_config(cls, config: dict) -> "FeatureDistillation":
        from loom.serialization import deserialize_keras_object
        return cls(**{**config, "loss": deserialize_keras_object(config.get("loss", "mse"))})
