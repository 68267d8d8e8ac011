"""Ensemble members: one small wrapper per kind of model, all answering ``predict(x) -> np.ndarray``.

* :class:`LoomMember`: a loom model (``model.predict``);
* :class:`TorchMember`: any ``torch.nn.Module`` (run in eval mode, batched, without gradients);
* :class:`SklearnMember`: a fitted scikit-learn estimator (``predict_proba`` for classifiers, else
  ``predict``), fed 2-D features: the inputs flattened, or what a ``features`` function makes of them;
* :class:`CallableMember`: any function of the inputs.

:func:`as_member` picks the wrapper. The ensemble then turns raw outputs into a common form with
:func:`to_probabilities` (classification) or :func:`to_targets` (regression).

Example:
    >>> import numpy as np
    >>> member = as_member(lambda x: np.tile([0.25, 0.75], (len(x), 1)), name="constant")
    >>> member.kind, member.predict(np.zeros((2, 3))).shape
    ('callable', (2, 2))
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable

import numpy as np
import torch

from loom.errors import ConfigError, InputError

OUTPUT_KINDS = ("auto", "probabilities", "logits")
_DEFAULT_BATCH = 256


class Member:
    """Base class: a named model the ensemble can query.

    Args:
        name: the name shown in reports (default: derived from the model).
        outputs: for classification, what the model returns: ``'probabilities'``, ``'logits'`` (softmax, or
            sigmoid for one column, is applied) or ``'auto'`` (default: rows that are not probability
            distributions are taken as logits).
    """

    kind = "member"

    def __init__(self, name: str | None = None, outputs: str = "auto"):
        if outputs not in OUTPUT_KINDS:
            raise ConfigError(f"outputs must be one of {list(OUTPUT_KINDS)}, got {outputs!r}.")
        self.name = name or type(self).__name__
        self.outputs = outputs

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        """The raw outputs for ``x`` as a NumPy array with one row per sample."""
        raise NotImplementedError

    @property
    def is_classifier(self) -> bool | None:
        """``True``/``False`` when the member knows its task, ``None`` when it cannot tell."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


class LoomMember(Member):
    """A loom model; its single output is the member's prediction.

    Example:
        >>> import numpy as np, loom
        >>> model = loom.Sequential([loom.layers.Dense(3, activation="softmax", input_shape=(4,))])
        >>> LoomMember(model).predict(np.zeros((2, 4))).shape
        (2, 3)
    """

    kind = "loom"

    def __init__(self, model: Any, name: str | None = None, outputs: str = "auto"):
        super().__init__(name or getattr(model, "name", None), outputs)
        self.model = model

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        out = self.model.predict(x, batch_size=batch_size or _DEFAULT_BATCH, verbose=0)
        if isinstance(out, (list, tuple, dict)):
            raise ConfigError(f"Member '{self.name}': the model has several outputs; an ensemble member must "
                              f"have one. Wrap it: loom.ensembles.CallableMember(lambda x: model.predict(x)[i]).")
        return np.asarray(out)


class TorchMember(Member):
    """Any ``torch.nn.Module``, called on batches of ``x`` (converted to tensors) without gradients.

    Args:
        module: the module; it is put in eval mode while predicting, then back to its former mode.
        name: see :class:`Member` (default: the class name).
        outputs: see :class:`Member` (default ``'auto'``).

    Example:
        >>> import numpy as np, torch
        >>> member = TorchMember(torch.nn.Linear(4, 3), outputs="logits")
        >>> member.predict(np.zeros((5, 4))).shape
        (5, 3)
    """

    kind = "torch"

    def __init__(self, module: torch.nn.Module, name: str | None = None, outputs: str = "auto"):
        if not isinstance(module, torch.nn.Module):
            raise ConfigError(f"TorchMember needs a torch.nn.Module, got {type(module).__name__}.")
        super().__init__(name or type(module).__name__, outputs)
        self.module = module

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        x = _as_array(x, self.name)
        batch_size = batch_size or _DEFAULT_BATCH
        parameter = next(iter(self.module.parameters()), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        dtype = parameter.dtype if parameter is not None and parameter.is_floating_point() else torch.float32
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                parts = [self._run(x[i:i + batch_size], device, dtype) for i in range(0, len(x), batch_size)]
        finally:
            self.module.train(was_training)
        if not parts:
            raise InputError(f"Member '{self.name}': no samples to predict.")
        return np.concatenate(parts)

    def _run(self, batch: np.ndarray, device: torch.device, dtype: torch.dtype) -> np.ndarray:
        tensor = torch.as_tensor(batch, device=device)
        if tensor.is_floating_point():
            tensor = tensor.to(dtype)
        out = self.module(tensor)
        if not isinstance(out, torch.Tensor):
            raise ConfigError(f"Member '{self.name}': the module returned {type(out).__name__}; an ensemble "
                              f"member must return one tensor.")
        return out.detach().float().cpu().numpy()


class SklearnMember(Member):
    """A fitted scikit-learn estimator: ``predict_proba`` for classifiers, ``predict`` for regressors.

    Inputs become a 2-D feature matrix: ``features(x)`` when a function is given, else ``x`` reshaped to
    ``(samples, -1)`` (images are flattened). Classifiers must have integer classes ``0..k-1`` (missing
    classes get probability 0, so a tree trained on a subset still lines up with a network's columns).

    Args:
        estimator: the fitted estimator.
        name: see :class:`Member` (default: the estimator's class name).
        features: ``features(x) -> 2-D array`` (default ``None``: flatten ``x``). A custom function cannot
            be saved with the ensemble.
        n_threads: limit the native (OpenMP/BLAS) threads while predicting, via ``threadpoolctl`` (default
            ``None``: no limit). ``1`` avoids the large slow-down OpenMP models such as histogram gradient
            boosting suffer on a machine whose cores are busy.

    Example:
        >>> import numpy as np
        >>> from sklearn.linear_model import LogisticRegression
        >>> x, y = np.random.RandomState(0).rand(20, 2, 2), np.arange(20) % 2
        >>> SklearnMember(LogisticRegression().fit(x.reshape(20, 4), y)).predict(x).shape
        (20, 2)
    """

    kind = "sklearn"

    def __init__(self, estimator: Any, name: str | None = None,
                 features: Callable[[Any], np.ndarray] | None = None, n_threads: int | None = None):
        if not callable(getattr(estimator, "predict", None)):
            raise ConfigError(f"SklearnMember needs an estimator with predict(), got {type(estimator).__name__}.")
        if features is not None and not callable(features):
            raise ConfigError(f"features must be a callable x -> 2-D array or None, got {type(features).__name__}.")
        if n_threads is not None and (not isinstance(n_threads, int) or n_threads < 1):
            raise ConfigError(f"n_threads must be None or a positive integer, got {n_threads!r}.")
        super().__init__(name or type(estimator).__name__, "probabilities")
        self.estimator = estimator
        self.features = features
        self.n_threads = n_threads

    @property
    def is_classifier(self) -> bool:
        return callable(getattr(self.estimator, "predict_proba", None))

    def feature_matrix(self, x: Any) -> np.ndarray:
        """``x`` as the 2-D matrix the estimator was trained on."""
        return feature_matrix(x, self.features, self.name)

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        matrix = self.feature_matrix(x)
        with native_threads(self.n_threads):
            if not self.is_classifier:
                return np.asarray(self.estimator.predict(matrix))
            proba = np.asarray(self.estimator.predict_proba(matrix))
        classes = np.asarray(getattr(self.estimator, "classes_", np.arange(proba.shape[1])))
        if classes.dtype.kind not in "iub" or (classes.size and classes.min() < 0):
            raise ConfigError(f"Member '{self.name}': the classes must be integers 0..k-1 to line up with the "
                              f"other members; got {classes[:10].tolist()}. Encode the labels as integers.")
        full = np.zeros((len(proba), int(classes.max()) + 1), dtype=np.float64)
        full[:, classes.astype(np.int64)] = proba
        return full


class CallableMember(Member):
    """Any function ``fn(x) -> array`` (NumPy or a tensor), e.g. a model's first output.

    Example:
        >>> import numpy as np
        >>> CallableMember(lambda x: x.sum(axis=1), name="sum").predict(np.ones((2, 3))).tolist()
        [3.0, 3.0]
    """

    kind = "callable"

    def __init__(self, fn: Callable[[Any], Any], name: str | None = None, outputs: str = "auto"):
        if not callable(fn):
            raise ConfigError(f"CallableMember needs a callable, got {type(fn).__name__}.")
        super().__init__(name or getattr(fn, "__name__", "callable").strip("<>"), outputs)
        self.fn = fn

    def predict(self, x: Any, batch_size: int | None = None) -> np.ndarray:
        out = self.fn(x)
        if isinstance(out, torch.Tensor):
            out = out.detach().float().cpu().numpy()
        return np.asarray(out)


def feature_matrix(x: Any, features: Callable[[Any], np.ndarray] | None = None, name: str = "member") -> np.ndarray:
    """``features(x)`` when given, else ``x`` flattened to ``(samples, -1)``."""
    if features is not None:
        return np.asarray(features(x))
    x = _as_array(x, name)
    return x.reshape(len(x), -1)


def native_threads(limit: int | None):
    """A context limiting OpenMP/BLAS threads to ``limit`` (``None``: no limit)."""
    if limit is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=limit)


def as_member(obj: Any, name: str | None = None) -> Member:
    """The :class:`Member` for a loom model, a ``torch.nn.Module``, a scikit-learn estimator or a callable.

    Raises:
        ConfigError: ``obj`` is none of these; the message lists what works.
    """
    from loom.models import Model
    if isinstance(obj, Member):
        if name:
            obj.name = name
        return obj
    if isinstance(obj, Model):
        return LoomMember(obj, name)
    if isinstance(obj, torch.nn.Module):
        return TorchMember(obj, name)
    if callable(getattr(obj, "predict_proba", None)) or (callable(getattr(obj, "predict", None))
                                                         and callable(getattr(obj, "fit", None))):
        return SklearnMember(obj, name)
    if callable(obj):
        return CallableMember(obj, name)
    raise ConfigError(f"Cannot use a {type(obj).__name__} as an ensemble member; give a loom model, a "
                      f"torch.nn.Module, a fitted scikit-learn estimator (predict_proba or predict), a callable "
                      f"x -> predictions, or a loom.ensembles.Member.")


# ------------------------------------------------------------------------------------- output standardizing
def to_probabilities(raw: np.ndarray, outputs: str, name: str) -> np.ndarray:
    """Raw classifier outputs as float64 probabilities of shape ``(n, classes)``, ``classes >= 2``.

    One column (or a 1-D vector) is the probability of class 1 (a sigmoid output); ``'logits'`` (or
    ``'auto'`` with rows that are not distributions) go through a sigmoid or softmax first.

    Raises:
        InputError: the outputs are not 1-D or 2-D, or hold NaN or infinity.
    """
    out = _finite_float64(raw, name)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim == 1:
        if outputs == "logits" or (outputs == "auto" and (out.min(initial=0) < 0 or out.max(initial=0) > 1)):
            out = 1.0 / (1.0 + np.exp(-out))
        return np.stack([1.0 - out, out], axis=1)
    if out.ndim != 2:
        raise InputError(f"Member '{name}' returned shape {out.shape}; a classifier member must return "
                         f"(samples, classes) or (samples,) / (samples, 1) for one binary probability.")
    if outputs == "logits" or (outputs == "auto" and not _are_distributions(out)):
        shifted = np.exp(out - out.max(axis=1, keepdims=True))
        out = shifted / shifted.sum(axis=1, keepdims=True)
    return out


def to_targets(raw: np.ndarray, name: str) -> np.ndarray:
    """Raw regression outputs as float64 of shape ``(n, outputs)``."""
    out = _finite_float64(raw, name)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2:
        raise InputError(f"Member '{name}' returned shape {out.shape}; a regression member must return "
                         f"(samples,) or (samples, outputs).")
    return out


def _are_distributions(p: np.ndarray) -> bool:
    return bool(p.min(initial=0) >= -1e-6 and p.max(initial=0) <= 1 + 1e-6
                and np.allclose(p.sum(axis=1), 1.0, atol=1e-3))


def _finite_float64(raw: Any, name: str) -> np.ndarray:
    try:
        out = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InputError(f"Member '{name}' returned something that is not numeric: {e}") from e
    if out.ndim == 0:
        raise InputError(f"Member '{name}' returned a scalar; it must return one row per sample.")
    if not np.isfinite(out).all():
        raise InputError(f"Member '{name}' returned NaN or infinite predictions.")
    return out


def _as_array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, dict):
        raise InputError(f"Member '{name}' takes one array of inputs, got a dict; give a "
                         f"features function (scikit-learn members) or wrap the model in a CallableMember.")
    return np.asarray(x)
