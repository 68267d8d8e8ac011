"""Ensembles (*Deep Learning with Python*, 7.3.3): combine diverse good models, weighted by what validation
data says.

Example:
    >>> import numpy as np
    >>> from loom.ensembles import Ensemble
    >>> x, y = np.zeros((4, 1)), np.array([0, 1, 1, 0])
    >>> sharp = lambda x: np.eye(2)[y] * 0.9 + 0.05
    >>> vague = lambda x: np.full((len(x), 2), 0.5)
    >>> ens = Ensemble({"sharp": sharp, "vague": vague}, task="classification").fit_weights(x, y)
    >>> ens.weights.round(3).tolist()
    [1.0, 0.0]
"""

from loom.ensembles.ensemble import METHODS, Ensemble
from loom.ensembles.from_search import ensemble_from_tuner
from loom.ensembles.members import CallableMember, LoomMember, Member, SklearnMember, TorchMember, as_member
from loom.ensembles.report import EnsembleReport, EnsembleWarning
from loom.ensembles.scoring import Scorer
from loom.ensembles.storage import load
from loom.ensembles.trees import TREE_KINDS, tree_member

__all__ = ["METHODS", "TREE_KINDS", "CallableMember", "Ensemble", "EnsembleReport", "EnsembleWarning",
           "LoomMember", "Member", "Scorer", "SklearnMember", "TorchMember", "as_member", "ensemble_from_tuner",
           "load", "tree_member"]
