"""Deep + shallow: scikit-learn tree models trained on the same data as a network, ready to join its ensemble.

The book recommends ensembling models that are good *and different*, e.g. a deep network with a gradient
boosted tree model. :func:`tree_member` trains a random forest, extra trees or histogram gradient boosting
on the inputs flattened to ``(samples, features)`` (images become pixel vectors) or on what a ``features``
function computes from them, and returns a :class:`~loom.ensembles.members.SklearnMember` that applies the
same transformation when the ensemble predicts.

Example:
    >>> import numpy as np
    >>> rng = np.random.RandomState(0)
    >>> x = rng.rand(200, 4, 4).astype("float32")
    >>> y = (x[:, 0, 0] > 0.5).astype("int64")
    >>> member = tree_member(x, y, kind="random_forest", n_estimators=20)
    >>> member.name, member.predict(x[:3]).shape
    ('random_forest', (3, 2))
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from loom.errors import ConfigError, InputError
from loom.ensembles.members import SklearnMember, feature_matrix, native_threads

TREE_KINDS = ("hist_gradient_boosting", "random_forest", "extra_trees")
_TASKS = ("auto", "classification", "regression")


def tree_member(x: Any, y: Any, kind: str = "hist_gradient_boosting", task: str = "auto",
                features: Callable[[Any], np.ndarray] | None = None, max_samples: int | None = None,
                seed: int = 0, name: str | None = None, n_threads: int | None = None,
                **params: Any) -> SklearnMember:
    """Train a scikit-learn tree model on ``(x, y)`` and wrap it as an ensemble member.

    Args:
        x: training inputs (any shape: flattened to ``(samples, -1)``) or what ``features`` takes.
        y: training targets: integer labels or one-hot rows (classification), numbers (regression).
        kind: ``'hist_gradient_boosting'`` (default), ``'random_forest'`` or ``'extra_trees'``.
        task: ``'classification'``, ``'regression'`` or ``'auto'`` (default: classification for integer
            or one-hot targets).
        features: ``features(x) -> 2-D array`` (default ``None``: flatten). It is also applied at prediction
            time; a custom function cannot be saved with the ensemble.
        max_samples: train on a random subset of this many samples, to keep training fast (default ``None``:
            all of them).
        seed: the seed of the subset and of the model (default 0).
        name: the member's name (default: ``kind``).
        n_threads: limit native threads while training and predicting (default ``None``: no limit; ``1`` is
            much faster for histogram gradient boosting when other processes keep the cores busy).
        **params: passed to the scikit-learn estimator (e.g. ``max_iter=100``, ``n_estimators=200``).

    Returns:
        A fitted :class:`~loom.ensembles.members.SklearnMember`.

    Raises:
        ConfigError: an unknown ``kind`` or ``task``, or parameters the estimator does not take.
        InputError: ``x`` and ``y`` have different lengths.
    """
    if kind not in TREE_KINDS:
        raise ConfigError(f"Unknown tree kind {kind!r}; valid: {list(TREE_KINDS)}.")
    if task not in _TASKS:
        raise ConfigError(f"Unknown task {task!r}; valid: {list(_TASKS)}.")
    matrix = feature_matrix(x, features, name or kind)
    target = np.asarray(y)
    if len(matrix) != len(target):
        raise InputError(f"tree_member: x has {len(matrix)} samples but y has {len(target)}.")
    if task == "auto":
        task = "classification" if _looks_like_labels(target) else "regression"
    if task == "classification" and target.ndim == 2 and target.shape[1] > 1:
        target = target.argmax(axis=1)
    elif target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    if max_samples is not None and max_samples < len(matrix):
        rows = np.sort(np.random.RandomState(seed).choice(len(matrix), max_samples, replace=False))
        matrix, target = matrix[rows], target[rows]
    estimator = _estimator(kind, task, seed, params)
    member = SklearnMember(estimator, name=name or kind, features=features, n_threads=n_threads)
    with native_threads(n_threads):
        estimator.fit(matrix, target.astype(np.int64) if task == "classification" else target)
    return member


def _estimator(kind: str, task: str, seed: int, params: dict) -> Any:
    from sklearn import ensemble as trees
    classes = {
        ("hist_gradient_boosting", "classification"): trees.HistGradientBoostingClassifier,
        ("hist_gradient_boosting", "regression"): trees.HistGradientBoostingRegressor,
        ("random_forest", "classification"): trees.RandomForestClassifier,
        ("random_forest", "regression"): trees.RandomForestRegressor,
        ("extra_trees", "classification"): trees.ExtraTreesClassifier,
        ("extra_trees", "regression"): trees.ExtraTreesRegressor,
    }
    cls = classes[(kind, task)]
    try:
        return cls(**{"random_state": seed, **params})
    except TypeError as e:
        raise ConfigError(f"{cls.__name__} does not take these parameters: {e}") from e


def _looks_like_labels(y: np.ndarray) -> bool:
    if y.dtype.kind in "iub":
        return y.ndim == 1 or y.shape[1:] in ((1,), ) or _is_one_hot(y)
    return y.ndim == 2 and y.shape[1] > 1 and _is_one_hot(y)


def _is_one_hot(y: np.ndarray) -> bool:
    return y.ndim == 2 and y.shape[1] > 1 and bool(np.all((y == 0) | (y == 1)) and np.all(y.sum(axis=1) == 1))

