"""What ``compile`` arguments mean for each model output: losses, loss weights, metrics and their log names.

``compile`` only stores the arguments; :func:`build_plan` resolves them once the target and output shapes
are known (the first ``fit`` / ``evaluate``), as Keras 3 does, into a :class:`LossPlan` and a
:class:`MetricPlan` that the training step runs as straight lines over precomputed lists.

Log names follow Keras 3 exactly:

* ``loss`` is the total (weighted sum of the per-output losses plus regularization);
* with more than one loss, each output's *unweighted* loss is logged as ``<output_name>_loss``;
* metrics are logged under the name given (``'acc'`` stays ``acc``, ``'accuracy'`` stays ``accuracy``), with an
  ``<output_name>_`` prefix for multi-output models; duplicates get ``_1``, ``_2``...; a weighted metric
  that clashes with an unweighted one is called ``weighted_<name>``;
* logs are sorted by key and validation ones are prefixed ``val_``.

Example:
    >>> plan_names = metric_log_names([(None, "acc", False), (None, "mae", False)])
    >>> plan_names
    ['acc', 'mae']
    >>> metric_log_names([("a", "mae", False), ("b", "mae", False), ("b", "mae", True)])
    ['a_mae', 'b_mae', 'b_weighted_mae']
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from loom import backend
from loom.errors import ConfigError, InputError, ShapeError
from loom.losses.loss import apply_mask
from loom.training.saved_functions import function_name, resolve_saved

#: Loss names whose targets are integer class indices.
_SPARSE_LOSSES = ("sparse_categorical_crossentropy",)
#: Built-in losses whose targets are converted to float once per fit.
_FLOAT_TARGET_LOSSES = ("mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                        "mean_squared_logarithmic_error", "binary_crossentropy", "categorical_crossentropy",
                        "hinge", "squared_hinge", "categorical_hinge", "huber", "log_cosh", "poisson",
                        "kl_divergence", "cosine_similarity", "binary_focal_crossentropy",
                        "categorical_focal_crossentropy")


# ------------------------------------------------------------------------------------------- per output
def per_output(value: Any, output_names: Sequence[str], what: str, allow_broadcast: bool = True) -> list[Any]:
    """One entry per output from a single value, a list (one per output) or a dict keyed by output names.

    Raises:
        ConfigError: a list of the wrong length or a dict with unknown keys; the message lists the outputs.
    """
    n = len(output_names)
    if isinstance(value, dict):
        unknown = [k for k in value if k not in output_names]
        if unknown:
            raise ConfigError(f"`{what}` has keys {unknown} that are not outputs of the model. Output names: "
                              f"{list(output_names)}.")
        return [value.get(name) for name in output_names]
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ConfigError(f"`{what}` has {len(value)} entries but the model has {n} output(s) "
                              f"{list(output_names)}: give one per output (None for an output without one), or a "
                              f"dict keyed by output name.")
        return list(value)
    if not allow_broadcast and n > 1 and value is not None:
        raise ConfigError(f"`{what}` must be a list or dict for a model with {n} outputs {list(output_names)}.")
    return [value] * n


def loss_name_of(loss: Any) -> str:
    """The canonical name of a resolved loss (``'categorical_crossentropy'``...), for checks and dtypes."""
    fn = getattr(loss, "fn", None)
    if fn is not None and hasattr(fn, "__name__"):
        return fn.__name__
    name = type(loss).__name__
    return backend.snake_case(name) if name not in ("function", "LossFunctionWrapper") else getattr(loss, "name", "")


class LossPlan:
    """The resolved losses: ``entries`` are ``(output index, loss, weight or None, log name)``.

    ``track_each`` is true when more than one output has a loss, so each one's unweighted value is logged.
    """

    def __init__(self, entries: list[tuple[int, Any, float | None, str]], output_names: list[str]):
        self.entries = entries
        self.output_names = output_names
        self.track_each = len(entries) > 1
        self.names = ["loss"] + ([name for _, _, _, name in entries] if self.track_each else [])
        self.kinds = {i: loss_name_of(loss) for i, loss, _, _ in entries}

    def __call__(self, ys: list, outs: list, sws: list | None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``(total, unweighted per-output values)`` for one batch."""
        total = None
        values = []
        for i, loss, weight, _ in self.entries:
            mask = output_mask(outs[i])
            sw = None if sws is None else sws[i]
            value = loss(ys[i], outs[i], sw) if mask is None else loss(ys[i], outs[i], sw, mask=mask)
            values.append(value)
            weighted = value if weight is None else value * weight
            total = weighted if total is None else total + weighted
        return total, values

    def target_dtype(self, index: int, y: torch.Tensor) -> torch.dtype | None:
        """The dtype targets of output ``index`` are converted to once per fit (``None``: keep)."""
        kind = self.kinds.get(index, "")
        if kind in _SPARSE_LOSSES:
            return torch.int64 if y.dtype != torch.int64 else None
        if kind in _FLOAT_TARGET_LOSSES and not y.dtype.is_floating_point:
            return backend.torch_dtype(None)
        return None


def build_losses(loss: Any, loss_weights: Any, output_names: list[str], target_shapes: list[tuple] | None,
                 output_shapes: list[tuple]) -> LossPlan:
    """Resolve ``compile(loss=, loss_weights=)`` for these outputs.

    Raises:
        ConfigError: no loss at all, the wrong number of losses or weights for the outputs.
    """
    from loom import losses as losses_module
    if loss is None:
        raise ConfigError("No loss to train with: pass loss=... to compile() (for example loss='mse').")
    per_loss = per_output(loss, output_names, "loss")
    if loss_weights is None:
        weights = [None] * len(output_names)
    elif isinstance(loss_weights, (int, float)):
        weights = [float(loss_weights)] * len(output_names)
    else:
        weights = per_output(loss_weights, output_names, "loss_weights", allow_broadcast=False)
    entries = []
    for i, (identifier, weight) in enumerate(zip(per_loss, weights)):
        if identifier is None:
            continue
        t_shape = target_shapes[i] if target_shapes else None
        resolved = losses_module.resolve(identifier, t_shape, output_shapes[i])
        name = f"{output_names[i]}_loss"
        entries.append((i, resolved, None if weight is None else float(weight), name))
    if not entries:
        raise ConfigError(f"compile(loss={loss!r}) gives no loss to any output {output_names}.")
    return LossPlan(entries, output_names)


# ------------------------------------------------------------------------------------------------ metrics
def _is_nested(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and any(isinstance(v, (list, tuple, dict)) for v in value)


def metrics_per_output(metrics: Any, output_names: list[str], what: str) -> list[list[Any]]:
    """Lists of metric identifiers per output (Keras 3 rules; a flat list on a multi-output model whose length
    is not the number of outputs applies to every output, as Keras 2)."""
    n = len(output_names)
    if not metrics:
        return [[] for _ in range(n)]
    if isinstance(metrics, dict):
        return [_as_list(m) for m in per_output(metrics, output_names, what)]
    if not isinstance(metrics, (list, tuple)):
        raise ConfigError(f"`{what}` must be a list or a dict (keyed by output name); got {type(metrics).__name__}.")
    if n == 1:
        flat = [m for entry in metrics for m in _as_list(entry)]
        return [flat]
    if len(metrics) == n or _is_nested(metrics):
        return [_as_list(m) for m in per_output(list(metrics), output_names, what)]
    return [list(metrics) for _ in range(n)]


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def metric_log_names(entries: list[tuple[str | None, str, bool]]) -> list[str]:
    """Keras 3's log names for ``(output name or None, metric name, weighted)`` entries, in order."""
    counters: dict[str, int] = {}
    unweighted = []
    for prefix, name, weighted in entries:
        if weighted:
            continue
        full = f"{prefix}_{name}" if prefix else name
        if full in counters:
            counters[full] += 1
            full = f"{full}_{counters[full] - 1}"
        else:
            counters[full] = 1
        unweighted.append(full)
    weighted_names = []
    for prefix, name, weighted in entries:
        if not weighted:
            continue
        full = f"{prefix}_{name}" if prefix else name
        if full in counters:
            full = f"weighted_{name}"
            full = f"{prefix}_{full}" if prefix else full
            if full in counters:
                counters[full] += 1
                full = f"{full}_{counters[full] - 1}"
            else:
                counters[full] = 1
        else:
            counters[full] = 1
        weighted_names.append(full)
    return unweighted + weighted_names


#: Outputs (in elements) held back before deferred metric updates are applied.
DEFER_BUDGET = 1 << 20


def is_sample_additive(metric: Any) -> bool:
    """A metric whose state is a per-sample sum (loom's ``MeanMetricWrapper`` family with its own update), so
    updating it once on concatenated batches gives the same state as updating it batch by batch."""
    from loom.metrics.metric import MeanMetricWrapper
    return isinstance(metric, MeanMetricWrapper) and type(metric).update_state is MeanMetricWrapper.update_state


class MetricPlan:
    """The resolved metrics: ``entries`` are ``(output index, metric, log name, weighted)``.

    Sample-additive metrics (accuracy, mae, ...: see :func:`is_sample_additive`) are *deferred*: a step only
    keeps references to its (detached) outputs and targets, and the metric runs once on the concatenation
    when its value is read (:meth:`results`), or when :data:`DEFER_BUDGET` output elements are pending. That
    turns a handful of small kernels per step into one batch of larger ones, with the same final state.
    Other metrics update every step.
    """

    def __init__(self, entries: list[tuple[int, Any, str, bool]], plain_names: list[str]):
        self.entries = entries
        self.names = [name for _, _, name, _ in entries]
        self.plain_names = plain_names
        self.deferred = [e for e in entries if is_sample_additive(e[1])]
        self.immediate = [e for e in entries if not is_sample_additive(e[1])]
        self._pending: list[tuple] = []
        self._pending_size = 0

    def update(self, ys: list, outs: list, sws: list | None) -> None:
        if any(output_mask(o) is not None for o in outs):  # masked outputs: every metric now, masks applied
            _update_states(self.entries, ys, outs, sws)
            return
        _update_states(self.immediate, ys, outs, sws)
        if self.deferred:
            self._pending.append((ys, outs, sws))
            self._pending_size += outs[0].numel()
            if self._pending_size >= DEFER_BUDGET:
                self.flush()

    def update_now(self, ys: list, outs: list, sws: list | None) -> None:
        """Update every metric on this batch at once (inside a compiled step, where nothing is deferred)."""
        _update_states(self.entries, ys, outs, sws)

    def flush(self) -> None:
        """Apply the pending updates of the deferred metrics."""
        pending, self._pending, self._pending_size = self._pending, [], 0
        if not pending:
            return
        if len(pending) > 1 and not _same_trailing_shapes(pending):
            for ys, outs, sws in pending:
                self._apply(ys, outs, sws)
            return
        if len(pending) == 1:
            self._apply(*pending[0])
            return
        used = sorted({i for i, _, _, _ in self.deferred})
        cat = torch.cat
        ys = {i: cat([p[0][i] for p in pending]) for i in used}
        outs = {i: cat([p[1][i] for p in pending]) for i in used}
        sws = None
        if pending[0][2] is not None:
            sws = {i: None if pending[0][2][i] is None else cat([p[2][i] for p in pending]) for i in used}
        self._apply(ys, outs, sws)

    def _apply(self, ys, outs, sws) -> None:
        _update_states(self.deferred, ys, outs, sws)

    def reset(self) -> None:
        self._pending, self._pending_size = [], 0
        for _, metric, _, _ in self.entries:
            metric.reset_state()

    def results(self) -> dict[str, torch.Tensor]:
        self.flush()
        return {name: metric.result() for _, metric, name, _ in self.entries}

    @property
    def metrics(self) -> list:
        return [metric for _, metric, _, _ in self.entries]


def output_mask(output: Any) -> torch.Tensor | None:
    """The Keras mask a model output carries (``_keras_mask``, set by the graph for a masked output such as the
    steps after ``Embedding(mask_zero=True)``), or ``None``. As in Keras, the compiled loss leaves masked steps
    out (averaging over the others) and every metric weighs them 0."""
    return getattr(output, "_keras_mask", None)


def _update_states(entries: list, ys, outs, sws) -> None:
    """``update_state`` of each ``(output index, metric, name, weighted)`` entry on its output and target."""
    for i, metric, _, weighted in entries:
        sw = sws[i] if (weighted and sws is not None) else None
        mask = output_mask(outs[i])
        if mask is not None:
            sw = apply_mask(sw, mask, outs[i].dtype if outs[i].is_floating_point() else torch.float32, "sum")
        metric.update_state(ys[i], outs[i], sw)


def _same_trailing_shapes(pending: list) -> bool:
    first_outs, first_ys = pending[0][1], pending[0][0]
    for ys, outs, _ in pending[1:]:
        for a, b in zip(outs, first_outs):
            if a.shape[1:] != b.shape[1:]:
                return False
        for a, b in zip(ys, first_ys):
            if a.shape[1:] != b.shape[1:]:
                return False
    return True


def _resolve_metric(identifier: Any, y_shape: tuple | None, out_shape: tuple, loss: Any) -> Any:
    from loom import metrics as metrics_module
    return metrics_module.resolve(identifier, y_shape, out_shape, loss=loss)


def build_metrics(metrics: Any, weighted_metrics: Any, output_names: list[str], target_shapes: list | None,
                  output_shapes: list[tuple], loss_plan: LossPlan | None) -> MetricPlan:
    """Resolve ``compile(metrics=, weighted_metrics=)`` into metric objects and Keras's log names."""
    losses_by_output = {i: loss for i, loss, _, _ in loss_plan.entries} if loss_plan else {}
    multi = len(output_names) > 1
    raw = []
    for weighted, spec, what in ((False, metrics, "metrics"), (True, weighted_metrics, "weighted_metrics")):
        for i, identifiers in enumerate(metrics_per_output(spec, output_names, what)):
            for identifier in identifiers:
                y_shape = target_shapes[i] if target_shapes else None
                metric = _resolve_metric(identifier, y_shape, output_shapes[i], losses_by_output.get(i))
                raw.append((i, metric, weighted))
    names = metric_log_names([(output_names[i] if multi else None, m.name, w) for i, m, w in raw])
    entries = [(i, m, name, w) for (i, m, w), name in zip(raw, names)]
    return MetricPlan(entries, plain_names=[m.name for _, m, _ in raw])


# ----------------------------------------------------------------------------------------- checks, order
def check_targets(ys: list[torch.Tensor], output_names: list[str], output_shapes: list[tuple],
                  plan: LossPlan) -> None:
    """Check each target against its output's shape once, before the loop.

    Raises:
        InputError: integer class labels given to ``categorical_crossentropy`` (suggests the sparse loss).
        ShapeError: a target that cannot match its output; the message names the output and both shapes.
    """
    if len(ys) != len(output_names):
        raise InputError(f"Got {len(ys)} target arrays for {len(output_names)} outputs {output_names}.")
    for i, loss, _, _ in plan.entries:
        kind = plan.kinds[i]
        y_shape = tuple(ys[i].shape)
        out = output_shapes[i]
        if kind == "categorical_crossentropy" and (len(y_shape) < len(out) or (
                y_shape[-1:] == (1,) and out[-1] not in (None, 1))):
            raise InputError(f"Output '{output_names[i]}' has shape {out} and uses categorical_crossentropy, which "
                             f"needs one-hot targets of that shape, but the targets have shape {y_shape}: they look "
                             f"like integer class labels. Use loss='sparse_categorical_crossentropy', or one-hot "
                             f"encode the labels (loom.utils.to_categorical).")
        if kind in _SPARSE_LOSSES:
            ok = len(y_shape) == len(out) - 1 or (len(y_shape) == len(out) and y_shape[-1] == 1)
            expected = f"{(None,) + tuple(out[1:-1])} (or with a trailing 1)"
            compare = tuple(out[1:-1])
        elif kind in _FLOAT_TARGET_LOSSES:
            compare = tuple(out[1:])
            ok = _same_or_trailing_one(y_shape[1:], compare)
            expected = str(out)
        else:
            continue
        if ok and kind in _SPARSE_LOSSES:
            ok = all(e is None or e == d for e, d in zip(compare, y_shape[1:]))
        if not ok:
            raise ShapeError(f"Targets for output '{output_names[i]}' have shape {y_shape}, which cannot match the "
                             f"output shape {out} with loss '{kind}' (expected targets shaped {expected}).")


def _same_or_trailing_one(a: tuple, b: tuple) -> bool:
    def same(x, y):
        return len(x) == len(y) and all(e is None or e == d for e, d in zip(y, x))
    if same(a, b):
        return True
    if len(a) == len(b) + 1 and a[-1:] == (1,):
        return same(a[:-1], b)
    if len(b) == len(a) + 1 and b[-1:] == (1,):
        return same(a, b[:-1])
    return False


def ordered_names(logs: dict, loss_plan: LossPlan | None, metric_plan: MetricPlan | None) -> list[str]:
    """Keras 3's order of ``evaluate()`` results: ``loss``, metrics by their plain names when those are log keys
    (single-output models), per-output losses, then every other key sorted."""
    order = ["loss"]
    if metric_plan is not None:
        order += [n for n in metric_plan.plain_names if n in logs]
    if loss_plan is not None and loss_plan.track_each:
        order += [name for _, _, _, name in loss_plan.entries]
    seen = set()
    names = []
    for name in order:
        if name in logs and name not in seen:
            names.append(name)
            seen.add(name)
    return names + sorted(k for k in logs if k not in seen)


# ---------------------------------------------------------------------------------------- compile config
def serialize_compile_config(optimizer: Any, loss: Any, loss_weights: Any, metrics: Any, weighted_metrics: Any,
                             run_eagerly: bool, steps_per_execution: int, jit_compile: bool | str,
                             mixed_precision: str | None) -> dict:
    """A JSON-able dict of the compile arguments (objects as ``{'class_name', 'config'}``)."""
    from loom import optimizers
    return {
        "optimizer": optimizers.serialize(optimizer) if optimizer is not None else None,
        "loss": _serialize_nested(loss, "loss"),
        "loss_weights": loss_weights,
        "metrics": _serialize_nested(metrics, "metric"),
        "weighted_metrics": _serialize_nested(weighted_metrics, "metric"),
        "run_eagerly": bool(run_eagerly),
        "steps_per_execution": int(steps_per_execution),
        "jit_compile": jit_compile if jit_compile == "auto" else bool(jit_compile),
        "mixed_precision": mixed_precision,
    }


def _serialize_nested(value: Any, kind: str) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {k: _serialize_nested(v, kind) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_serialize_nested(v, kind) for v in value]
    from loom import losses, metrics
    try:
        return losses.serialize(value) if kind == "loss" else metrics.serialize(value)
    except ConfigError:
        if not callable(value) or isinstance(value, (losses.Loss, metrics.Metric)):
            raise
        # A plain function (Keras compiles with any callable) is recorded by its (registered) name, as Keras
        # records it; loading finds it again through custom_objects or the registry, or fails (saved_functions).
        return function_name(value)


def deserialize_compile_config(config: dict) -> dict:
    """The keyword arguments of ``compile`` from :func:`serialize_compile_config`'s dict.

    Raises:
        UnknownObjectError: a loss or metric names a function that is neither built in, registered, nor in
            an open ``custom_object_scope`` (see :mod:`loom.training.saved_functions`).
    """
    from loom import optimizers
    kwargs = dict(config)
    if isinstance(kwargs.get("optimizer"), dict):
        kwargs["optimizer"] = optimizers.deserialize(kwargs["optimizer"])
    kwargs["loss"] = _deserialize_nested(kwargs.get("loss"), "loss")
    kwargs["metrics"] = _deserialize_nested(kwargs.get("metrics"), "metric")
    kwargs["weighted_metrics"] = _deserialize_nested(kwargs.get("weighted_metrics"), "metric")
    return kwargs


def _deserialize_nested(value: Any, kind: str) -> Any:
    if isinstance(value, str):
        return resolve_saved(value, kind)
    if isinstance(value, dict) and value.get("class_name") == "function" and isinstance(value.get("config"), str):
        return resolve_saved(value["config"], kind)  # Keras's entry for a function
    if isinstance(value, dict) and "class_name" in value:
        if kind == "loss":
            from loom import losses
            return losses.deserialize(value)
        from loom import metrics
        return metrics.deserialize(value)
    if isinstance(value, dict):
        return {k: _deserialize_nested(v, kind) for k, v in value.items()}
    if isinstance(value, list):
        return [_deserialize_nested(v, kind) for v in value]
    return value
