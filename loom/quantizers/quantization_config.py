"""Quantization configurations, as ``keras.quantizers``' ``*Config`` classes.

A configuration names a quantization mode (``'int8'``, ``'int4'``, ``'float8'``, ``'gptq'``, ``'awq'``) and
its settings: the quantizers for weights and activations, a block size, or the calibration settings of
GPTQ and AWQ. They save and load as Keras's do; ``layer.quantize(config=...)`` / ``model.quantize(config=...)``
apply the int8, int4 and float8 ones (:mod:`loom.layers.quantized`); GPTQ and AWQ are descriptions only.

Example:
    >>> config = Int4QuantizationConfig(block_size=64)
    >>> config.mode, config.get_config()["block_size"]
    ('int4', 64)
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError
from loom.quantizers.quantizer import AbsMaxQuantizer, Quantizer, get, serialize

__all__ = ["AWQConfig", "Float8QuantizationConfig", "GPTQConfig", "Int4QuantizationConfig",
           "Int8QuantizationConfig", "QuantizationConfig"]


class QuantizationConfig:
    """Base class: a mode and the quantizers for weights and activations.

    Args:
        weight_quantizer: the weight quantizer (default ``None``: the mode's default).
        activation_quantizer: the activation quantizer (default ``None``).

    Example:
        >>> QuantizationConfig.activation_quantizer_or_default(Int8QuantizationConfig(), None) is not None
        True
    """

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = None) -> None:
        self.weight_quantizer = get(weight_quantizer)
        self.activation_quantizer = get(activation_quantizer)

    @property
    def mode(self) -> str:
        """The quantization mode. Subclasses define it."""
        raise NotImplementedError("Subclasses define `mode`; do not instantiate QuantizationConfig directly.")

    @staticmethod
    def weight_quantizer_or_default(config: "QuantizationConfig | None", default: Any) -> Any:
        """``config``'s weight quantizer, or ``default`` when there is no config or it sets none (as Keras)."""
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config: "QuantizationConfig | None", default: Any) -> Any:
        """``config``'s activation quantizer (``None`` included: weight-only), or ``default`` without a config."""
        if config is not None:
            return config.activation_quantizer
        return default

    def get_config(self) -> dict:
        return {"weight_quantizer": _saved(self.weight_quantizer),
                "activation_quantizer": _saved(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config: dict) -> "QuantizationConfig":
        return cls(**config)


def _saved(quantizer: Quantizer | None) -> dict | None:
    return None if quantizer is None else serialize(quantizer)


class Int8QuantizationConfig(QuantizationConfig):
    """int8 weights and activations (activations abs-max quantized by default).

    Example:
        >>> Int8QuantizationConfig().mode
        'int8'
    """

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = "default") -> None:
        default = isinstance(activation_quantizer, str) and activation_quantizer == "default"
        super().__init__(weight_quantizer, None if default else activation_quantizer)
        if default:
            self.activation_quantizer = AbsMaxQuantizer()
        output_dtype = getattr(self.weight_quantizer, "output_dtype", "int8")
        if output_dtype != "int8":
            raise ConfigError(f"Int8QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                              f"Received: output_dtype={output_dtype!r}")

    @property
    def mode(self) -> str:
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """int4 weights, quantized with a zero point in blocks of ``block_size`` input rows (weight-only by default).

    Args:
        weight_quantizer: for per-channel int4 only: an ``AbsMaxQuantizer`` with ``value_range=(-8, 7)``
            (default ``None``).
        activation_quantizer: for per-channel int4 only (default ``'default'``: none).
        block_size: rows per block, or ``None`` / ``-1`` for one symmetric scale per output channel
            (default 128).

    Example:
        >>> Int4QuantizationConfig().block_size
        128
    """

    def __init__(self, weight_quantizer: Any = None, activation_quantizer: Any = "default",
                 block_size: int | None = 128) -> None:
        default = isinstance(activation_quantizer, str) and activation_quantizer == "default"
        super().__init__(weight_quantizer, None if default else activation_quantizer)
        if block_size is not None and (isinstance(block_size, bool) or not isinstance(block_size, int)
                                       or block_size != -1 and block_size < 1):
            raise ConfigError(f"Int4QuantizationConfig: block_size must be None, -1, or a positive integer. "
                              f"Received: block_size={block_size!r}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (self.weight_quantizer or self.activation_quantizer):
            raise ConfigError(f"Int4 sub-channel quantization (block_size > 0) does not support custom quantizers. "
                              f"Either set block_size to None or -1 for per-channel quantization, or remove the "
                              f"custom quantizer arguments. Received: block_size={block_size}")
        quantizer = self.weight_quantizer
        if quantizer is not None and tuple(getattr(quantizer, "value_range", (-8, 7))) != (-8, 7):
            raise ConfigError(f"Int4QuantizationConfig requires a weight_quantizer with value_range=(-8, 7). "
                              f"Received: value_range={tuple(quantizer.value_range)}")
        if quantizer is not None and getattr(quantizer, "output_dtype", "int8") != "int8":
            raise ConfigError(f"Int4QuantizationConfig requires a weight_quantizer with output_dtype='int8'. "
                              f"Received: output_dtype={quantizer.output_dtype!r}")

    @property
    def mode(self) -> str:
        return "int4"

    def get_config(self) -> dict:
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config: dict) -> "Int4QuantizationConfig":
        """As Keras: a config without ``block_size`` (written before it existed) is per-channel."""
        return cls(**{"block_size": None, **config})


class Float8QuantizationConfig(QuantizationConfig):
    """float8 training (scaling factors tracked from the amax history).

    Example:
        >>> Float8QuantizationConfig().get_config()
        {}
    """

    def __init__(self) -> None:
        super().__init__(None, None)

    @property
    def mode(self) -> str:
        return "float8"

    def get_config(self) -> dict:
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Float8QuantizationConfig":
        return cls()


class _CalibratedConfig(QuantizationConfig):
    """What GPTQ and AWQ share: calibration data, a tokenizer and the weight bit width."""

    _MODE = ""

    def __init__(self, **settings: Any) -> None:
        super().__init__(None, None)
        bits = settings.get("weight_bits")
        if not isinstance(bits, int) or not 1 <= bits <= 8:
            raise ConfigError(f"{type(self).__name__}: weight_bits must be an integer in [1, 8], got {bits!r}.")
        for key, value in settings.items():
            setattr(self, key, value)
        self._settings = list(settings)

    @property
    def mode(self) -> str:
        return self._MODE

    def dtype_policy_string(self) -> str:
        """The dtype policy name of layers quantized this way (``'<mode>/<bits>/<group_size>'``)."""
        return f"{self.mode}/{self.weight_bits}/{self.group_size}"

    def get_config(self) -> dict:
        return {key: getattr(self, key) for key in self._settings}


class GPTQConfig(_CalibratedConfig):
    """The settings of GPTQ post-training quantization.

    Example:
        >>> GPTQConfig(dataset=None, tokenizer=None).dtype_policy_string()
        'gptq/4/128'
    """

    _MODE = "gptq"

    def __init__(self, dataset: Any, tokenizer: Any, *, weight_bits: int = 4, num_samples: int = 128,
                 per_channel: bool = True, sequence_length: int = 512, hessian_damping: float = 0.01,
                 group_size: int = 128, symmetric: bool = False, activation_order: bool = False,
                 quantization_layer_structure: dict | None = None) -> None:
        super().__init__(dataset=dataset, tokenizer=tokenizer, weight_bits=weight_bits, num_samples=num_samples,
                         per_channel=per_channel, sequence_length=sequence_length, hessian_damping=hessian_damping,
                         group_size=group_size, symmetric=symmetric, activation_order=activation_order,
                         quantization_layer_structure=quantization_layer_structure)


class AWQConfig(_CalibratedConfig):
    """The settings of AWQ (activation-aware) post-training quantization.

    Example:
        >>> AWQConfig(dataset=None, tokenizer=None).mode
        'awq'
    """

    _MODE = "awq"

    def __init__(self, dataset: Any, tokenizer: Any, *, weight_bits: int = 4, num_samples: int = 128,
                 sequence_length: int = 512, group_size: int = 128, num_grid_points: int = 20,
                 quantization_layer_structure: dict | None = None) -> None:
        super().__init__(dataset=dataset, tokenizer=tokenizer, weight_bits=weight_bits, num_samples=num_samples,
                         sequence_length=sequence_length, group_size=group_size, num_grid_points=num_grid_points,
                         quantization_layer_structure=quantization_layer_structure)
