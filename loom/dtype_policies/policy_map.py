"""``DTypePolicyMap``: a dict from layer paths (or regular expressions over them) to dtype policies.

A composite layer passes one map down as the ``dtype`` of all its sublayers; each sublayer then uses the policy
stored under its own :attr:`~loom.layers.Layer.path` (an exact key first, else the one key that matches it as
a full regular expression, else the default policy). That is how a model whose sublayers were quantized one by
one describes them in a single config entry, as Keras 3 does.

Example:
    >>> policy_map = DTypePolicyMap("float32")
    >>> policy_map["encoder/dense"] = "int8_from_float32"
    >>> policy_map["decoder/.*"] = "bfloat16"
    >>> policy_map["encoder/dense"].name, policy_map["decoder/attention"].name, policy_map["other"].name
    ('int8_from_float32', 'bfloat16', 'float32')
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, Iterator

from loom.errors import ConfigError
from loom.mixed_precision import DTypePolicy

__all__ = ["DTypePolicyMap"]


class DTypePolicyMap(DTypePolicy, MutableMapping):
    """Layer paths to :class:`DTypePolicy` objects; unmatched paths get ``default_policy``.

    Args:
        default_policy: the policy of paths no key matches (default ``None``: the global policy, looked up
            each time, so a map saved without one follows the global policy where it is loaded).
        policy_map: the initial ``{path or regex: policy}`` (default ``None``: empty).

    Raises:
        ConfigError: ``default_policy`` is itself a map, or ``policy_map`` is not a dict.
    """

    def __init__(self, default_policy: Any = None, policy_map: dict | None = None) -> None:
        from loom import dtype_policies
        if isinstance(default_policy, DTypePolicyMap):
            raise ConfigError("`default_policy` cannot be a `DTypePolicyMap`.")
        if policy_map is not None and not isinstance(policy_map, dict):
            raise ConfigError(f"If specified, `policy_map` must be a dict. Received: policy_map={policy_map!r} of "
                              f"type {type(policy_map).__name__}")
        self._default_policy_arg = default_policy
        self._default_policy = dtype_policies.get(default_policy) if default_policy is not None else None
        self._policy_map: dict[str, DTypePolicy] = {}
        for key, policy in (policy_map or {}).items():
            self[key] = policy

    @property
    def default_policy(self) -> DTypePolicy:
        """The policy of paths no key matches."""
        from loom import dtype_policies
        return self._default_policy if self._default_policy is not None else dtype_policies.get(None)

    @property
    def name(self) -> str:
        return f"map_{self.default_policy.name}"

    @property
    def _name(self) -> str:  # DTypePolicy's equality and hash read it
        return self.name

    @property
    def variable_dtype(self) -> str:
        return self.default_policy.variable_dtype

    @property
    def compute_dtype(self) -> str:
        return self.default_policy.compute_dtype

    @property
    def quantization_mode(self) -> str | None:
        return self.default_policy.quantization_mode

    def __getitem__(self, key: str) -> DTypePolicy:
        """The policy of path ``key``: an exact key, else the one key matching it as a full regex, else the default.

        Raises:
            ConfigError: ``key`` matches more than one pattern.
        """
        if key in self._policy_map:
            return self._policy_map[key]
        matches = [pattern for pattern in self._policy_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ConfigError(f"Path '{key}' matches multiple dtype policy specification keys: {matches}. Please make "
                              f"sure each path only matches at most one dtype policy specification key in the "
                              f"DTypePolicyMap.")
        return self._policy_map[matches[0]] if matches else self.default_policy

    def __setitem__(self, key: str, policy: Any) -> None:
        from loom import dtype_policies
        if key in self._policy_map:
            raise ConfigError(f"{key} already exist in the DTypePolicyMap with value {self._policy_map[key]}. "
                              f"Please make sure to not use duplicated keys.")
        try:
            policy = dtype_policies.get(policy)
        except Exception as e:  # noqa: BLE001 - re-raised with the key named
            raise ConfigError(f"Cannot interpret the assigned value by `dtype_policies.get`. Received: {policy!r} of "
                              f"type {type(policy).__name__} ({e})") from e
        self._policy_map[key] = policy

    def __delitem__(self, key: str) -> DTypePolicy:
        return self._policy_map.pop(key)

    def __contains__(self, key: object) -> bool:
        return key in self._policy_map

    def __len__(self) -> int:
        return len(self._policy_map)

    def __iter__(self) -> Iterator[str]:
        return iter(self._policy_map)

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, DTypePolicyMap) and other.get_config() == self.get_config())

    def __hash__(self) -> int:
        return id(self)

    def get_config(self) -> dict:
        """``{'default_policy', 'policy_map'}``; without a default policy the policies are written without their
        source name, so that they follow the global policy where the map is loaded (as Keras writes them)."""
        from loom import dtype_policies
        entries = {}
        for key, policy in self._policy_map.items():
            entry = dtype_policies.serialize(policy)
            if self._default_policy_arg is None:
                field = "source_name" if "source_name" in entry["config"] else "name"
                entry["config"] = {**entry["config"], field: None}
            entries[key] = entry
        return {"default_policy": self._default_policy_arg, "policy_map": entries}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> "DTypePolicyMap":
        from loom import dtype_policies
        config = dict(config)
        entries = config.get("policy_map") or {}
        if not isinstance(entries, dict):
            raise ConfigError(f"DTypePolicyMap: policy_map must be a dict, got {type(entries).__name__}.")
        config["policy_map"] = {k: dtype_policies.get(_with_default_source(v)) for k, v in entries.items()}
        return cls(**config)

    def __repr__(self) -> str:
        mapping = [(k, v.name) for k, v in self._policy_map.items()]
        default = self._default_policy.name if self._default_policy is not None else None
        return f"<DTypePolicyMap at {hex(id(self))} default_policy={default}, mapping={mapping}>"


def _with_default_source(entry: Any) -> Any:
    """A serialized policy whose ``name`` / ``source_name`` is ``None`` (a map saved without a default policy)
    with the global policy's name there."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return entry
    config = entry["config"]
    field = "source_name" if "source_name" in config else "name"
    if field in config and config[field] is None:
        from loom.mixed_precision import dtype_policy
        return {**entry, "config": {**config, field: dtype_policy().name}}
    return entry
