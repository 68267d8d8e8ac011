"""Finding a dataset's directory (atomic writes come from :mod:`loom.io_utils`).

Example:
    >>> candidate_locations(None, "LOOM_NO_SUCH_VAR", ["/usr/share/datasets/fashion-mnist"])[0][0]
    '/usr/share/datasets/fashion-mnist'
"""

from __future__ import annotations

import os

from loom.io_utils import PathLike


def keras_cache_dir() -> str:
    """The directory where Keras caches downloaded datasets (``$KERAS_HOME/datasets`` or ``~/.keras/datasets``)."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return os.path.join(keras_home, "datasets")


def candidate_locations(path: PathLike | None, env_var: str, defaults: list[str]) -> list[tuple[str, str]]:
    """Where to look for a dataset, in order, each with how that place was chosen.

    Args:
        path: The ``path=`` the caller passed; when given it is the only place looked at.
        env_var: The environment variable that overrides the default places.
        defaults: The default places, looked at in order when neither ``path`` nor ``env_var`` is set.

    Returns:
        A list of ``(location, reason)`` pairs; ``reason`` is used in "not found" messages.
    """
    if path is not None:
        return [(os.path.expanduser(os.fspath(path)), "path=")]
    from_env = os.environ.get(env_var)
    if from_env:
        return [(os.path.expanduser(from_env), f"${env_var}")]
    return [(location, "default") for location in defaults]


def describe_locations(locations: list[tuple[str, str]]) -> str:
    """Formats the places looked at for an error message, one per line."""
    return "\n".join(f"  {location}  ({reason})" for location, reason in locations)


def locate_file(path: PathLike | None, env_var: str, default_name: str, what: str, url: str) -> str:
    """The dataset file to read: ``path`` (as given, or relative to Keras's cache), else ``$env_var``, else
    ``~/.keras/datasets/<default_name>``.

    Raises:
        DatasetNotFoundError: none of these is a file; the message lists the places and where to get the file.
    """
    from loom.errors import DatasetNotFoundError
    if path is not None:
        given = os.path.expanduser(os.fspath(path))
        locations = [(given, "path=")]
        if not os.path.isabs(given):
            locations.append((os.path.join(keras_cache_dir(), given), "path= in Keras's cache"))
    else:
        locations = candidate_locations(None, env_var, [os.path.join(keras_cache_dir(), default_name)])
    for location, _ in locations:
        if os.path.isfile(location):
            return location
    raise DatasetNotFoundError(f"{what} not found. Looked in:\n{describe_locations(locations)}\nNothing is downloaded: "
                               f"get {url} on a machine with internet access (or run Keras's loader once, which puts "
                               f"it in ~/.keras/datasets/), then pass path= or set ${env_var}.")
