"""scikit-learn estimators around loom models, as ``keras.wrappers``.

Example:
    >>> import loom
    >>> sorted(n for n in dir(loom.wrappers) if n.startswith("SKLearn"))
    ['SKLearnClassifier', 'SKLearnRegressor', 'SKLearnTransformer']
"""

from loom.wrappers.sklearn_wrapper import SKLearnClassifier, SKLearnRegressor, SKLearnTransformer

__all__ = ["SKLearnClassifier", "SKLearnRegressor", "SKLearnTransformer"]
