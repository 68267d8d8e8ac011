"""``Distiller``: a model that trains a student on the true labels and on a frozen teacher's outputs.

``fit`` minimizes ``student_loss_weight * student_loss + (1 - student_loss_weight) * distillation_loss``,
where the student loss compares the student's outputs with the labels (the ``loss`` given to ``compile``)
and the distillation loss is the weighted sum of the :mod:`distillation losses
<loom.distillation.distillation_loss>`. The teacher is frozen; ``predict`` and ``call`` run the student.
The logs report ``loss``, ``student_loss``, ``distillation_loss``, ``total_loss`` and the compiled metrics,
as Keras's ``keras.distillation.Distiller``.

Example:
    >>> import torch, loom
    >>> teacher = loom.Sequential([loom.Input((4,)), loom.layers.Dense(3)])
    >>> student = loom.Sequential([loom.Input((4,)), loom.layers.Dense(3)])
    >>> distiller = loom.distillation.Distiller(teacher, student, loom.distillation.LogitsDistillation())
    >>> distiller.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> history = distiller.fit(torch.rand(8, 4), torch.randint(0, 3, (8,)), epochs=1, verbose=0)
    >>> sorted(history.history)
    ['distillation_loss', 'loss', 'student_loss', 'total_loss']
"""

from __future__ import annotations

from typing import Any

import torch

from loom import metrics as loom_metrics
from loom import tree
from loom.distillation.distillation_loss import DistillationLoss, _as_function
from loom.errors import ConfigError, ShapeError
from loom.models import Model, Sequential

__all__ = ["Distiller"]


class Distiller(Model):
    """Train ``student`` from ``teacher`` (see the module docstring).

    Args:
        teacher: the trained model to learn from (frozen by the distiller).
        student: the model being trained; its inputs and outputs must match the teacher's in shape and dtype.
        distillation_losses: one :class:`DistillationLoss` or a list of them.
        distillation_loss_weights: one weight per distillation loss (default ``None``: all 1.0).
        student_loss_weight: the share of the student loss in ``[0, 1]`` (default 0.5).
        name: the model's name (default ``'distiller'``).

    Example:
        >>> import loom
        >>> t = loom.Sequential([loom.Input((2,)), loom.layers.Dense(2)])
        >>> s = loom.Sequential([loom.Input((2,)), loom.layers.Dense(2)])
        >>> Distiller(t, s, loom.distillation.LogitsDistillation(), student_loss_weight=0.2).teacher.trainable
        False
    """

    def __init__(self, teacher: Model, student: Model, distillation_losses: Any,
                 distillation_loss_weights: list | None = None, student_loss_weight: float = 0.5,
                 name: str = "distiller", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        _check_models(teacher, student)
        if isinstance(student_loss_weight, bool) or not isinstance(student_loss_weight, (int, float)):
            raise ConfigError(f"Distiller: student_loss_weight must be a number, got {student_loss_weight!r}.")
        if not 0.0 <= student_loss_weight <= 1.0:
            raise ConfigError(f"Distiller: student_loss_weight must be between 0.0 and 1.0, got {student_loss_weight}.")
        if distillation_losses is None:
            raise ConfigError("Distiller: distillation_losses cannot be None; pass a LogitsDistillation or "
                              "FeatureDistillation (or a list of them).")
        losses = list(distillation_losses) if isinstance(distillation_losses, (list, tuple)) else [distillation_losses]
        weights = [1.0] * len(losses) if distillation_loss_weights is None else list(distillation_loss_weights)
        if len(weights) != len(losses):
            raise ConfigError(f"Distiller: {len(weights)} distillation_loss_weights for {len(losses)} "
                              f"distillation_losses.")
        for loss in losses:
            if not isinstance(loss, DistillationLoss):
                raise ConfigError(f"Distiller: {type(loss).__name__} is not a loom.distillation.DistillationLoss.")
            loss.validate_model_compatibility(teacher, student)
        self.teacher, self.student = teacher, student
        self.distillation_losses, self.distillation_loss_weights = losses, weights
        self.student_loss_weight = student_loss_weight
        self._teacher_features = _feature_extractor(teacher, [getattr(l, "teacher_layer_name", None) for l in losses])
        self._student_features = _feature_extractor(student, [getattr(l, "student_layer_name", None) for l in losses])
        self.teacher.trainable = False
        self.student_loss_tracker = loom_metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = loom_metrics.Mean(name="distillation_loss")
        self.total_loss_tracker = loom_metrics.Mean(name="total_loss")

    def compile(self, optimizer: Any = "adam", loss: Any = None, metrics: Any = None, **kwargs: Any) -> None:
        """As ``Model.compile``; ``loss`` (required) is the student loss against the labels."""
        if loss is None:
            raise ConfigError("Distiller.compile: `loss` (the student loss against the labels) cannot be None.")
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise ConfigError(f"Distiller.compile: metrics must be a list or tuple, got {type(metrics).__name__}.")
        self._student_loss = tree.map_structure(_as_function, loss)
        self._student_loss_spec = loss
        super().compile(optimizer=optimizer, loss=None, metrics=metrics, **kwargs)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        return self.student(inputs, training=training)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None, sample_weight: Any = None,
                     training: bool = True) -> torch.Tensor:
        """``student_loss_weight * student loss + (1 - student_loss_weight) * distillation loss``; updates the
        three loss trackers."""
        if y_pred is None:
            y_pred = self(x, training=training)
        student_loss = torch.zeros(())
        if self.student_loss_weight > 0.0 and y is not None:
            values = tree.flatten(tree.map_structure(lambda fn, t, p: fn(t, p), self._student_loss, y, y_pred))
            student_loss = torch.stack([v.mean() for v in values]).sum() if len(values) > 1 else values[0].mean()
        distillation = torch.zeros(())
        if self.student_loss_weight < 1.0:
            teacher = self._features(self.teacher, self._teacher_features, x, None)
            student = self._features(self.student, self._student_features, x, y_pred)
            for loss, weight in zip(self.distillation_losses, self.distillation_loss_weights):
                t_out = teacher[getattr(loss, "teacher_layer_name", None) or "final_output"]
                s_out = student[getattr(loss, "student_layer_name", None) or "final_output"]
                loss.validate_outputs(t_out, s_out)
                value = loss.compute_loss(t_out, s_out)
                if value.dim() > 0:
                    raise ShapeError(f"Distiller: {type(loss).__name__}.compute_loss returned a non-scalar loss of "
                                     f"shape {tuple(value.shape)}; it must return a scalar.")
                distillation = distillation + weight * value
        total = self.student_loss_weight * student_loss + (1.0 - self.student_loss_weight) * distillation
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(distillation)
        self.total_loss_tracker.update_state(total)
        return total

    def _features(self, model: Model, extractor: Model | None, x: Any, y_pred: Any) -> dict:
        if extractor is not None:
            return extractor(x, training=model is self.student)
        return {"final_output": y_pred if y_pred is not None else model(x, training=False)}

    def get_config(self) -> dict:
        from loom.serialization import serialize_keras_object
        return {"name": self.name, "teacher": serialize_keras_object(self.teacher),
                "student": serialize_keras_object(self.student),
                "distillation_losses": [serialize_keras_object(l) for l in self.distillation_losses],
                "distillation_loss_weights": self.distillation_loss_weights,
                "student_loss_weight": self.student_loss_weight}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "Distiller":
        from loom.serialization import deserialize_keras_object
        config = dict(config)
        for key in ("teacher", "student"):
            config[key] = deserialize_keras_object(config[key], custom_objects)
        config["distillation_losses"] = [deserialize_keras_object(l, custom_objects)
                                         for l in config["distillation_losses"]]
        return cls(**config)


def _check_models(teacher: Any, student: Any) -> None:
    for role, model in (("teacher", teacher), ("student", student)):
        if not isinstance(model, Model):
            raise ConfigError(f"Distiller: the {role} must be a loom.Model, got {type(model).__name__}.")
    for kind in ("inputs", "outputs"):
        ours, theirs = getattr(teacher, kind, None), getattr(student, kind, None)
        if not ours or not theirs:
            continue
        if len(ours) != len(theirs):
            raise ShapeError(f"Distiller: the teacher has {len(ours)} {kind}, the student {len(theirs)}.")
        for t, s in zip(ours, theirs):
            same_rank = len(t.shape) == len(s.shape)
            if not same_rank or any(a is not None and b is not None and a != b for a, b in zip(t.shape, s.shape)):
                raise ShapeError(f"Distiller: teacher and student {kind[:-1]} shapes are incompatible: teacher "
                                 f"{tuple(t.shape)}, student {tuple(s.shape)}.")
            if t.dtype != s.dtype:
                raise ShapeError(f"Distiller: teacher and student {kind[:-1]} dtypes differ: {t.dtype} vs {s.dtype}.")


def _feature_extractor(model: Model, layer_names: list) -> Model | None:
    names = list(dict.fromkeys(n for n in layer_names if n))
    if not names:
        return None
    final = model.layers[-1].output if isinstance(model, Sequential) else model.output
    outputs = {"final_output": final, **{n: model.get_layer(n).output for n in names}}
    return Model(model.inputs, outputs, name=f"{model.name}_multi_feature_extractor")
