"""The machinery every quantized layer shares: resolving ``(mode, config)``, the checks Keras makes before
quantizing, swapping a layer's float weights for quantized ones, and the scheme registry.

A *scheme* is the quantized form of one layer class in one mode (``Int8Dense``, ``Int4Embedding``...): it
creates the quantized weights (:meth:`Scheme.build`), turns a built float layer's weights into them
(:meth:`Scheme.quantize`), computes the layer's output from them (:meth:`Scheme.call`) and lists them in the
order Keras saves them (:attr:`Scheme.SAVED_ORDER`). A quantized layer keeps its scheme in ``layer._quantized``;
its ``call`` hands over to the scheme when that attribute is set.
"""

from __future__ import annotations

from typing import Any, Callable

import torch

from loom.errors import ConfigError, NotSupportedError


class Scheme:
    """Base of the quantized forms of a layer (see the module docstring).

    Args:
        layer: the layer the scheme runs.
        config: the ``QuantizationConfig`` given to ``quantize`` or the layer (default ``None``: the mode's
            defaults, as for a layer rebuilt from a quantized policy without a config).
    """

    MODE = ""
    #: The layer's own weights in Keras's ``save_own_variables`` order (absent ones are skipped).
    SAVED_ORDER: tuple[str, ...] = ()
    #: The scheme creates the layer's kernel (int8 / int4); float8 keeps the float kernel the layer makes.
    REPLACES_KERNEL = True

    def __init__(self, layer: Any, config: Any = None) -> None:
        self.config = config

    def build(self, layer: Any, shape: tuple) -> None:
        """Create the quantized weights for a float weight of ``shape`` (zeros / ones until loaded)."""
        raise NotImplementedError

    def quantize(self, layer: Any) -> None:
        """Replace the built layer's float weights by their quantized form."""
        raise NotImplementedError

    def call(self, layer: Any, inputs: torch.Tensor) -> torch.Tensor:
        """The layer's output before its bias and activation (the embedding rows for ``Embedding``)."""
        raise NotImplementedError

    def policy_mode(self, layer: Any) -> str:
        """The mode part of the policy name the quantized layer gets (``'int8'``, ``'int4/128'``...)."""
        return self.MODE

    def saved_order(self, layer: Any, names: list[str]) -> list[str]:
        """``names`` (the layer's own weights) in Keras's saving order."""
        order = [n for n in self.SAVED_ORDER if n in names]
        return order + [n for n in names if n not in order]


# ---------------------------------------------------------------------------------------------- registry
_SCHEMES: dict[type, dict[str, type[Scheme]]] = {}
#: Per layer class: the error for a mode it has no scheme for (Keras's message differs per layer).
_MODE_ERRORS: dict[type, Callable[[str], Exception]] = {}


def register(layer_cls: type, *schemes: type[Scheme], mode_error: Callable[[str], Exception] | None = None) -> None:
    """Make ``schemes`` the quantized forms of ``layer_cls`` (one per mode)."""
    _SCHEMES.setdefault(layer_cls, {}).update({s.MODE: s for s in schemes})
    if mode_error is not None:
        _MODE_ERRORS[layer_cls] = mode_error


def _family(layer: Any) -> type | None:
    """The registered class ``layer`` is an instance of (the nearest in its MRO)."""
    _load_schemes()
    return next((cls for cls in type(layer).__mro__ if cls in _SCHEMES), None)


def _load_schemes() -> None:
    from loom.layers.quantized import dense, einsum_dense, embedding  # noqa: F401 - they register themselves


def default_mode_error(mode: str) -> Exception:
    from loom.dtype_policies import QUANTIZATION_MODES
    if mode in ("gptq", "awq"):
        return NotSupportedError(f"Quantization mode {mode!r} needs calibration on data (Keras's GPTQ / AWQ), which "
                                 f"loom does not implement; use 'int8', 'int4' or 'float8'.")
    return NotSupportedError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: "
                             f"quantization_mode={mode}")


def unsupported(layer: Any, type_check: bool = True) -> NotSupportedError | None:
    """The error ``layer.quantize`` raises because ``layer``'s class has no quantized form (``None`` if it has)."""
    family = _family(layer)
    if family is None or type_check and type(layer) is not family:
        return NotSupportedError(f"Layer {type(layer).__name__} does not have a `quantize` method implemented"
                                 + ("." if family is None else f" (only {family.__name__} itself is quantized; "
                                    f"pass type_check=False to quantize a subclass as one)."))
    return None


def scheme_for(layer: Any, mode: str, config: Any = None, type_check: bool = False) -> Scheme:
    """The scheme running ``layer`` quantized in ``mode``.

    Raises:
        NotSupportedError: ``layer``'s class has no quantized form (or, with ``type_check``, is a subclass of
            one), or none for ``mode``.
    """
    error = unsupported(layer, type_check)
    if error is not None:
        raise error
    family = _family(layer)
    scheme = _SCHEMES[family].get(mode)
    if scheme is None:
        raise _MODE_ERRORS.get(family, default_mode_error)(mode)
    return scheme(layer, config)


# ----------------------------------------------------------------------------------------- configuration
def resolve_config(mode: Any, config: Any) -> Any:
    """Keras's ``validate_and_resolve_config``: the ``QuantizationConfig`` for ``mode`` and/or ``config``.

    Raises:
        ConfigError: neither given, an unknown mode, a config that is not a ``QuantizationConfig``, a mode that
            contradicts the config's, or GPTQ / AWQ without their config.
    """
    from loom.dtype_policies import QUANTIZATION_MODES
    from loom import quantizers as Q
    if isinstance(config, str):
        mode, config = config, None
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ConfigError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode}")
    if config is None:
        defaults = {"int8": Q.Int8QuantizationConfig, "int4": Q.Int4QuantizationConfig,
                    "float8": Q.Float8QuantizationConfig}
        if mode in ("gptq", "awq"):
            kind = "GPTQConfig" if mode == "gptq" else "AWQConfig"
            raise ConfigError(f"For {mode.upper()}, you must pass a `{kind}` object in the `config` argument.")
        if mode is None:
            raise ConfigError("You must provide either `mode` or `config` to `quantize`.")
        return defaults[mode]()
    if not isinstance(config, Q.QuantizationConfig):
        raise ConfigError(f"Argument `config` must be an instance of `QuantizationConfig`. Received: "
                          f"config={config!r} (of type {type(config).__name__})")
    if mode is not None and config.mode != mode:
        raise ConfigError(f"Contradictory arguments: mode='{mode}' but config.mode='{config.mode}'")
    return config


def config_from(value: Any) -> Any:
    """A layer's ``quantization_config`` argument as a ``QuantizationConfig`` (a config dict is rebuilt).

    Raises:
        ConfigError: a value that is neither ``None``, a config, nor a config's serialized dict.
    """
    from loom import quantizers as Q
    if value is None or isinstance(value, Q.QuantizationConfig):
        return value
    classes = {c.__name__: c for c in (Q.Int8QuantizationConfig, Q.Int4QuantizationConfig,
                                       Q.Float8QuantizationConfig, Q.GPTQConfig, Q.AWQConfig)}
    if isinstance(value, dict) and value.get("class_name") in classes and isinstance(value.get("config"), dict):
        return classes[value["class_name"]].from_config(dict(value["config"]))
    raise ConfigError(f"quantization_config must be None, a loom.quantizers.QuantizationConfig or its config "
                      f"({sorted(classes)}); got {value!r:.100}.")


def config_entry(config: Any) -> Any:
    """A ``QuantizationConfig`` as the dict Keras writes in a layer's config (``None`` stays ``None``)."""
    if config is None:
        return None
    from loom.serialization import serialize_keras_object
    return {**serialize_keras_object(config), "module": "keras.quantizers"}


def config_item(config: Any) -> dict:
    """``{'quantization_config': entry}`` for a layer's ``get_config`` (``{}`` without a config)."""
    return {} if config is None else {"quantization_config": config_entry(config)}


def check_quantize_args(layer: Any, mode: str) -> None:
    """Keras's checks before quantizing ``layer`` in ``mode``.

    Raises:
        ConfigError: the layer is not built, is already quantized, or computes in float16 for int8.
    """
    if not layer.built:
        raise ConfigError(f"Cannot quantize a layer that isn't yet built. Layer '{layer.name}' (of type "
                          f"'{type(layer).__name__}') is not built yet; call it on data (or build it) first.")
    if layer._quantized is not None:
        raise ConfigError(f"Layer '{layer.name}' is already quantized with dtype_policy='{layer.dtype_policy.name}'. "
                          f"Received: mode={mode}")
    if mode == "int8" and layer.compute_dtype == "float16":
        raise ConfigError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. Consider "
                          f"loading model/layer with another dtype policy such as 'mixed_bfloat16' or "
                          f"'mixed_float16' before calling `quantize()`.")


# ----------------------------------------------------------------------------------------------- actions
def quantize_layer(layer: Any, mode: Any, config: Any, type_check: bool = True) -> None:
    """``layer.quantize(mode, type_check, config)`` (see :meth:`loom.layers.Layer.quantize`)."""
    config = resolve_config(mode, config)
    mode = config.mode
    check_quantize_args(layer, mode)
    scheme = scheme_for(layer, mode, config, type_check)
    scheme.quantize(layer)
    layer._quantized = scheme
    layer.quantization_config = config
    if layer.quantization_mode is None:
        from loom.dtype_policies import get
        source = layer._own_policy().name
        layer.dtype_policy = get(f"{scheme.policy_mode(layer)}_from_{source}")


def build_quantized(layer: Any, shape: tuple) -> Scheme:
    """Create the quantized weights of a layer built under a quantized policy (e.g. loaded from a file)."""
    scheme = scheme_for(layer, layer.quantization_mode, getattr(layer, "quantization_config", None))
    scheme.build(layer, shape)
    layer._quantized = scheme
    return scheme


def block_size_for(layer: Any, config: Any) -> int | None:
    """Keras's ``get_block_size_for_layer``: the int4 block size from ``config``, else from the layer's
    ``Int4DTypePolicy``; ``None`` for one scale per output channel."""
    from loom.dtype_policies import Int4DTypePolicy
    from loom.quantizers import Int4QuantizationConfig
    if isinstance(config, Int4QuantizationConfig):
        block = config.block_size
    else:
        policy = layer._own_policy()
        block = policy.block_size if isinstance(policy, Int4DTypePolicy) else None
    return None if block is None or block == -1 else block


def group_index(size: int, block_size: int) -> torch.Tensor:
    """``g_idx``: the block of each of ``size`` positions, as float32 (``[0, 0, ..., 1, 1, ...]``)."""
    return torch.div(torch.arange(size, dtype=torch.float32), block_size, rounding_mode="floor")


def dequantize_groups(values: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, g_idx: torch.Tensor,
                      group_axis: int) -> torch.Tensor:
    """Keras's ``dequantize_with_sz_map``: ``(values - zero[g]) * scale[g]`` with the scale and zero point of
    each position's group ``g = g_idx`` taken along ``group_axis`` of ``scale`` / ``zero``."""
    groups = g_idx.to(torch.long)
    scales = torch.index_select(scale, group_axis % scale.dim(), groups)
    zeros = torch.index_select(zero, group_axis % zero.dim(), groups).to(scales.dtype)
    return (values - zeros) * scales


def remove_weight(layer: Any, name: str) -> torch.Tensor:
    """Drop the weight ``name`` from ``layer`` (its regularizer and constraint too); returns its value."""
    value = getattr(layer, name).detach()
    for registry in (layer._parameters, layer._buffers):
        registry.pop(name, None)
    for names in (layer._trainable_names, layer._non_trainable_names):
        if name in names:
            names.remove(name)
    layer._regularizers.pop(name, None)
    layer.__dict__.get("_constraints", {}).pop(name, None)
    return value


def frozen_weight(layer: Any, name: str, shape: tuple, dtype: Any = None, initializer: Any = "zeros",
                  device: torch.device | None = None) -> torch.Tensor:
    """A non-trainable weight of ``layer`` (a quantized kernel, a scale) on ``device`` (default ``None``: where
    the layer's other weights are)."""
    device = device or _device(layer)
    weight = layer.add_weight(name=name, shape=tuple(int(d) for d in shape), initializer=initializer,
                              dtype=dtype, trainable=False)
    if device is not None and weight.device != device:
        weight.data = weight.data.to(device)  # keeps the Variable (its name and path)
    return weight


def _device(layer: Any) -> torch.device | None:
    for tensor in list(layer.parameters(recurse=False)) + list(layer.buffers(recurse=False)):
        return tensor.device
    return None


def assign(layer: Any, name: str, value: torch.Tensor) -> None:
    """Copy ``value`` into the weight ``name`` (same shape, cast to its dtype)."""
    target = getattr(layer, name)
    with torch.no_grad():
        target.copy_(value.reshape(target.shape).to(dtype=target.dtype, device=target.device))


class InputGradient(torch.autograd.Function):
    """``scheme.value(layer, x)`` with Keras's custom gradient for a quantized kernel: only ``x`` gets one,
    ``scheme.input_grad(layer, upstream)`` (the upstream gradient through the dequantized kernel, the
    straight-through estimator of the rounding)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, scheme: Any, layer: Any) -> torch.Tensor:
        ctx.scheme, ctx.layer = scheme, layer
        return scheme.value(layer, x)

    @staticmethod
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple:
        return ctx.scheme.input_grad(ctx.layer, upstream), None, None


def with_input_gradient(scheme: Any, layer: Any, x: torch.Tensor) -> torch.Tensor:
    """``scheme.value(layer, x)``, differentiable in ``x`` when autograd needs it (see :class:`InputGradient`)."""
    if x.requires_grad and torch.is_grad_enabled():
        return InputGradient.apply(x, scheme, layer)
    return scheme.value(layer, x)


def integer_product(fn: Callable, a: torch.Tensor, b: torch.Tensor, reduced: int) -> torch.Tensor:
    """``fn(a, b)`` (a matmul or einsum) of two int8 tensors, exactly as Keras's int32 product on the CPU.

    A float32 product is exact while every partial sum stays below 2**24 (``reduced`` terms of at most
    127 * 127); longer reductions use float64 on the CPU. On CUDA, as Keras, float32 (``torch._int_mm`` for a
    plain 2-D matmul of the shapes it accepts). Autocast is off inside: mixed precision would round the sums.
    """
    device = a.device.type
    if device in ("cpu", "cuda") and torch.is_autocast_enabled(device):
        with torch.autocast(device, enabled=False):  # mixed precision must not round the integer sums
            return _integer_product(fn, a, b, reduced)
    return _integer_product(fn, a, b, reduced)


def _integer_product(fn: Callable, a: torch.Tensor, b: torch.Tensor, reduced: int) -> torch.Tensor:
    if a.is_cuda:
        if fn is torch.matmul and _int_mm_ok(a, b):
            try:
                return torch._int_mm(a, b).to(torch.float32)
            except RuntimeError:
                pass
        return fn(a.to(torch.float32), b.to(torch.float32))
    dtype = torch.float32 if reduced * 127 * 127 < 2 ** 24 else torch.float64
    return fn(a.to(dtype), b.to(dtype)).to(torch.float32)


def _int_mm_ok(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Keras's conditions for ``torch._int_mm`` (2-D, sizes multiples of 8, more than 16 rows)."""
    if a.dim() != 2 or b.dim() != 2:
        return False
    return a.shape[0] > 16 and a.shape[1] >= 16 and a.shape[1] % 8 == 0 and b.shape[1] % 8 == 0
