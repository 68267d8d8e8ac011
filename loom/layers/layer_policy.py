"""What a layer knows about its dtype policy and quantization: Keras's ``dtype_policy``, ``quantization_mode``,
``compute_dtype``, ``variable_dtype``, ``path`` and ``quantize``, mixed into :class:`~loom.layers.Layer`.

A float layer keeps only its torch dtype (``Layer._dtype``) and reports ``DTypePolicy(layer.dtype)``; a layer
given a quantized policy (``dtype='int8_from_float32'``, a policy object or its config dict) or a
:class:`~loom.dtype_policies.DTypePolicyMap` keeps that policy in ``_dtype_policy``. The quantized forms of
the layers themselves are in :mod:`loom.layers.quantized`; this module only carries the state.

Example:
    >>> import torch, loom
    >>> layer = loom.layers.Dense(2)
    >>> _ = layer(torch.ones(1, 3))
    >>> layer.dtype_policy, layer.quantization_mode
    (<DTypePolicy "float32">, None)
    >>> layer.quantize("int8")
    >>> layer.dtype_policy, [w.dtype for w in layer.get_weights()]
    (<QuantizedDTypePolicy "int8_from_float32">, [dtype('float32'), dtype('int8'), dtype('float32')])
"""

from __future__ import annotations

from typing import Any

import torch

from loom import backend
from loom.errors import ConfigError


def layer_dtype(dtype: Any) -> tuple[torch.dtype, Any]:
    """``(torch dtype of the weights, policy to keep or None)`` for a layer's ``dtype`` argument.

    Names, torch / NumPy dtypes and float policies become a torch dtype; quantized policies (names such as
    ``'int8_from_float32'``, objects, config dicts) and policy maps are kept, with their variable dtype.

    Raises:
        ConfigError: an unknown dtype, or a mixed float policy given to one layer (loom runs mixed precision
            per model: ``compile(mixed_precision=...)`` or ``loom.mixed_precision.set_global_policy``).
    """
    from loom.dtype_policies import QUANTIZATION_MODES, DTypePolicy, get
    if not (isinstance(dtype, (dict, DTypePolicy)) or isinstance(dtype, str) and dtype.startswith(QUANTIZATION_MODES)):
        return backend.torch_dtype(dtype), None
    policy = get(dtype)
    if type(policy) is not DTypePolicy:  # quantized, or a map
        return backend.torch_dtype(policy.variable_dtype), policy
    if policy.compute_dtype != policy.variable_dtype:
        raise ConfigError(f"A layer cannot take the mixed policy {policy.name!r}: loom runs mixed precision for a "
                          f"whole model (compile(mixed_precision=...) or loom.mixed_precision.set_global_policy).")
    return backend.torch_dtype(policy.name), None


class LayerPolicy:
    """Keras's dtype-policy and quantization attributes of a layer (mixed into ``Layer``)."""

    #: A quantized policy or a ``DTypePolicyMap`` (``None``: the float policy named by ``dtype``).
    _dtype_policy = None
    #: The quantization scheme running a quantized layer's call (see :mod:`loom.layers.quantized`).
    _quantized = None
    _path = None
    #: The layer creates its sublayers with its own policy (:meth:`_sublayer_dtype`; the attention layers): its
    #: config then lists its quantized sublayers in a ``DTypePolicyMap``, so that they are rebuilt quantized.
    _shares_dtype_policy = False

    @property
    def path(self) -> str | None:
        """The layer's path: its name inside the layers that built it (``'block/dense'``); ``None`` until built."""
        return self._path

    @property
    def dtype_policy(self) -> Any:
        """The layer's policy: a ``DTypePolicy`` for a float layer, else its quantized policy or policy map.

        Setting a quantized policy on a built float layer quantizes it (as Keras).
        """
        if self._dtype_policy is not None:
            return self._dtype_policy
        from loom.dtype_policies import DTypePolicy
        return DTypePolicy(self.dtype)

    @dtype_policy.setter
    def dtype_policy(self, value: Any) -> None:
        from loom.dtype_policies import DTypePolicy, DTypePolicyMap, get
        policy = get(value)
        current = self._dtype_policy
        if isinstance(current, DTypePolicyMap) and self._path:
            if self._path in current:
                del current[self._path]
            current[self._path] = policy
        elif type(policy) is DTypePolicy:
            self._dtype, self._dtype_policy = backend.torch_dtype(policy.name), None
        else:
            self._dtype_policy = policy
        mode = policy.quantization_mode
        if mode is not None and self.built and self._quantized is None:
            if mode in ("gptq", "awq"):
                raise ConfigError(f"Implicitly enabling {mode.upper()} quantization by setting `dtype_policy` to "
                                  f"{value!r} is not supported: it needs calibration data. Use "
                                  f"`.quantize('{mode}', config=...)` instead.")
            self.quantize(mode)

    def _own_policy(self) -> Any:
        """The policy that applies to this layer (a map's entry for its path)."""
        from loom.dtype_policies import DTypePolicyMap
        policy = self.dtype_policy
        if isinstance(policy, DTypePolicyMap):
            return policy[self._path] if self._path else policy.default_policy
        return policy

    @property
    def quantization_mode(self) -> str | None:
        """The quantization mode (``'int8'``, ``'int4'``, ``'float8'``...), ``None`` for a float layer."""
        if self._dtype_policy is None:
            return None
        return self._own_policy().quantization_mode

    @property
    def compute_dtype(self) -> str:
        """The dtype of the layer's computations (its policy's; mixed precision is set per model in loom)."""
        return self.dtype if self._dtype_policy is None else self._own_policy().compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's float weights."""
        return self.dtype if self._dtype_policy is None else self._own_policy().variable_dtype

    def quantize(self, mode: str | None = None, type_check: bool = True, config: Any = None) -> None:
        """Quantize the built layer's weights, as Keras's ``layer.quantize`` (see :mod:`loom.layers.quantized`).

        Args:
            mode: ``'int8'``, ``'int4'`` or ``'float8'`` (default ``None``: ``config``'s mode).
            type_check: refuse subclasses of the quantizable layers (default ``True``, as Keras).
            config: a ``loom.quantizers.QuantizationConfig`` (default ``None``: the mode's defaults).

        Raises:
            ConfigError: the layer is not built or already quantized, or ``mode`` / ``config`` are invalid.
            NotSupportedError: this layer has no quantized form for ``mode``.
        """
        from loom.layers.quantized import quantize_layer
        quantize_layer(self, mode, config, type_check)

    def _saved_weight_names(self) -> list[str]:
        """The layer's own weights in the order Keras's ``save_own_variables`` writes them (``vars/0``, ...)."""
        names = self._trainable_names + self._non_trainable_names
        return names if self._quantized is None else self._quantized.saved_order(self, names)

    def _sublayer_dtype(self) -> Any:
        """The ``dtype`` a layer with :attr:`_shares_dtype_policy` gives the sublayers it creates."""
        return self.dtype if self._dtype_policy is None else self._dtype_policy

    def _dtype_config(self) -> Any:
        """The ``dtype`` entry of ``get_config``: the dtype name, or the serialized quantized policy / map."""
        from loom.dtype_policies import DTypePolicyMap, serialize
        policy = self._dtype_policy
        if self._shares_dtype_policy:
            quantized = [m for m in self.modules() if m is not self and getattr(m, "_quantized", None) is not None
                         and m._path]
            if quantized:
                entries = dict(policy._policy_map) if isinstance(policy, DTypePolicyMap) else {}
                entries.update({m._path: m._own_policy() for m in quantized})
                default = policy.default_policy if isinstance(policy, DTypePolicyMap) else self._own_policy()
                policy = DTypePolicyMap(default.name, entries)
        return self.dtype if policy is None else serialize(policy)
