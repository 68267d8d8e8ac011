"""Checks of what ``fit`` / ``evaluate`` / ``predict`` are given, made before any step runs.

Two kinds:

* **Arguments** (:func:`check_fit_arguments`, :func:`check_loop_arguments`): ``batch_size``, ``epochs``,
  ``steps_per_epoch``, ``validation_freq``... of the wrong type or out of range raise
  :class:`~loom.errors.ConfigError` naming the method, the argument and the value, instead of training
  silently (``batch_size=0``) or failing inside torch (``predict(batch_size=-4)``).
* **Class labels** (:class:`LabelRanges`): integer targets of a ``sparse_categorical_crossentropy`` output
  must lie in ``[0, classes)``, where ``classes`` is the output's last dimension; otherwise torch fails deep
  inside ``nll_loss`` with ``Target 7 is out of bounds``. In-memory targets are checked once per call, on the
  tensor as given (one min / max reduction, before the data moves to the device); streamed batches are
  checked as they are converted, before they are copied to the device.

Example:
    >>> import numpy as np, loom
    >>> model = loom.Sequential([loom.layers.Dense(3, activation="softmax", input_shape=(2,), name="dense")])
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> try:
    ...     model.fit(np.zeros((4, 2)), np.array([0, 1, 2, 7]), verbose=0)
    ... except loom.errors.InputError as e:
    ...     print(str(e)[:57])
    Targets for output 'dense' hold the label 7, but its loss
    >>> try:
    ...     model.fit(np.zeros((4, 2)), np.array([0, 1, 2, 1]), batch_size=0, verbose=0)
    ... except loom.errors.ConfigError as e:
    ...     print(e)
    fit(): batch_size must be a positive integer (or None for 32); got 0.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

import torch

from loom.errors import ConfigError, InputError

_SPARSE_LOSSES = ("sparse_categorical_crossentropy",)


# ---------------------------------------------------------------------------------------------- arguments
def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int_or_none(method: str, name: str, value: Any, default: str = "") -> None:
    """Raise ``ConfigError`` unless ``value`` is ``None`` or an integer >= 1."""
    if value is None or (_is_int(value) and value >= 1):
        return
    extra = f" (or None{' for ' + default if default else ''})"
    raise ConfigError(f"{method}(): {name} must be a positive integer{extra}; got {value!r}.")


def _as_int(value: Any) -> int | None:
    return None if value is None else int(value)


def check_loop_arguments(method: str, batch_size: Any = None, steps: Any = None) -> tuple[int | None, int | None]:
    """``batch_size`` and ``steps`` of ``evaluate`` / ``predict``, as Python ints (NumPy integers accepted).

    Raises:
        ConfigError: either is not ``None`` or a positive integer.
    """
    positive_int_or_none(method, "batch_size", batch_size, "32")
    positive_int_or_none(method, "steps", steps, "the whole data")
    return _as_int(batch_size), _as_int(steps)


def check_fit_arguments(batch_size: Any, epochs: Any, steps_per_epoch: Any, validation_steps: Any,
                        validation_batch_size: Any, validation_freq: Any, initial_epoch: Any,
                        validation_split: Any) -> tuple:
    """Every numeric argument of ``fit``, before any data is touched.

    Returns:
        ``(batch_size, epochs, steps_per_epoch, validation_steps, validation_batch_size)`` as Python ints.

    Raises:
        ConfigError: a value of the wrong type or out of range; the message names it and what is allowed.
    """
    positive_int_or_none("fit", "batch_size", batch_size, "32")
    positive_int_or_none("fit", "steps_per_epoch", steps_per_epoch, "one pass over the data")
    positive_int_or_none("fit", "validation_steps", validation_steps, "all validation data")
    positive_int_or_none("fit", "validation_batch_size", validation_batch_size, "batch_size")
    if not (_is_int(epochs) and epochs >= 0):
        raise ConfigError(f"fit(): epochs must be an integer >= 0; got {epochs!r}.")
    if not (_is_int(initial_epoch) and initial_epoch >= 0):
        raise ConfigError(f"fit(): initial_epoch must be an integer >= 0; got {initial_epoch!r}.")
    if isinstance(validation_split, bool) or not isinstance(validation_split, numbers.Real) \
            or not 0 <= validation_split < 1:
        raise ConfigError(f"fit(): validation_split must be a float in [0, 1); got {validation_split!r}.")
    check_validation_freq(validation_freq)
    return (_as_int(batch_size), int(epochs), _as_int(steps_per_epoch), _as_int(validation_steps),
            _as_int(validation_batch_size))


def check_validation_freq(freq: Any) -> None:
    """``validation_freq``: a positive integer, or a list / tuple / set of positive epoch numbers (1-based)."""
    if _is_int(freq):
        if freq < 1:
            raise ConfigError(f"fit(): validation_freq must be a positive integer or a list of epochs; got {freq}.")
        return
    if isinstance(freq, (list, tuple, set)) and all(_is_int(e) and e >= 1 for e in freq):
        return
    raise ConfigError(f"fit(): validation_freq must be an int or a list of epoch numbers (1-based); got "
                      f"{freq!r:.60} ({type(freq).__name__}).")


def check_not_empty(num_samples: int, what: str = "x") -> None:
    """Raise ``InputError`` for data with no samples (``fit`` would otherwise fail inside autograd)."""
    if num_samples == 0:
        raise InputError(f"The data has 0 samples (`{what}` is empty): fit / evaluate / predict need at least one.")


# ------------------------------------------------------------------------------------------------- labels
class LabelRanges:
    """The valid class labels of each output trained with a sparse (integer-label) loss.

    Args:
        loss_plan: the resolved losses (:class:`loom.training.compile_utils.LossPlan`).
        output_names: the model's output names.
        output_shapes: the outputs' shapes; the last dimension is the number of classes.
    """

    def __init__(self, loss_plan: Any, output_names: Sequence[str], output_shapes: Sequence[tuple]):
        self.entries: list[tuple[int, str, str, int, int | None]] = []
        for i, loss, _, _ in loss_plan.entries:
            kind = loss_plan.kinds.get(i, "")
            classes = output_shapes[i][-1] if len(output_shapes[i]) else None
            if kind not in _SPARSE_LOSSES or classes is None:
                continue
            ignore = getattr(loss, "ignore_class", None)
            if ignore is None:
                ignore = (getattr(loss, "fn_kwargs", None) or {}).get("ignore_class")
            self.entries.append((i, output_names[i], kind, int(classes), ignore))

    def __bool__(self) -> bool:
        return bool(self.entries)

    def check(self, ys: Sequence[torch.Tensor]) -> None:
        """Raise ``InputError`` when a label is outside ``[0, classes)`` (the ignored class excepted).

        One min / max reduction per checked target; a single read back to the host for all of them.
        """
        if not self.entries:
            return
        extremes = []
        for i, _, _, _, ignore in self.entries:
            y = ys[i].detach()
            if y.numel() == 0:
                extremes.append(torch.zeros(2, dtype=torch.float64, device=y.device))
                continue
            if ignore is not None:
                y = y[y != ignore]
                if y.numel() == 0:
                    extremes.append(torch.zeros(2, dtype=torch.float64, device=y.device))
                    continue
            extremes.append(torch.stack([y.min(), y.max()]).double())
        values = torch.stack([e.cpu() for e in extremes]).tolist()
        for (low, high), (_, name, kind, classes, _) in zip(values, self.entries):
            bad = low if low < 0 else high if high >= classes else None
            if bad is not None:
                label = int(bad) if float(bad).is_integer() else bad
                hint = ("Labels cannot be negative." if bad < 0 else
                        f"Check the labels, or give the output at least {int(bad) + 1} units.")
                raise InputError(f"Targets for output '{name}' hold the label {label}, but its loss '{kind}' "
                                 f"needs class indices in 0..{classes - 1} (the output has {classes} classes). "
                                 f"{hint}")
