"""Knowledge distillation, as ``keras.distillation``: train a small student model from a large teacher.

Example:
    >>> import loom
    >>> sorted(loom.distillation.__all__)
    ['DistillationLoss', 'Distiller', 'FeatureDistillation', 'LogitsDistillation']
"""

from loom.distillation.distillation_loss import DistillationLoss, FeatureDistillation, LogitsDistillation
from loom.distillation.distiller import Distiller

__all__ = ["DistillationLoss", "Distiller", "FeatureDistillation", "LogitsDistillation"]
