"""Training / inference modes that a call sets for its duration and then puts back.

A loom layer called without ``training=`` follows its torch mode once ``train()`` / ``eval()`` has run on it,
and Keras's default for the layer before that (a random augmentation layer augments when called directly).
``fit``, ``evaluate``, ``predict`` and a call with ``training=`` set the modes they need; afterwards every
module gets back the mode it had and whether it had been set, so a direct call behaves as it did before (as in
Keras, where the loops set the mode only for their own calls). Around a user's own ``train_step`` /
``test_step`` / ``predict_step`` the loops set only the torch modules' modes (:func:`custom_step_modes`), as
Keras's torch loops do: a layer the step calls without ``training=`` takes Keras's default.

Example:
    >>> import loom
    >>> model = loom.Sequential([loom.Input((2,)), loom.layers.Dropout(0.5)])
    >>> saved = saved_modes(model)
    >>> _ = model.train()
    >>> restore_modes(saved)
    >>> model.training, "_mode_set" in model.layers[0].__dict__
    (False, False)
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from torch import nn


def saved_modes(root: nn.Module) -> list[tuple[nn.Module, bool, Any]]:
    """Each module under ``root``: its torch mode and whether ``train()`` / ``eval()`` had set it."""
    return [(module, module.training, module.__dict__.get("_mode_set")) for module in root.modules()]


def restore_modes(saved: list[tuple[nn.Module, bool, Any]]) -> None:
    """Put back what :func:`saved_modes` recorded."""
    for module, mode, mode_set in saved:
        _set_training(module, mode)
        if mode_set is None:
            module.__dict__.pop("_mode_set", None)
        else:
            module.__dict__["_mode_set"] = mode_set


def set_mode(module: nn.Module, mode: bool) -> None:
    """What torch's ``module.train(mode)`` does, done directly where the class keeps torch's or loom's ``train``
    (torch's recursion goes through ``__setattr__``, ~5 us a module: a cost ``predict`` would pay twice per
    call); a class with its own ``train`` is asked to set its subtree itself."""
    train = getattr(type(module), "train", None)
    if train is nn.Module.train or getattr(train, "_sets_mode_directly", False):
        set_subtree_mode(module, mode)
    else:
        module.train(mode)


def set_subtree_mode(module: nn.Module, mode: bool) -> None:
    """``module``'s own mode (a loom layer also remembers that it was set), then :func:`set_mode` on its
    children."""
    _set_training(module, mode)
    if hasattr(type(module), "_mode_set"):  # a loom layer
        module.__dict__["_mode_set"] = True
    for child in module._modules.values():
        if child is not None:
            set_mode(child, mode)


def _set_training(module: nn.Module, mode: bool) -> None:
    if "training" in module.__dict__:  # torch keeps it there; a class could make it a property
        module.__dict__["training"] = mode
    else:
        module.training = mode


def custom_step_modes(root: nn.Module, training: bool) -> None:
    """The modes Keras's torch loops give a user's own ``train_step`` / ``test_step`` / ``predict_step``.

    Keras calls ``train()`` / ``eval()`` on the model, which plain torch modules follow, but its layers ignore
    the torch mode: one called without ``training=`` (and outside a call given it) takes its default, inference
    for Dropout and BatchNormalization, augmenting for random preprocessing layers. So plain torch modules get
    ``training`` and every loom layer its fresh, unset mode (a DCGAN's ``self.generator(z)`` in ``train_step``
    keeps BatchNormalization's moving statistics, as in Keras; ``self.generator(z, training=True)`` trains them).
    """
    for module in root.modules():
        if hasattr(type(module), "_mode_set"):  # a loom layer
            _set_training(module, False)
            module.__dict__.pop("_mode_set", None)
        else:
            _set_training(module, training)


def keeps_modes(method: Callable) -> Callable:
    """Decorate a model method (``fit``, ``predict``...) that sets modes: they are put back when it returns."""
    @functools.wraps(method)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        saved = saved_modes(self)
        try:
            return method(self, *args, **kwargs)
        finally:
            restore_modes(saved)
    return wrapper
