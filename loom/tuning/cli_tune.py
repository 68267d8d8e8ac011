"""``loom tune``: run a search from a script, add workers to it, or list its trials.

    $ loom tune search.py                          # run the search (SQLite in ./tuning), then report
    $ loom tune worker search.py --storage postgresql://user@host/db   # one more worker, on any machine
    $ loom tune status --storage postgresql://user@host/db             # the trials so far

**The script** is a Python file defining:

* ``build(hp)``: returns a compiled model (see :class:`loom.tuning.HyperParameters`);
* ``data()``: returns ``(x, y, validation)`` or ``(x, y, validation, test)``, where ``validation`` and
  ``test`` are ``(x, y)`` pairs (``validation`` may be ``None`` when ``SEARCH`` sets ``validation_split``
  or ``cv``);
* optionally ``TUNER``: a dict of :class:`loom.tuning.Tuner` arguments (``objective``, ``max_trials``...);
* optionally ``SEARCH``: a dict of :meth:`loom.tuning.Tuner.search` arguments (``epochs``, ``batch_size``...).

Command-line options override ``TUNER``. The study is named after the script unless ``TUNER`` or
``--study-name`` says otherwise, so every worker running the same script joins the same study. A worker adds
its process id into ``TUNER``'s ``seed``, so that workers do not draw the same configurations.
``loom tune SCRIPT`` prints the top trials, saves the plots and, when ``data()`` gives test data, scores the
best model on it once; ``worker`` only runs trials.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from typing import Any

from loom.errors import ConfigError


def main(argv: list[str]) -> int:
    """Entry point of ``loom tune ...`` (``argv`` without ``loom tune``); returns an exit code."""
    if argv and argv[0] == "status":
        return _status(_status_parser().parse_args(argv[1:]))
    if argv and argv[0] == "worker":
        return _run(_run_parser("loom tune worker").parse_args(argv[1:]), worker=True)
    return _run(_run_parser("loom tune").parse_args(argv), worker=False)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=None,
                        help="database URL, e.g. postgresql://user@host:5432/db (default: SQLite in --directory)")
    parser.add_argument("--study-name", default=None, help="the study (default: TUNER's, else the script's name)")
    parser.add_argument("--directory", default=None, help="trial files and the SQLite database (default 'tuning')")


def _run_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0] if __doc__ else None,
                                     epilog="subcommands: 'loom tune worker SCRIPT', 'loom tune status'")
    parser.add_argument("script", help="a .py file defining build(hp) and data() (see loom.tuning.cli_tune)")
    _common(parser)
    parser.add_argument("--max-trials", type=int, default=None, help="finished trials to reach in the study")
    parser.add_argument("--algorithm", default=None, help="random, tpe, bayesian, evolutionary, nsga2 or grid")
    parser.add_argument("--timeout", type=float, default=None, help="seconds after which no new trial starts")
    parser.add_argument("--overwrite", action="store_true", help="delete the study and its files first")
    parser.add_argument("--quiet", action="store_true", help="no line per trial")
    return parser


def _status_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loom tune status",
                                     description="List the trials of the studies in a storage.")
    _common(parser)
    parser.add_argument("--top", type=int, default=None, help="show only the best N trials of each study")
    return parser


def load_script(path: str) -> Any:
    """Import the search script at ``path`` as a module (its directory first on ``sys.path``)."""
    if not os.path.isfile(path):
        raise ConfigError(f"loom tune: no script at {path!r}.")
    directory = os.path.dirname(os.path.abspath(path))
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = "loom_tune_" + os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    missing = [n for n in ("build", "data") if not callable(getattr(module, n, None))]
    if missing:
        names = " and ".join(f"{n}()" for n in missing)
        raise ConfigError(f"loom tune: {path} must define {names}: build(hp) returns a compiled model, data() returns "
                          f"(x, y, (x_val, y_val)[, (x_test, y_test)]).")
    return module


def _tuner_from_script(module: Any, args: argparse.Namespace, worker: bool):
    from loom.tuning import Tuner
    kwargs = dict(getattr(module, "TUNER", {}) or {})
    kwargs.setdefault("study_name", os.path.splitext(os.path.basename(args.script))[0])
    for key in ("storage", "study_name", "directory", "max_trials", "algorithm", "timeout"):
        if getattr(args, key, None) is not None:
            kwargs[key] = getattr(args, key)
    if worker and kwargs.get("seed") is not None:
        from loom.tuning.tuner import derive_seed
        kwargs["seed"] = derive_seed(kwargs["seed"], os.getpid())  # workers must not draw the same configurations
    if args.overwrite:
        if worker:
            raise ConfigError("loom tune worker: --overwrite would delete the shared study; run it without.")
        kwargs["overwrite"] = True
    if args.quiet:
        kwargs["verbose"] = 0
    return Tuner(module.build, **kwargs)


def _unpack_data(result: Any) -> tuple:
    if not isinstance(result, (tuple, list)) or len(result) not in (3, 4):
        raise ConfigError("loom tune: data() must return (x, y, validation) or (x, y, validation, test), with "
                          "validation and test as (x, y) pairs (validation may be None).")
    x, y, validation = result[:3]
    return x, y, validation, result[3] if len(result) == 4 else None


def _run(args: argparse.Namespace, worker: bool) -> int:
    module = load_script(args.script)
    tuner = _tuner_from_script(module, args, worker)
    x, y, validation, test = _unpack_data(module.data())
    search_kwargs = dict(getattr(module, "SEARCH", {}) or {})
    if validation is not None:
        search_kwargs["validation_data"] = tuple(validation)
    tuner.search(x, y, **search_kwargs)
    if worker:
        print(f"loom tune worker: study '{tuner.study_name}' has {len(tuner.completed_trials)} completed trials.")
        return 0
    tuner.summary()
    try:
        for kind, path in tuner.plot().items():
            print(f"{kind} plot: {path}")
    except ImportError as e:
        print(f"(no plots: {e})")
    if test is not None:
        report = tuner.evaluate_best(*test)
        if not tuner.verbose:
            print(f"best trial {report['trial']}: validation {report['objective']}={report['validation']:.4f}, test "
                  f"{report['test']:.4f} (gap {report['gap']:+.4f}; {report['configurations_scored']} configurations "
                  f"scored on the validation data)")
    return 0


def _status(args: argparse.Namespace) -> int:
    import optuna

    from loom.tuning.results import TrialResult, format_table, rank
    from loom.tuning.storage import DB_NAME, open_storage
    directory = args.directory or "tuning"
    if args.storage is None and not os.path.exists(os.path.join(directory, DB_NAME)):
        raise ConfigError(f"loom tune status: no study database in {directory!r}; pass --storage URL or --directory.")
    storage = open_storage(args.storage, directory)
    names = [args.study_name] if args.study_name else optuna.study.get_all_study_names(storage)
    if not names:
        print("No studies.")
    for name in names:
        try:
            study = optuna.load_study(study_name=name, storage=storage)
        except KeyError as e:
            raise ConfigError(f"loom tune status: no study named {name!r}; studies: "
                              f"{optuna.study.get_all_study_names(storage)}.") from e
        objective = study.user_attrs.get("objective", "value")
        mode = "min" if study.direction.name == "MINIMIZE" else "max"
        trials = rank([TrialResult.from_optuna(t, directory) for t in study.get_trials(deepcopy=False)], mode)
        counts = {s: sum(t.state == s for t in trials) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")}
        print(f"Study '{name}': objective {objective} ({mode}); {len(trials)} trials: "
              f"{', '.join(f'{v} {k.lower()}' for k, v in counts.items() if v) or 'none'}")
        if trials:
            print(format_table(trials, objective, args.top))
        print()
    return 0
