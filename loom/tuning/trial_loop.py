"""``TrialLoop``: the :class:`~loom.tuning.Tuner`'s worker loop over one study.

Claim a trial (waiting while other workers' running trials could still finish the budget), run it with a
heartbeat, record its outcome in the study, print one line, and stop after ``max_consecutive_failures``
failed trials in a row. Running one trial's training is :mod:`loom.tuning.trial`'s job; the study's
storage and heartbeats are :mod:`loom.tuning.storage`'s.
"""

from __future__ import annotations

import contextlib
import gc
import os
import socket
import time
import warnings
from typing import Any

import optuna
from optuna.trial import TrialState

from loom.errors import TrainingError
from loom.tuning.storage import FINISHED, Heartbeat, ask_trial, count_trials, fail_stale_trials, first_heartbeat
from loom.tuning.trial import WEIGHTS_NAME, TrialSpec, run_trial

_POLL_SECONDS = 1.0


class TrialLoop:
    """Mixin of :class:`~loom.tuning.Tuner` that runs trials until the budget is spent.

    It uses the tuner's ``timeout``, ``max_consecutive_failures``, ``verbose``, ``objective``, ``directory``,
    ``study_name``, ``completed_trials`` and its private ``_storage`` and ``_fingerprint``.
    """

    def _run_trials(self, study: optuna.Study, spec: TrialSpec, budget: int) -> None:
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        failures = 0
        while (trial := self._claim_trial(study, budget, deadline)) is not None:
            failures = 0 if self._run_one(study, trial, spec, budget) else failures + 1
            if failures >= self.max_consecutive_failures:
                raise TrainingError(f"{failures} trials in a row failed (see Tuner.trials' fail_reason); stopping "
                                    f"the search. Narrow the search space (e.g. smaller learning rates).")

    def _claim_trial(self, study: optuna.Study, budget: int, deadline: float | None):
        """A new trial, or ``None`` when the study has ``budget`` finished trials or time is up.

        While other workers' running trials could complete the budget, wait for them (they may die and need
        redoing). Two workers asking at once may both get a trial; the one numbered past the budget is
        marked failed with ``user_attrs['surplus']`` and never runs.
        """
        while True:
            fail_stale_trials(study)
            counts = count_trials(study)
            finished = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED]
            if finished >= budget or (deadline is not None and time.monotonic() > deadline):
                return None
            if finished + counts[TrialState.RUNNING] >= budget:
                time.sleep(_POLL_SECONDS)
                continue
            trial = ask_trial(study)
            first_heartbeat(self._storage, trial)
            ahead = [t for t in study.get_trials(deepcopy=False, states=FINISHED + (TrialState.RUNNING,))
                     if t.number < trial.number]
            if len(ahead) < budget:
                return trial
            trial.set_user_attr("surplus", True)
            study.tell(trial, state=TrialState.FAIL)

    def _run_one(self, study: optuna.Study, trial: Any, spec: TrialSpec, budget: int) -> bool:
        """Run ``trial`` and tell the study; ``False`` when it failed with a training error (NaN).

        The heartbeat goes on until the study has been told, so that no other worker takes the trial for dead
        while its result is being written. Should one have done so anyway (a heartbeat late by more than the
        grace period on an overloaded machine), the result is dropped with a warning and the trial is redone.
        """
        relative = os.path.join(self.study_name, f"trial_{trial.number:04d}")
        start = time.perf_counter()
        try:
            with Heartbeat(self._storage, trial):
                trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
                trial.set_user_attr("validation_fingerprint", self._fingerprint)
                try:
                    outcome = run_trial(trial, spec, os.path.join(self.directory, relative))
                except TrainingError as e:
                    trial.set_user_attr("fail_reason", str(e))
                    study.tell(trial, state=TrialState.FAIL)
                    self._report(trial.number, "FAIL", None, time.perf_counter() - start, budget, str(e))
                    return False
                finally:
                    gc.collect()
                self._record(study, trial, outcome, relative, time.perf_counter() - start, budget)
        except optuna.exceptions.UpdateFinishedTrialError:
            warnings.warn(f"loom.tuning: trial {trial.number} was marked failed by another worker while it ran (its "
                          f"heartbeat was late by more than the grace period: an overloaded machine? raise "
                          f"heartbeat_interval); its result is dropped and the trial is redone.", stacklevel=2)
        except BaseException:
            with contextlib.suppress(Exception):
                study.tell(trial, state=TrialState.FAIL)
            raise
        return True

    def _record(self, study: optuna.Study, trial: Any, outcome: Any, relative: str, seconds: float,
                budget: int) -> None:
        """Write a finished trial's outcome to the study (complete or pruned) and print its line."""
        for key, value in (("best_epoch", outcome.best_epoch), ("epochs_run", outcome.epochs_run),
                           ("pruned_at", outcome.pruned_at), ("metrics", outcome.metrics),
                           ("fold_values", outcome.fold_values)):
            trial.set_user_attr(key, value)
        if outcome.pruned_at is None:
            trial.set_user_attr("weights", os.path.join(relative, WEIGHTS_NAME))
            study.tell(trial, outcome.value)
            self._report(trial.number, "COMPLETE", outcome.value, seconds, budget, outcome.hp_values)
        else:
            study.tell(trial, state=TrialState.PRUNED)
            self._report(trial.number, f"PRUNED at epoch {outcome.pruned_at + 1}", None, seconds, budget,
                         outcome.hp_values)

    def _report(self, number: int, state: str, value: float | None, seconds: float, budget: int, detail: Any) -> None:
        if not self.verbose:
            return
        score = f" {self.objective}={value:.4f}" if value is not None else ""
        best = self.completed_trials
        best_text = f" (best {best[0].value:.4f}, trial {best[0].number})" if best else ""
        print(f"[tuner] trial {number} {state}{score}{best_text} {seconds:.1f}s {detail}", flush=True)
