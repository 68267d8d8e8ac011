"""Ensemble selection: greedy forward selection of members with replacement (Caruana et al., 2004,
"Ensemble Selection from Libraries of Models", ICML).

Start from the ``init_size`` best members (sorted initialization); then, ``iterations`` times, add the member
(possibly one already in) whose addition gives the best averaged ensemble on the validation data. The bag
from the best step is kept, so the selection is never worse than the best single member on that data. A
member added ``c`` times out of ``n`` gets weight ``c / n``.

Example:
    >>> import numpy as np
    >>> from loom.ensembles.scoring import get_scorer
    >>> y = np.array([0, 1])
    >>> a = np.array([[0.9, 0.1], [0.5, 0.5]])  # right on the first sample
    >>> b = np.array([[0.5, 0.5], [0.1, 0.9]])  # right on the second
    >>> c = np.array([[0.1, 0.9], [0.9, 0.1]])  # always wrong
    >>> selection = caruana_selection(np.stack([a, b, c]), y, get_scorer("log_loss", "classification"))
    >>> selection.weights.tolist()
    [0.5, 0.5, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loom.errors import ConfigError
from loom.ensembles.scoring import Scorer


@dataclass
class Selection:
    """What :func:`caruana_selection` chose.

    Attributes:
        weights: selection counts divided by their total (non-negative, sum 1).
        counts: how many times each member was picked in the kept bag.
        loss: the validation loss of the kept bag.
        history: the loss after each step (initialization first).
    """

    weights: np.ndarray
    counts: np.ndarray
    loss: float
    history: list[float]


def caruana_selection(predictions: np.ndarray, y: np.ndarray, scorer: Scorer, iterations: int = 50,
                      init_size: int = 1) -> Selection:
    """Greedy forward selection with replacement on stacked member predictions ``(members, samples, ...)``.

    Args:
        predictions: member predictions in the ensemble's common form.
        y: the targets (integer labels for classification).
        scorer: the metric (greater-is-better metrics are maximized).
        iterations: how many members to add after the initialization (default 50).
        init_size: how many of the best single members start the bag (default 1).

    Raises:
        ConfigError: ``iterations`` < 0 or ``init_size`` not in ``[1, members]``.
    """
    members = predictions.shape[0]
    if not isinstance(iterations, int) or iterations < 0:
        raise ConfigError(f"iterations must be an integer >= 0, got {iterations!r}.")
    if not isinstance(init_size, int) or not 1 <= init_size <= members:
        raise ConfigError(f"init_size must be an integer from 1 to the number of members ({members}), "
                          f"got {init_size!r}.")
    single = [scorer.as_loss(y, p) for p in predictions]
    counts = np.zeros(members, dtype=np.int64)
    counts[np.argsort(single, kind="stable")[:init_size]] = 1
    total = np.tensordot(counts.astype(np.float64), predictions, axes=1)
    history = [scorer.as_loss(y, total / counts.sum())]
    best_loss, best_counts = history[0], counts.copy()
    for _ in range(iterations):
        size = counts.sum() + 1
        losses = [scorer.as_loss(y, (total + predictions[j]) / size) for j in range(members)]
        pick = int(np.argmin(losses))
        counts[pick] += 1
        total += predictions[pick]
        history.append(float(losses[pick]))
        if losses[pick] < best_loss - 1e-12 * max(1.0, abs(best_loss)):  # a real gain, not rounding noise
            best_loss, best_counts = float(losses[pick]), counts.copy()
    return Selection(best_counts / best_counts.sum(), best_counts, float(best_loss), history)
