"""Models: functional ``Model``, ``Sequential``, and loading saved models."""

from loom.models.functional import Model
from loom.models.sequential import Sequential


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a model saved with ``model.save(path)`` (a ``.loom`` file). See :mod:`loom.models.saving`."""
    from loom.models.saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


__all__ = ["Model", "Sequential", "load_model"]
