"""Global settings, as ``keras.config``: default float type, epsilon, image layout, logging and safety switches.

Every setting lives here as a module-level value read through a function, so code always sees the current
one. ``set_*`` functions validate their argument and raise :class:`~loom.errors.ConfigError` (a
``ValueError``) listing the valid values.

Example:
    >>> from loom import config
    >>> config.backend(), config.floatx(), config.epsilon(), config.image_data_format()
    ('torch', 'float32', 1e-07, 'channels_last')
    >>> config.set_epsilon(1e-5)
    >>> config.epsilon()
    1e-05
    >>> config.set_epsilon(1e-7)
"""

from __future__ import annotations

import warnings
from typing import Any

from loom.errors import ConfigError

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_FLOATX_VALUES = ("bfloat16", "float16", "float32", "float64")
_DATA_FORMATS = ("channels_first", "channels_last")
_state: dict[str, Any] = {"interactive_logging": True, "traceback_filtering": True, "flash_attention": None,
                          "safe_mode": None, "max_epochs": None, "max_steps_per_epoch": None}


def backend() -> str:
    """The name of the backend: always ``'torch'``."""
    return "torch"


def set_backend(backend: str) -> None:
    """Accept ``'torch'`` (loom's only backend); any other name raises :class:`ConfigError`."""
    if backend != "torch":
        raise ConfigError(f"set_backend: loom runs on PyTorch only; backend must be 'torch', got {backend!r}.")


def floatx() -> str:
    """The default float type name of weights and converted data (``'float32'`` unless set)."""
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type: ``'bfloat16'``, ``'float16'``, ``'float32'`` or ``'float64'``."""
    global _FLOATX
    if value not in _FLOATX_VALUES:
        raise ConfigError(f"Unknown `floatx` value: {value!r}. Expected one of {list(_FLOATX_VALUES)}.")
    _FLOATX = str(value)


def epsilon() -> float:
    """The fuzz factor added to denominators (``1e-7`` unless set)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor returned by :func:`epsilon`."""
    global _EPSILON
    _EPSILON = value


def image_data_format() -> str:
    """The image layout layers use when their ``data_format`` is ``None`` (``'channels_last'`` unless set)."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format: str) -> None:
    """Set the default image layout: ``'channels_last'`` or ``'channels_first'`` (any case)."""
    global _IMAGE_DATA_FORMAT
    fmt = str(data_format).lower()
    if fmt not in _DATA_FORMATS:
        raise ConfigError(f"The `data_format` argument must be one of {list(_DATA_FORMATS)}. "
                          f"Received: data_format={data_format!r}")
    _IMAGE_DATA_FORMAT = fmt


def dtype_policy() -> Any:
    """The global dtype policy (a :class:`loom.mixed_precision.DTypePolicy`)."""
    from loom import mixed_precision
    return mixed_precision.dtype_policy()


def set_dtype_policy(policy: Any) -> None:
    """Set the global dtype policy (a name such as ``'mixed_float16'`` or a ``DTypePolicy``)."""
    from loom import mixed_precision
    mixed_precision.set_dtype_policy(policy)


def enable_interactive_logging() -> None:
    """Progress bars and summaries print to stdout (the default)."""
    _state["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Progress bars and summaries go to Python's ``logging`` (logger ``'loom'``) instead of stdout."""
    _state["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """Whether progress output prints to stdout (``True`` by default)."""
    return _state["interactive_logging"]


def enable_traceback_filtering() -> None:
    """Take loom's internal frames out of tracebacks of errors raised by ``fit``, layer calls... (the default).

    See :mod:`loom.traceback_utils`: what is left is the user's code, the code it reached (torch's frames
    included) and one line of the loom entry point that re-raised the error.
    """
    _state["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Show full tracebacks, loom's internal frames included (to debug loom itself)."""
    _state["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    """Whether tracebacks leave loom's internal frames out (``True`` by default, as Keras)."""
    return _state["traceback_filtering"]


def enable_flash_attention() -> None:
    """Ask attention layers to use flash attention (torch's fused scaled-dot-product kernels)."""
    _state["flash_attention"] = True


def disable_flash_attention() -> None:
    """Ask attention layers not to use flash attention."""
    _state["flash_attention"] = False


def is_flash_attention_enabled() -> bool | None:
    """``True`` / ``False`` after enable/disable; ``None`` (the default) lets each layer decide."""
    return _state["flash_attention"]


def is_nnx_enabled() -> bool:
    """Always ``False``: Flax NNX exists only on Keras's JAX backend."""
    return False


def enable_unsafe_deserialization() -> None:
    """Turn safe mode off for every load from now on (Lambda layers and unregistered classes load).

    Only do this for files you trust: a Lambda's code runs when the model runs.
    """
    _state["safe_mode"] = False


def in_safe_mode() -> bool | None:
    """``False`` after :func:`enable_unsafe_deserialization`, else ``None`` (each call's ``safe_mode`` rules)."""
    return _state["safe_mode"]


def max_epochs() -> int | None:
    """The cap on epochs ``fit`` runs (``None``: no cap), as ``keras.config.max_epochs``."""
    return _state["max_epochs"]


def set_max_epochs(max_epochs: int | None) -> None:
    """Cap the epochs every ``fit`` runs (``None`` removes the cap); handy to smoke-test scripts."""
    _state["max_epochs"] = _positive_or_none(max_epochs, "max_epochs")


def max_steps_per_epoch() -> int | None:
    """The cap on steps per epoch in ``fit`` (``None``: no cap)."""
    return _state["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Cap the batches each ``fit`` epoch runs (``None`` removes the cap)."""
    _state["max_steps_per_epoch"] = _positive_or_none(max_steps_per_epoch, "max_steps_per_epoch")


def fit_limits(epochs: int, steps_per_epoch: int | None) -> tuple[int, int | None]:
    """``fit``'s ``epochs`` and ``steps_per_epoch`` capped by :func:`max_epochs` / :func:`max_steps_per_epoch`,
    with a warning when a cap applies, as Keras."""
    cap = _state["max_epochs"]
    if cap is not None and cap < epochs:
        warnings.warn(f"Limiting epochs to {cap} (loom.config.max_epochs()).", stacklevel=3)
        epochs = cap
    cap = _state["max_steps_per_epoch"]
    if cap is not None and (steps_per_epoch is None or cap < steps_per_epoch):
        warnings.warn(f"Limiting steps_per_epoch to {cap} (loom.config.max_steps_per_epoch()).", stacklevel=3)
        steps_per_epoch = cap
    return epochs, steps_per_epoch


def _positive_or_none(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"set_{name}: {name} must be a positive integer or None, got {value!r}.")
    return value
