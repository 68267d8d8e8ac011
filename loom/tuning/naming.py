"""How a study is named when the user does not name it: after the model, else after the build function.

A model the user named (``Sequential(..., name="digits_mlp")``) names its study, so optuna-dashboard and
``loom tune`` list searches by what they tune; an automatic model name (``sequential``, ``functional_3``...)
says nothing, so the build function's name is used instead.

Example:
    >>> import loom
    >>> def build_mlp(hp):
    ...     return loom.Sequential([loom.Input((4,)), loom.layers.Dense(hp.Int("units", 2, 8))], name="mlp")
    >>> default_study_name(build_mlp)
    'mlp'
    >>> default_study_name(lambda hp: loom.Sequential([loom.Input((4,)), loom.layers.Dense(2)]))
    'search'
"""

from __future__ import annotations

import re
from typing import Any, Callable

from loom import backend

_AUTO_MODEL_NAME = re.compile(r"(sequential|functional|model)(_\d+)?")


def default_study_name(build: Callable[[Any], Any]) -> str:
    """The name the user gave the model ``build`` makes with default values, else ``build``'s own name.

    Args:
        build: ``build(hp) -> model``; called once with default hyperparameter values.

    Returns:
        The model's name when the user chose it, else ``build.__name__`` when it is an identifier, else
        ``'search'``.
    """
    from loom.tuning.space import HyperParameters
    try:
        name = str(getattr(build(HyperParameters()), "name", "") or "")
    except Exception:  # noqa: BLE001 - a build that needs a real trial still gets its function's name
        name = ""
    finally:
        backend.clear_session()
    if name and not _AUTO_MODEL_NAME.fullmatch(name) and "/" not in name:
        return name
    name = getattr(build, "__name__", "")
    return name if name.isidentifier() else "search"
