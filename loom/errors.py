"""The loom exception family.

Every error loom raises on purpose derives from :class:`LoomError`. The concrete classes also derive from
the built-in exception Keras raises in the same situation, so ``except ValueError`` keeps working.

Example:
    >>> import loom
    >>> try:
    ...     loom.layers.Dense(-1)
    ... except loom.LoomError as e:
    ...     print(type(e).__name__)
    ConfigError
"""


class LoomError(Exception):
    """Base class of every error loom raises deliberately."""


class ShapeError(LoomError, ValueError):
    """Tensor shapes that cannot work together (raised at graph build when possible)."""


class InputError(LoomError, ValueError):
    """Data given to a model or layer that does not match what it expects."""


class ConfigError(LoomError, ValueError):
    """An invalid argument or configuration value."""


class GraphError(LoomError, ValueError):
    """A functional graph that cannot be built (disconnected, cyclic, duplicate names)."""


class ModelFileError(LoomError, ValueError):
    """A saved model or weights file that is missing, truncated, corrupt or unsafe."""


class UnsafeLoadError(ModelFileError):
    """Loading would execute code (Lambda, unregistered class) and ``safe_mode`` is on."""


class UnknownObjectError(ModelFileError, TypeError):
    """A saved config names a function or class that is neither built in, registered nor in ``custom_objects``
    (Keras raises a ``TypeError`` there: "Could not locate function ...")."""


class DatasetNotFoundError(LoomError, FileNotFoundError):
    """A dataset's files are not on disk; the message says how to get them."""


class TrainingError(LoomError, RuntimeError):
    """Training cannot go on, e.g. the loss became NaN or infinite; the message names the epoch and batch."""


class NotSupportedError(LoomError, NotImplementedError):
    """An operation a layer does not implement (quantizing a ``Conv2D``, a mode a layer has no form for); Keras
    raises ``NotImplementedError`` there, and ``Model.quantize`` skips such layers with a warning, as Keras."""
