"""Data and plan preparation for the training loop: everything done once before the first step.

:class:`DataPreparation` is a mixin of :class:`~loom.training.trainer.Trainable`. It turns what ``fit`` /
``evaluate`` / ``predict`` receive into a source of flat tensor batches (:mod:`loom.training.data`) after
building the model if needed (a ``Sequential`` without an input shape), resolving the compile plan for the
target and output shapes (:mod:`loom.training.compile_utils`), checking targets against outputs, converting
inputs and targets to the dtypes the model and losses want, turning ``class_weight`` into sample weights, and
moving everything to the model's device, once.

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(2, activation="softmax")])
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> data = model._source(np.zeros((4, 3)), np.array([0, 1, 1, 0]), None, None, None, shuffle=False,
    ...                      needs_targets=True)
    >>> model.input_shape, data.ys[0].dtype
    ((None, 3), torch.int64)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from loom import structure
from loom.errors import ConfigError, InputError
from loom.training import compile_utils, validation
from loom.training.custom_step import _default_names
from loom.training.data import (ArrayData, IterableData, as_tensor, check_cardinality, flatten_named,
                                is_iterable_source, unpack_x_y_sample_weight)


class DataPreparation:
    """Validation, conversion and device placement of data for a model (see the module docstring)."""

    def _io_names(self) -> tuple[list[str] | None, list[str] | None]:
        if getattr(self, "_runner", None) is None:
            return None, getattr(self, "_subclass_output_names", None)
        return self.input_names, self.output_names

    def _ensure_built(self, x: Any) -> None:
        """Build a ``Sequential`` from the first data; note a subclassed model's input structure."""
        if getattr(self, "_runner", None) is not None:
            return
        if hasattr(self, "_build_from_data") and getattr(self, "_input_layer", "absent") is None:
            sample = x[0] if isinstance(x, (list, tuple)) and not _array_like_rows(x) else x
            self._build_from_data(as_tensor(sample, "x") if not isinstance(sample, torch.Tensor) else sample)
            return
        if isinstance(x, dict):
            self._subclass_input_kind = ("dict", sorted(x))
        elif isinstance(x, (list, tuple)) and not _array_like_rows(x):
            self._subclass_input_kind = ("list", None)
        else:
            self._subclass_input_kind = ("single", None)

    def _output_shapes(self, xs: list[torch.Tensor]) -> list[tuple] | None:
        """The outputs' shapes, from a forward pass unless the model is a graph; ``None`` for a model with its own
        steps and no ``call`` (a GAN holding a generator and a discriminator), which Keras never calls either."""
        if getattr(self, "_runner", None) is not None:
            return [t.shape for t in self._outputs]
        if self._custom_steps() and _has_no_call(self):
            return None
        with torch.no_grad():
            self.eval()
            outs = self(self._forward_inputs(xs))
        if isinstance(outs, dict):
            self._subclass_output_names = sorted(outs)
        flat = structure.flatten(outs)
        if getattr(self, "_subclass_output_names", None) is None or len(self._subclass_output_names) != len(flat):
            self._subclass_output_names = ["output"] if len(flat) == 1 else [f"output_{i + 1}" for i in range(len(flat))]
        return [(None,) + tuple(o.shape[1:]) for o in flat]

    def _forward_inputs(self, xs: list[torch.Tensor]):
        kind = getattr(self, "_subclass_input_kind", ("single", None))
        if kind[0] == "dict":
            return dict(zip(kind[1], xs))
        return list(xs) if kind[0] == "list" else xs[0]

    def _convert_x(self, i: int, t: torch.Tensor) -> torch.Tensor:
        if getattr(self, "_runner", None) is None:
            return t
        return self._check_input(self._inputs[i], t)

    def _ensure_plan(self, ys: list[torch.Tensor] | None, xs: list[torch.Tensor]) -> None:
        """Resolve losses and metrics for these target / output shapes (once per compile)."""
        output_shapes = self._output_shapes(xs)
        if output_shapes is None:  # no forward pass to ask: the targets stand in for the outputs
            output_shapes = [(None,) + tuple(t.shape[1:]) for t in ys]
            self._subclass_output_names = _default_names(len(ys))
        names = self._io_names()[1]
        if self._plan is None:
            if ys is None:
                raise InputError("The first data this compiled model sees must include targets `y`.")
            target_shapes = [(None,) + tuple(t.shape[1:]) for t in ys]
            args = self._compile_args
            loss_plan = self._loss_plan_for(names, target_shapes, output_shapes)
            metric_plan = compile_utils.build_metrics(args["metrics"], args["weighted_metrics"], names,
                                                      target_shapes, output_shapes, loss_plan)
            self._plan = (loss_plan, metric_plan)
        if ys is not None and self._plan[0].entries:
            compile_utils.check_targets(ys, names, output_shapes, self._plan[0])
            self._label_ranges = validation.LabelRanges(self._plan[0], names, output_shapes)
            self._label_ranges.check(ys)

    def _convert_target(self, i: int, t: torch.Tensor) -> torch.Tensor:
        dtype = self._plan[0].target_dtype(i, t)
        return t.to(dtype) if dtype is not None else t

    def _source(self, x, y, sample_weight, class_weight, batch_size, shuffle: bool, needs_targets: bool):
        """An :class:`ArrayData` (validated, converted, on the device) or an :class:`IterableData`."""
        if x is None:
            raise InputError("No input data: pass x (arrays, a dict, a Dataset, a DataLoader or a generator).")
        if is_iterable_source(x):
            if y is not None or sample_weight is not None:
                raise InputError(f"When x is a {type(x).__name__}, it must yield (x, y[, sample_weight]) itself: "
                                 f"do not pass y or sample_weight.")
            if class_weight is not None:
                raise ConfigError("class_weight is only supported for in-memory arrays; weight the samples in "
                                  "your data source instead (yield (x, y, sample_weight)).")
            return self._iterable_source(x, batch_size, shuffle, needs_targets)
        if needs_targets and y is None and not self._custom_steps():
            raise InputError("Targets `y` are required here (fit / evaluate / *_on_batch), got y=None.")
        if class_weight is not None and sample_weight is not None:
            raise ConfigError("You cannot use `class_weight` and `sample_weight` at the same time; fold the class "
                              "weights into the sample weights.")
        if not needs_targets:
            y = sample_weight = None
        self._ensure_built(x)
        input_names, output_names = self._io_names()
        data = ArrayData.from_arrays(x, y, sample_weight, input_names=input_names,
                                     output_names=output_names if y is not None else None)
        validation.check_not_empty(data.num_samples)
        data = data.map_tensors(fx=self._convert_x)
        if y is None and needs_targets:
            self._ensure_step_plan()  # a custom step fed inputs only
        if y is not None:
            self._ensure_plan(data.ys, data.xs)
            data = data.map_tensors(fy=self._convert_target)
            if class_weight is not None:
                data.sws = _class_weight_to_sample_weights(data.ys, class_weight)
        return data.map_tensors(device=self._device())

    def _iterable_source(self, source: Any, batch_size: int | None, shuffle: bool, needs_targets: bool):
        device = self._device()

        def convert(x, y, sw):
            input_names, output_names = self._io_names()
            xs = [self._convert_x(i, as_tensor(v, "x")) for i, v in enumerate(flatten_named(x, input_names, "x"))]
            ys = sws = None
            if y is not None and needs_targets:
                ys = [as_tensor(v, "y") for v in flatten_named(y, output_names, "y")]
                labels = getattr(self, "_label_ranges", None)
                if labels:
                    labels.check(ys)  # streamed data: every batch, before it moves to the device
                ys = [self._convert_target(i, t) for i, t in enumerate(ys)]
                if sw is not None:
                    flat = (flatten_named(sw, output_names, "sample_weight")
                            if isinstance(sw, (list, tuple, dict)) else [sw] * len(ys))
                    sws = [None if w is None else as_tensor(w, "sample_weight").float() for w in flat]
            elif needs_targets and not self._custom_steps():
                raise InputError("The data source yielded batches without targets; yield (x, y) or "
                                 "(x, y, sample_weight).")
            if not checked[0]:
                check_cardinality({"x": xs, "y": ys or [], "sample_weight": sws or []})
                checked[0] = True
            xs = [t.to(device, non_blocking=True) for t in xs]
            ys = None if ys is None else [t.to(device, non_blocking=True) for t in ys]
            sws = None if sws is None else [None if w is None else w.to(device, non_blocking=True) for w in sws]
            return xs, ys, sws

        checked = [False]
        data = IterableData(source, batch_size, shuffle, convert)
        first = data.peek()
        if needs_targets and (first is None or unpack_x_y_sample_weight(first)[1] is None):
            self._ensure_step_plan()
        if first is not None:
            fx, fy, _ = unpack_x_y_sample_weight(first)
            self._ensure_built(fx)
            if fy is not None and needs_targets:
                input_names, output_names = self._io_names()
                xs = [self._convert_x(i, as_tensor(v, "x")) for i, v in enumerate(flatten_named(fx, input_names, "x"))]
                ys = [as_tensor(v, "y") for v in flatten_named(fy, self._io_names()[1], "y")]
                self._ensure_plan(ys, xs)
        return data

    def _fit_sources(self, x, y, sample_weight, class_weight, validation_split, validation_data, batch_size,
                     shuffle):
        """``(train source, validation source or None, validation tuple for callbacks)``."""
        train = self._source(x, y, sample_weight, class_weight, batch_size, shuffle, needs_targets=True)
        if validation_data is not None:
            if is_iterable_source(validation_data):
                return train, self._source(validation_data, None, None, None, batch_size, False, True), None
            vx, vy, vsw = unpack_x_y_sample_weight(validation_data)
            val = self._source(vx, vy, vsw, None, batch_size, False, needs_targets=True)
            return train, val, tuple(validation_data)
        if validation_split:
            if not isinstance(train, ArrayData):
                raise ConfigError("validation_split is only supported for in-memory data (arrays, tensors); pass "
                                  "validation_data for a Dataset, DataLoader or generator.")
            train, val = train.split(validation_split)
            return train, val, _split_originals(train.num_samples, x, y, sample_weight)
        return train, None, None


# ============================================================================================ helpers
def _has_no_call(model: Any) -> bool:
    """A model without a graph whose class keeps the base ``Model.call`` (which has nothing to run)."""
    from loom.models.functional import Model
    return getattr(model, "_runner", None) is None and type(model).call is Model.call


def _array_like_rows(x: Any) -> bool:
    return bool(x) and isinstance(x[0], (int, float, np.number))


def _split_originals(split_at: int, x: Any, y: Any, sample_weight: Any) -> tuple:
    """The validation part of the user's own arrays (same types), for ``Callback.validation_data``."""
    def tail(v):
        return None if v is None else v[split_at:]
    vx, vy = structure.map_structure(tail, x), structure.map_structure(tail, y)
    if sample_weight is None:
        return vx, vy
    return vx, vy, structure.map_structure(tail, sample_weight)


def _class_weight_to_sample_weights(ys: list[torch.Tensor], class_weight: dict) -> list[torch.Tensor]:
    """Per-sample weights from ``{class: weight}``, as Keras (argmax of one-hot targets, else the label)."""
    if len(ys) != 1:
        raise ConfigError("`class_weight` is only supported for models with a single output; pass per-output "
                          "`sample_weight` instead.")
    y = ys[0]
    if y.dim() > 1 and y.shape[-1] != 1:
        labels = y.argmax(-1)
    else:
        labels = y.reshape(y.shape[0], *y.shape[1:-1]) if y.dim() > 1 else y
    labels = torch.round(labels.double()).long() if labels.is_floating_point() else labels.long()
    keys = [int(k) for k in class_weight]
    size = max(int(labels.max()) + 1 if labels.numel() else 0, max(keys) + 1 if keys else 0)
    table = torch.ones(size, dtype=torch.float32, device=labels.device)
    if keys:
        table[torch.tensor(keys, device=labels.device)] = torch.tensor(
            [float(class_weight[k]) for k in class_weight], dtype=torch.float32, device=labels.device)
    return [table[labels.clamp(min=0)]]
