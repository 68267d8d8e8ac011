"""Where a study lives: SQLite in the tuner's directory by default, or any SQLAlchemy URL (PostgreSQL...).

Every trial sends a *heartbeat* to the storage while it runs (a background thread, every
``heartbeat_interval`` seconds). A trial whose process died (``kill -9``, a lost machine) stops beating;
after ``grace_period`` seconds any worker marks it failed (:func:`fail_stale_trials`), so a rerun or
another worker redoes it instead of waiting for it forever.

Example:
    >>> import tempfile
    >>> storage = open_storage(None, tempfile.mkdtemp(), heartbeat_interval=10)
    >>> storage.get_heartbeat_interval()
    10
"""

from __future__ import annotations

import os
import threading
import time
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState

from loom.errors import ConfigError

DB_NAME = "study.db"
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def default_url(directory: str) -> str:
    """The SQLite URL of the study database in ``directory`` (``<directory>/study.db``)."""
    return "sqlite:///" + os.path.join(os.path.abspath(directory), DB_NAME)


def open_storage(storage: Any, directory: str, heartbeat_interval: int = 10, grace_period: int | None = None):
    """An Optuna storage with heartbeats.

    Args:
        storage: ``None`` (SQLite in ``directory``), a SQLAlchemy URL string (``'sqlite:///path.db'``,
            ``'postgresql://user@host:5432/db'``...), or an Optuna storage object (returned as is).
        directory: the tuner's directory (created when needed).
        heartbeat_interval: seconds between heartbeats of a running trial (default 10).
        grace_period: seconds without a heartbeat before a running trial counts as dead (default ``None``:
            twice ``heartbeat_interval``).
    """
    if storage is not None and not isinstance(storage, str):
        if isinstance(storage, optuna.storages.BaseStorage):
            return storage
        raise ConfigError(f"storage must be None, a database URL or an Optuna storage; got {type(storage).__name__}.")
    if isinstance(heartbeat_interval, bool) or not isinstance(heartbeat_interval, int) or heartbeat_interval < 1:
        raise ConfigError(f"heartbeat_interval must be a positive number of seconds; got {heartbeat_interval!r}.")
    if storage is None:
        os.makedirs(directory, exist_ok=True)
        storage = default_url(directory)
    if "://" not in storage:
        raise ConfigError(f"storage must be a SQLAlchemy URL such as 'sqlite:///tuning/study.db' or "
                          f"'postgresql://user@host:5432/db'; got {storage!r}.")
    storage = _with_driver(storage)
    engine_kwargs: dict = {"pool_pre_ping": True}
    if storage.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    try:
        return _rdb_storage(storage, engine_kwargs, heartbeat_interval, grace_period)
    except ImportError as e:
        driver = "psycopg2-binary" if storage.startswith("postgres") else "the database driver"
        raise ImportError(f"Cannot open storage {_redact(storage)}: install {driver} ({e}).") from e


def _rdb_storage(url: str, engine_kwargs: dict, heartbeat_interval: int, grace_period: int | None, attempts: int = 5):
    """``RDBStorage``, retried: workers starting together race to create the tables, and all but one fail once."""
    from sqlalchemy.exc import SQLAlchemyError
    for attempt in range(attempts):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                                  heartbeat_interval=heartbeat_interval, grace_period=grace_period)
        except SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


def fail_stale_trials(study: optuna.Study) -> None:
    """Mark running trials whose heartbeat stopped (their process died) as failed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def ask_trial(study: optuna.Study):
    """``study.ask()`` without Optuna's warning that heartbeats are meant for ``optimize`` (the tuner beats itself)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Heartbeat of storage", category=UserWarning)
        return study.ask()


def count_trials(study: optuna.Study) -> dict[TrialState, int]:
    """``{state: number of trials}`` of ``study``."""
    counts = {state: 0 for state in TrialState}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state] += 1
    return counts


def trial_id(trial: Any) -> int:
    """The storage's id of an Optuna trial (Optuna keeps it private)."""
    return trial._trial_id


def first_heartbeat(storage: Any, trial: Any) -> None:
    """Record ``trial``'s first heartbeat as soon as it is claimed: a process killed before its heartbeat thread
    starts would otherwise leave a running trial that never goes stale, and other workers would wait for it."""
    if getattr(storage, "get_heartbeat_interval", lambda: None)():
        storage.record_heartbeat(trial_id(trial))


class Heartbeat:
    """Context manager: beat for trial ``trial`` every ``interval`` seconds while the block runs.

    Does nothing when the storage has no heartbeat (e.g. Optuna's in-memory storage).
    """

    def __init__(self, storage: Any, trial: Any):
        self._storage = storage
        self._id = trial_id(trial)
        interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Heartbeat":
        if self._interval:
            self._thread = threading.Thread(target=self._beat, name="loom-tuning-heartbeat", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        while True:
            try:
                self._storage.record_heartbeat(self._id)
            except Exception as e:  # a transient database error must not kill the trial
                warnings.warn(f"loom.tuning: heartbeat failed ({e}); retrying.", stacklevel=1)
            if self._stop.wait(self._interval):
                return


def _with_driver(url: str) -> str:
    """``postgresql://`` with the driver installed: SQLAlchemy 2.1 defaults to psycopg 3, loom installs psycopg2."""
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    import importlib.util
    if importlib.util.find_spec("psycopg") is None and importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql+psycopg2{sep}{rest}"
    return f"postgresql{sep}{rest}"


def _redact(url: str) -> str:
    """``url`` without its password."""
    head, sep, tail = url.partition("://")
    credentials, at, host = tail.rpartition("@")
    if at and ":" in credentials:
        return f"{head}{sep}{credentials.split(':')[0]}:***@{host}"
    return url
