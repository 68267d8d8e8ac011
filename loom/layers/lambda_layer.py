"""``Lambda``: wrap a plain function of tensors as a layer.

Saving a Lambda stores *where its function lives* (module and qualified name) when it can be imported,
else its source text. Loading such a config runs code, so :meth:`Lambda.from_config` refuses it unless
called with ``safe_mode=False`` (or the function is given in ``custom_objects``).

Example:
    >>> import loom
    >>> x = loom.Input((4,))
    >>> loom.layers.Lambda(lambda t: t * 2)(x).shape
    (None, 4)
"""

from __future__ import annotations

import ast
import importlib
import inspect
import math
import textwrap
from typing import Any, Callable

import numpy as np
import torch

from loom.errors import ConfigError, UnsafeLoadError
from loom.layers.layer import Layer


class Lambda(Layer):
    """Call ``function(inputs, **arguments)``; shapes are inferred by running it on placeholders.

    Args:
        function: a callable taking the input tensor (or list of tensors). If it has a ``mask`` or
            ``training`` parameter, the input mask / the layer's training mode are passed.
        output_shape: Keras's hint for the output shape; kept in the config only, since loom infers shapes
            by running ``function`` (default ``None``).
        mask: a callable ``mask(inputs, mask) -> mask`` or a fixed mask for the output (default ``None``:
            no mask).
        arguments: extra keyword arguments for ``function`` (default ``None``).

    Input shape:
        whatever ``function`` accepts.

    Output shape:
        what ``function`` returns (``output_shape`` when given).

    Returns:
        ``function(inputs, **arguments)``.

    Raises:
        ConfigError: ``function`` is not callable, or ``output_shape`` is malformed.

    Example:
        >>> import torch
        >>> Lambda(torch.square)(torch.tensor([3.0]))
        tensor([9.])
    """

    _inference_in_pieces = False  # runs code loom does not know

    def __init__(self, function: Callable, output_shape: Any = None, mask: Any = None,
                 arguments: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ConfigError(f"Lambda '{self.name}': function must be callable, got {type(function).__name__}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        params = _parameter_names(function)
        self._fn_expects_mask = "mask" in params
        self._fn_expects_training = "training" in params
        self.built = True

    def call(self, inputs, mask=None):
        kwargs = dict(self.arguments)
        if self._fn_expects_mask:
            kwargs["mask"] = mask
        if self._fn_expects_training:
            kwargs["training"] = self.training
        return self.function(inputs, **kwargs)

    def compute_mask(self, inputs, mask=None):
        if callable(self.mask):
            return self.mask(inputs, mask)
        return self.mask

    def get_config(self):
        config = {**super().get_config(), "function": serialize_function(self.function)}
        if self._output_shape is not None:
            shape = self._output_shape
            config["output_shape"] = serialize_function(shape) if callable(shape) else shape
        if self.mask is not None:
            if not callable(self.mask):
                raise ConfigError(f"Lambda '{self.name}': only a callable mask can be saved in a config.")
            config["mask"] = serialize_function(self.mask)
        config["arguments"] = self.arguments
        return config

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None, safe_mode: bool = True) -> "Lambda":
        """Rebuild a Lambda; its function comes from ``custom_objects`` or, with ``safe_mode=False``, from code.

        Raises:
            UnsafeLoadError: the function is not in ``custom_objects`` and ``safe_mode`` is on.
        """
        config = dict(config)
        name = config.get("name", "lambda")
        for key in ("function", "output_shape", "mask"):
            value = config.get(key)
            if isinstance(value, dict) and ("source" in value or "qualname" in value):
                config[key] = deserialize_function(value, custom_objects, safe_mode, f"Lambda '{name}'")
        if isinstance(config.get("output_shape"), list):
            config["output_shape"] = tuple(config["output_shape"])
        return cls(**config)


def _parameter_names(fn: Callable) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


# ------------------------------------------------------------------------------ function (de)serialization
def _importable(fn: Callable) -> bool:
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        return False
    try:
        return _resolve(module, qualname) is fn
    except (ImportError, AttributeError):
        return False


def _resolve(module: str, qualname: str) -> Any:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def serialize_function(fn: Callable) -> dict:
    """``{'module', 'qualname'}`` for an importable function, else ``{'module', 'name', 'source'}``.

    Raises:
        ConfigError: the function is neither importable nor has retrievable source (e.g. typed in a REPL), or
            loom made it and marked why it cannot be saved (``fn.unsaveable``: an op on placeholders that Keras
            has no operation for).
    """
    reason = getattr(fn, "unsaveable", None)
    if isinstance(reason, str):
        raise ConfigError(reason)
    module = getattr(fn, "__module__", None)
    if _importable(fn):
        return {"module": module, "qualname": fn.__qualname__}
    source = _function_source(fn)
    if source is None:
        raise ConfigError(f"Cannot save function {fn!r}: it is not importable by module and name, and its source "
                          f"is not available. Define it at module level in an importable file.")
    return {"module": module, "name": getattr(fn, "__name__", "<lambda>"), "source": source}


def _function_source(fn: Callable) -> str | None:
    try:
        text = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    if getattr(fn, "__name__", "") != "<lambda>":
        return text
    return _lambda_expression(text, fn)


def _lambda_expression(text: str, fn: Callable) -> str | None:
    """The ``lambda ...: ...`` expression of ``fn`` inside the source line(s) ``text``."""
    tree = None
    for candidate in (text, f"(\n{text}\n)", text.rstrip().rstrip(",").rstrip("\\")):
        try:
            tree = ast.parse(candidate)
            text = candidate
            break
        except SyntaxError:
            continue
    if tree is None:
        return None
    code = fn.__code__
    wanted = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    for node in ast.walk(tree):
        if isinstance(node, ast.Lambda):
            args = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
            if args == wanted:
                return ast.get_source_segment(text, node)
    return None


def _namespace(module: str | None) -> dict:
    namespace: dict = {"torch": torch, "np": np, "numpy": np, "math": math}
    import loom
    namespace.update({"loom": loom, "keras": loom, "ops": torch})
    if module:
        try:
            namespace.update(vars(importlib.import_module(module)))
        except ImportError:
            pass
    return namespace


def deserialize_function(config: dict, custom_objects: dict | None, safe_mode: bool, owner: str) -> Callable:
    """The function described by :func:`serialize_function`.

    ``custom_objects`` (by name) is used first and is always allowed. Otherwise importing a module or
    executing source runs code, which needs ``safe_mode=False``.

    Raises:
        UnsafeLoadError: ``safe_mode`` is on and the function is not in ``custom_objects``.
        ConfigError: the function cannot be found or its source does not define it.
    """
    name = config.get("qualname") or config.get("name") or "<lambda>"
    if custom_objects and name.split(".")[-1] in custom_objects:
        return custom_objects[name.split(".")[-1]]
    if safe_mode:
        where = f"{config.get('module')}.{name}" if "qualname" in config else "its saved source text"
        short = name.split(".")[-1]
        hint = "" if short == "<lambda>" else f", or pass the function in custom_objects={{'{short}': fn}}"
        raise UnsafeLoadError(f"{owner}: loading its function ({where}) would execute code. If you trust this "
                              f"file, load it with safe_mode=False{hint}.")
    if "qualname" in config:
        try:
            return _resolve(config["module"], config["qualname"])
        except (ImportError, AttributeError) as e:
            raise ConfigError(f"{owner}: cannot import {config['module']}.{config['qualname']}: {e}") from e
    namespace = _namespace(config.get("module"))
    source = config["source"]
    if source.lstrip().startswith("lambda"):
        return eval(source, namespace)  # noqa: S307 - only with safe_mode=False, by the caller's choice
    exec(source, namespace)  # noqa: S102 - only with safe_mode=False, by the caller's choice
    if name not in namespace or not callable(namespace[name]):
        raise ConfigError(f"{owner}: the saved source does not define a function named {name!r}.")
    return namespace[name]
