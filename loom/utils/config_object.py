"""``Config``: a dict whose entries are also attributes, freezable, as ``keras.utils.Config``.

Example:
    >>> config = Config(learning_rate=0.1, layers=[64, 32])
    >>> config.learning_rate, config["layers"]
    (0.1, [64, 32])
    >>> config.freeze()
    >>> config.learning_rate = 1.0
    Traceback (most recent call last):
    ...
    loom.errors.ConfigError: Cannot mutate attribute(s) because the config is frozen.
"""

from __future__ import annotations

import json
from typing import Any, Iterator

from loom.errors import ConfigError


class Config:
    """Attribute-style configuration container; ``freeze()`` makes it read-only.

    Args:
        **kwargs: The initial entries.

    Example:
        >>> c = Config(a=1)
        >>> c.b = 2
        >>> c.as_dict(), c.to_json()
        ({'a': 1, 'b': 2}, '{"a": 1, "b": 2}')
    """

    __attrs__: Any = None

    def __init__(self, **kwargs: Any):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)
        object.__setattr__(self, "__attrs__", set(dir(self)))

    @property
    def frozen(self) -> bool:
        """Whether the config is read-only."""
        return self._frozen

    def freeze(self) -> None:
        """Make the config read-only."""
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self) -> None:
        """Make the config writable again."""
        object.__setattr__(self, "_frozen", False)

    def _raise_if_frozen(self) -> None:
        if self._frozen:
            raise ConfigError("Cannot mutate attribute(s) because the config is frozen.")

    def as_dict(self) -> dict:
        """A shallow copy of the entries as a dict."""
        return dict(self._config)

    def to_json(self) -> str:
        """The entries as a JSON string."""
        return json.dumps(self._config)

    def keys(self) -> Any:
        return self._config.keys()

    def values(self) -> Any:
        return self._config.values()

    def items(self) -> Any:
        return self._config.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self._config.get(key, default)

    def pop(self, *args: Any) -> Any:
        self._raise_if_frozen()
        return self._config.pop(*args)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._raise_if_frozen()
        self._config.update(*args, **kwargs)

    def __setattr__(self, name: str, value: Any) -> None:
        self._raise_if_frozen()
        if name in self.__attrs__:
            raise AttributeError(f"Cannot set attribute {name!r}: it is a reserved name of Config.")
        self._config[name] = value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_config", "_frozen"):
            raise AttributeError(name)
        try:
            return self._config[name]
        except KeyError:
            raise AttributeError(f"Unknown attribute: {name!r}.") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self._raise_if_frozen()
        self._config[key] = value

    def __getitem__(self, key: str) -> Any:
        return self._config[key]

    def __delitem__(self, key: str) -> None:
        self._raise_if_frozen()
        del self._config[key]

    def __contains__(self, key: object) -> bool:
        return key in self._config

    def __iter__(self) -> Iterator[str]:
        return iter(self._config)

    def __len__(self) -> int:
        return len(self._config)

    def __repr__(self) -> str:
        return f"<Config {self._config}>"
