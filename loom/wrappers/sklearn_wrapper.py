"""``SKLearnClassifier``, ``SKLearnRegressor``, ``SKLearnTransformer``: loom models as scikit-learn estimators.

Each wraps a compiled loom model, or a function ``model(X=..., y=..., **model_kwargs)`` that builds and
compiles one for the data it is given, so the model can sit in scikit-learn pipelines, grid searches and
cross-validation, as Keras's ``keras.wrappers``. ``fit`` builds a fresh model (a compiled model passed in
is cloned) unless ``warm_start=True`` and one was fitted before; the classifier one-hot encodes the labels
and ``predict`` returns labels of the kind it was given (``classes_``); the regressor returns 1-D
predictions for 1-D targets; the transformer's ``transform`` is the model's ``predict``.

Example:
    >>> import numpy as np, loom
    >>> from loom.wrappers import SKLearnRegressor
    >>> def build(X, y):
    ...     model = loom.Sequential([loom.Input((X.shape[1],)), loom.layers.Dense(1)])
    ...     model.compile(optimizer="sgd", loss="mse")
    ...     return model
    >>> X, y = np.ones((8, 3), "float32"), np.zeros(8, "float32")
    >>> SKLearnRegressor(build, fit_kwargs={"epochs": 1, "verbose": 0}).fit(X, y).predict(X).shape
    (8,)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from loom.errors import ConfigError, InputError

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]


class _SKLearnBase(BaseEstimator):
    """What the three estimators share: building or cloning the model, fitting, predicting."""

    def __init__(self, model: Any, warm_start: bool = False, model_kwargs: dict | None = None,
                 fit_kwargs: dict | None = None) -> None:
        self.model = model
        self.warm_start = warm_start
        self.model_kwargs = model_kwargs
        self.fit_kwargs = fit_kwargs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = True
        return tags

    @property
    def epoch_(self) -> int:
        """Epochs run by the last ``fit``."""
        history = getattr(self, "history_", None)
        return len(history.epoch) if history is not None else 0

    def _get_model(self, X: np.ndarray, y: np.ndarray) -> Any:
        from loom.models import Model, clone_model
        if self.warm_start and hasattr(self, "model_"):
            return self.model_
        if isinstance(self.model, Model):
            clone = clone_model(self.model)
            clone.compile(**self.model.get_compile_config())
            return clone
        if not callable(self.model):
            raise ConfigError(f"{type(self).__name__}: `model` must be a compiled loom Model or a function "
                              f"model(X, y, **model_kwargs) returning one; got {type(self.model).__name__}.")
        return self.model(X=X, y=y, **(self.model_kwargs or {}))

    def fit(self, X: Any, y: Any, **kwargs: Any) -> "_SKLearnBase":
        """Fit a model on ``X`` and ``y``; ``kwargs`` go to ``model.fit`` (over ``fit_kwargs``). Returns ``self``."""
        X, y = validate_data(self, X, y, dtype=None, multi_output=True)
        y = self._encode_target(np.asarray(y), reset=True)
        model = self._get_model(X, y)
        _check_compiled(model, type(self).__name__)
        self.history_ = model.fit(X, y, **{**(self.fit_kwargs or {}), **kwargs})
        self.model_ = model
        return self

    def predict(self, X: Any) -> np.ndarray:
        """The fitted model's predictions for ``X``, as the targets ``fit`` was given."""
        return self._decode_target(self._raw_predict(X))

    def _raw_predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, dtype=None, reset=False)
        return np.asarray(self.model_.predict(X, verbose=0))

    def _encode_target(self, y: np.ndarray, reset: bool) -> np.ndarray:
        if reset:
            self._target_ndim = y.ndim
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _decode_target(self, y: np.ndarray) -> np.ndarray:
        return y.reshape(-1) if self._target_ndim == 1 and y.ndim == 2 and y.shape[1] == 1 else y


class SKLearnClassifier(ClassifierMixin, _SKLearnBase):
    """A loom classifier as a scikit-learn estimator (labels one-hot encoded for the model).

    Args:
        model: a compiled :class:`loom.Model` (cloned at each ``fit``) or a function
            ``model(X=..., y=..., **model_kwargs)`` returning a compiled model for one-hot targets ``y``.
        warm_start: keep training the fitted model on the next ``fit`` (default ``False``).
        model_kwargs: keyword arguments for the model function (default ``None``).
        fit_kwargs: keyword arguments for ``model.fit`` (default ``None``); ``fit``'s own take precedence.

    Attributes:
        model_: the fitted model. history_: what ``model.fit`` returned. classes_: the class labels.

    Example:
        >>> import numpy as np, loom
        >>> def build(X, y):
        ...     model = loom.Sequential([loom.Input((X.shape[1],)),
        ...                              loom.layers.Dense(y.shape[1], activation="softmax")])
        ...     model.compile(optimizer="adam", loss="categorical_crossentropy")
        ...     return model
        >>> X = np.eye(4, dtype="float32")
        >>> clf = SKLearnClassifier(build, fit_kwargs={"epochs": 1, "verbose": 0}).fit(X, ["a", "b", "a", "b"])
        >>> clf.classes_.tolist(), clf.predict(X).shape
        (['a', 'b'], (4,))
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.poor_score = True
        return tags

    def decision_function(self, X: Any) -> np.ndarray:
        """The model's raw outputs (class scores) for ``X``."""
        return self._raw_predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """The model's outputs for ``X`` (probabilities when the model ends in a softmax)."""
        return self._raw_predict(X)

    def _encode_target(self, y: np.ndarray, reset: bool) -> np.ndarray:
        kind = type_of_target(y)
        if kind not in ("binary", "multiclass"):
            raise InputError(f"SKLearnClassifier: only binary and multiclass targets are supported; the target is "
                             f"{kind}.")
        y = super()._encode_target(y, reset)
        if reset:
            self._encoder = OneHotEncoder(sparse_output=False).fit(y)
            self.classes_ = self._encoder.categories_[0]
            if len(self.classes_) < 2:
                raise InputError(f"SKLearnClassifier: the target holds one class only ({self.classes_[0]!r}).")
        return self._encoder.transform(y).astype("float32")

    def _decode_target(self, y: np.ndarray) -> np.ndarray:
        labels = self.classes_[np.argmax(y, axis=-1)]
        return labels if self._target_ndim == 1 else labels.reshape(-1, 1)


class SKLearnRegressor(RegressorMixin, _SKLearnBase):
    """A loom regressor as a scikit-learn estimator (1-D targets give 1-D predictions).

    Args: ``model``, ``warm_start``, ``model_kwargs``, ``fit_kwargs``, as :class:`SKLearnClassifier`.

    Example:
        >>> import numpy as np, loom
        >>> model = loom.Sequential([loom.Input((2,)), loom.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> reg = SKLearnRegressor(model, fit_kwargs={"epochs": 1, "verbose": 0})
        >>> reg.fit(np.ones((4, 2)), np.ones(4)).predict(np.ones((4, 2))).shape
        (4,)
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.regressor_tags.poor_score = True
        return tags


class SKLearnTransformer(TransformerMixin, _SKLearnBase):
    """A loom model as a scikit-learn transformer: ``transform(X)`` is the fitted model's ``predict``.

    Args: ``model``, ``warm_start``, ``model_kwargs``, ``fit_kwargs``, as :class:`SKLearnClassifier`.

    Example:
        >>> import numpy as np, loom
        >>> model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(2)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> t = SKLearnTransformer(model, fit_kwargs={"epochs": 1, "verbose": 0})
        >>> t.fit(np.ones((4, 3)), np.ones((4, 2))).transform(np.ones((5, 3))).shape
        (5, 2)
    """

    def transform(self, X: Any) -> np.ndarray:
        """The fitted model's outputs for ``X``."""
        return self._raw_predict(X)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


def _check_compiled(model: Any, owner: str) -> None:
    if not getattr(model, "compiled", False) or not getattr(model, "loss", None) or model.optimizer is None:
        raise ConfigError(f"{owner}: the model must be compiled with a loss and an optimizer before fit.")


