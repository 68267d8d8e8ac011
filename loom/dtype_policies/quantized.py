"""Quantized dtype policies, as Keras 3's: a quantization mode on top of a float source policy.

A quantized layer's policy is named ``'<mode>_from_<source>'``: ``'int8_from_float32'``,
``'int4/128_from_float32'`` (int4 in blocks of 128 input rows; ``/-1`` is one scale per output channel),
``'float8_from_mixed_bfloat16'``, ``'gptq/4/128_from_float32'``. The source policy gives the compute and
variable dtypes; the mode says which quantized weights the layer keeps (see :mod:`loom.layers.quantized`).

Example:
    >>> policy = policy_from_name("int4/64_from_float32")
    >>> type(policy).__name__, policy.quantization_mode, policy.block_size, policy.compute_dtype
    ('Int4DTypePolicy', 'int4', 64, 'float32')
    >>> policy.get_config()
    {'mode': 'int4/64', 'source_name': 'float32'}
"""

from __future__ import annotations

from typing import Any

from loom.errors import ConfigError
from loom.mixed_precision import DTypePolicy

__all__ = ["AWQDTypePolicy", "GPTQDTypePolicy", "Int4DTypePolicy", "QUANTIZATION_MODES", "QuantizedDTypePolicy",
           "QuantizedFloat8DTypePolicy", "policy_from_name"]

QUANTIZATION_MODES = ("int8", "float8", "int4", "gptq", "awq")


class QuantizedDTypePolicy(DTypePolicy):
    """A quantized policy: ``mode`` (one of :data:`QUANTIZATION_MODES`) over the float policy ``source_name``.

    Args:
        mode: the quantization mode, e.g. ``'int8'``.
        source_name: the float policy the layer had before quantization (default ``None``: the global policy).

    Raises:
        ConfigError: an unknown mode or source, or ``'int8'`` over a float16 compute dtype (as Keras).

    Example:
        >>> policy = QuantizedDTypePolicy("int8", "mixed_bfloat16")
        >>> policy.name, policy.compute_dtype, policy.variable_dtype
        ('int8_from_mixed_bfloat16', 'bfloat16', 'float32')
    """

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        from loom.mixed_precision import dtype_policy
        source_name = dtype_policy().name if source_name is None else source_name
        self._source = DTypePolicy(source_name)
        _check_mode(mode, self._source.compute_dtype)
        self._name = f"{mode}_from_{source_name}"
        self._source_name = source_name
        self._quantization_mode = mode

    @property
    def compute_dtype(self) -> str:
        return self._source.compute_dtype

    @property
    def variable_dtype(self) -> str:
        return self._source.variable_dtype

    @property
    def quantization_mode(self) -> str:
        """The quantization mode (``'int8'``, ``'int4'``, ``'float8'``, ``'gptq'`` or ``'awq'``)."""
        return self._quantization_mode

    @property
    def source_name(self) -> str:
        """The float policy the quantization started from (``'float32'``, ``'mixed_bfloat16'``...)."""
        return self._source_name

    def get_config(self) -> dict:
        return {"mode": self._quantization_mode, "source_name": self._source_name}

    def __eq__(self, other: Any) -> bool:
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._name))

    def __repr__(self) -> str:
        return f'<{type(self).__name__} "{self._name}">'


def _check_mode(mode: str, compute_dtype: str) -> None:
    if mode not in QUANTIZATION_MODES:
        raise ConfigError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. Received: mode={mode!r}")
    if mode == "int8" and compute_dtype == "float16":
        raise ConfigError(f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'; quantize "
                          f"a float32 or mixed_bfloat16 layer instead.")


class QuantizedFloat8DTypePolicy(QuantizedDTypePolicy):
    """float8 training: inputs, kernel and output gradients pass through float8 with delayed scaling.

    Args:
        mode: ``'float8'``.
        source_name: as :class:`QuantizedDTypePolicy` (default ``None``).
        amax_history_length: how many past maxima set each scaling factor (default 1024).

    Example:
        >>> QuantizedFloat8DTypePolicy("float8", "float32", amax_history_length=16).get_config()
        {'mode': 'float8', 'source_name': 'float32', 'amax_history_length': 16}
    """

    default_amax_history_length = 1024

    def __init__(self, mode: str, source_name: str | None = None, amax_history_length: int = 1024) -> None:
        super().__init__(mode, source_name)
        if isinstance(amax_history_length, bool) or not isinstance(amax_history_length, int):
            raise ConfigError(f"`amax_history_length` must be an integer. Received: "
                              f"amax_history_length={amax_history_length!r}")
        self._amax_history_length = amax_history_length

    @property
    def amax_history_length(self) -> int:
        """The length of the window of past maxima the scaling factors are computed from."""
        return self._amax_history_length

    def get_config(self) -> dict:
        return {**super().get_config(), "amax_history_length": self._amax_history_length}


def _split_mode(mode: Any, base: str, fields: tuple[str, ...], cls: str) -> list[int]:
    """The integer fields of ``'<base>/<a>/<b>'`` (``fields`` names them), checked."""
    expected = "'" + "/".join([base] + [f"<{f}>" for f in fields]) + "'"
    parts = mode.split("/") if isinstance(mode, str) else []
    if len(parts) != len(fields) + 1 or parts[0] != base:
        raise ConfigError(f"Invalid mode for {cls}. Expected format {expected}, but got {mode!r}.")
    try:
        return [int(p) for p in parts[1:]]
    except ValueError:
        raise ConfigError(f"Invalid mode for {cls}. {' and '.join(f'<{f}>' for f in fields)} must be integers. "
                          f"Expected format {expected}, but got {mode!r}.") from None


def _check_group(value: int, what: str, mode: str) -> None:
    if value < -1 or value == 0:
        raise ConfigError(f"Invalid {what} in mode. Supported values are -1 (per-channel) or a positive integer, "
                          f"but got {value} from {mode!r}.")


class Int4DTypePolicy(QuantizedDTypePolicy):
    """int4 weights, in blocks of ``block_size`` input rows (``-1``: one scale per output channel).

    Args:
        mode: ``'int4/<block_size>'``, e.g. ``'int4/128'``.
        source_name: as :class:`QuantizedDTypePolicy` (default ``None``).

    Example:
        >>> Int4DTypePolicy("int4/-1", "float32").name
        'int4/-1_from_float32'
    """

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        (block_size,) = _split_mode(mode, "int4", ("block_size",), "Int4DTypePolicy")
        _check_group(block_size, "block_size", mode)
        super().__init__("int4", source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.block_size = block_size

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": f"int4/{self.block_size}"}


class _CalibratedPolicy(QuantizedDTypePolicy):
    """GPTQ / AWQ: ``'<mode>/<weight_bits>/<group_size>'``."""

    _BASE = ""
    _BITS: tuple[int, ...] = ()

    def __init__(self, mode: str, source_name: str | None = None) -> None:
        cls = type(self).__name__
        bits, group = _split_mode(mode, self._BASE, ("weight_bits", "group_size"), cls)
        if bits not in self._BITS:
            raise ConfigError(f"Invalid weight_bits in mode. {cls} supports {list(self._BITS)}, but got {bits} "
                              f"from {mode!r}.")
        _check_group(group, "group_size", mode)
        super().__init__(self._BASE, source_name)
        self._name = f"{mode}_from_{self._source_name}"
        self.weight_bits, self.group_size = bits, group

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": f"{self._BASE}/{self.weight_bits}/{self.group_size}"}


class GPTQDTypePolicy(_CalibratedPolicy):
    """The policy of a GPTQ-quantized layer, ``'gptq/<weight_bits>/<group_size>'`` (bits 2, 3, 4 or 8).

    loom reads and writes the policy; it does not run GPTQ (see :mod:`loom.layers.quantized`).

    Example:
        >>> GPTQDTypePolicy("gptq/4/128", "float32").weight_bits
        4
    """

    _BASE, _BITS = "gptq", (2, 3, 4, 8)


class AWQDTypePolicy(_CalibratedPolicy):
    """The policy of an AWQ-quantized layer, ``'awq/4/<group_size>'`` (AWQ is 4-bit only).

    loom reads and writes the policy; it does not run AWQ (see :mod:`loom.layers.quantized`).

    Example:
        >>> AWQDTypePolicy("awq/4/-1", "float32").group_size
        -1
    """

    _BASE, _BITS = "awq", (4,)


def policy_from_name(name: str) -> QuantizedDTypePolicy:
    """The quantized policy called ``name`` (``'<mode>_from_<source>'``), of the class its mode needs.

    Raises:
        ConfigError: a name without ``'_from_'`` or with an unknown mode or source.
    """
    if not isinstance(name, str) or not name.startswith(QUANTIZATION_MODES):
        raise ConfigError(f"{name!r} is not a quantized policy name; expected '<mode>_from_<source>' with a mode in "
                          f"{QUANTIZATION_MODES}.")
    parts = name.split("_from_")
    if len(parts) != 2:
        raise ConfigError(f"Cannot convert `policy` into a valid pair (`mode`, `source_name`) to instantiate "
                          f"`QuantizedDTypePolicy`. Received: policy={name}")
    mode, source = parts
    if mode.startswith("int4"):
        return Int4DTypePolicy(mode, source) if "/" in mode else QuantizedDTypePolicy(mode, source)
    if mode.startswith("gptq"):
        return GPTQDTypePolicy(mode, source)
    if mode.startswith("awq"):
        return AWQDTypePolicy(mode, source)
    if mode.startswith("float8"):
        return QuantizedFloat8DTypePolicy(mode, source)
    return QuantizedDTypePolicy(mode, source)
