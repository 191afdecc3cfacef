"""Run trials until the study's total budget is spent, with any number of workers.

The budget counts COMPLETE and PRUNED trials of the whole study. Each worker loops:

1. Under the study lock (storage.locks): fail trials whose heartbeat went stale (Optuna's
   retry callback re-enqueues them as WAITING), count the study's trials, and decide:
   ``done >= budget`` -> stop; ``done + running >= budget`` -> wait, the last trials are taken;
   otherwise ``study.ask()``, which takes a WAITING trial (enqueued, or a retry) before it
   creates a new one, and record the trial's first heartbeat. Deciding and creating in one
   locked step is what makes the count exact across workers; ``study.optimize(n_trials=1)``
   would decide under no lock at all.
2. Outside the lock: run the objective with a heartbeat thread, then ``study.tell()`` the state.

A waiting worker polls: it stops once the budget is reached, or takes the retry when a trial
it waited on died. Failed trials do not count toward the budget.
"""
from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import optuna
from optuna.trial import FrozenTrial, TrialState

from storage.heartbeat import heartbeat_interval, trial_heartbeat
from storage.transient import is_transient, retry_transient

log = logging.getLogger("hpo.trial_loop")

DONE_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
ATTR_WORKER = "worker"  # trial user attribute: "host:pid" of the worker that ran it


class TrialFailed(Exception):
    """A trial that did not finish: recorded as FAIL and the study goes on."""


class TooManyFailures(RuntimeError):
    """This worker's trials failed ``max_consecutive_failures`` times in a row."""


@dataclass
class LoopResult:
    """What one worker's loop did."""

    stop_reason: str  # "budget" | "timeout"
    trials: list[FrozenTrial] = field(default_factory=list)  # the trials this worker ran

    def count(self, state: TrialState) -> int:
        return sum(t.state == state for t in self.trials)


@dataclass(frozen=True)
class StudyCounts:
    done: int  # COMPLETE + PRUNED
    running: int
    waiting: int


def study_counts(study: optuna.Study) -> StudyCounts:
    trials = study.get_trials(deepcopy=False)
    return StudyCounts(done=sum(t.state in DONE_STATES for t in trials),
                       running=sum(t.state == TrialState.RUNNING for t in trials),
                       waiting=sum(t.state == TrialState.WAITING for t in trials))


def run_trials(study: optuna.Study, objective: Callable[[optuna.Trial], float],
               budget: int | None, lock: Callable[[], AbstractContextManager], *,
               storage: optuna.storages.BaseStorage | None = None,
               timeout: float | None = None, poll_interval: float | None = None,
               on_trial_end: Callable[[optuna.Study, FrozenTrial], None] | None = None,
               before_iteration: Callable[[optuna.Study], None] | None = None,
               max_consecutive_failures: int | None = None) -> LoopResult:
    """Run trials of ``study`` until it has ``budget`` completed+pruned trials (all workers).

    ``objective(trial)`` returns the value, raises ``optuna.TrialPruned``, or raises
    ``TrialFailed`` (recorded as FAIL, the loop goes on; so does a lost database connection);
    any other exception, Ctrl-C included, is recorded as FAIL and re-raised. ``lock()`` is the
    study-wide lock (storage.locks); ``storage`` is the storage the study was opened with, for
    heartbeats (default: the study's). ``timeout`` stops *starting* trials after that many
    seconds; ``budget`` None runs until the timeout. ``before_iteration(study)`` runs before
    each decision (`hpo run` closes the MLflow runs of dead workers' trials there).
    """
    if budget is None and timeout is None:
        raise ValueError("run_trials needs a budget or a timeout, or it never ends; got neither")
    storage = storage or study._storage
    interval = heartbeat_interval(storage)
    poll = poll_interval or min(float(interval or 5), 5.0)
    started = time.monotonic()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    result = LoopResult(stop_reason="budget")
    failures_in_a_row = 0
    waiting = False
    while True:
        if before_iteration is not None:
            before_iteration(study)
        if timeout is not None and time.monotonic() - started >= timeout:
            log.info("time limit of %.0f s reached", timeout)
            result.stop_reason = "timeout"
            return result
        trial, counts = retry_transient(lambda: _claim_trial(study, budget, lock, storage),
                                        "taking the next trial")
        if trial is None:
            if counts.done >= (budget or 0):
                log.info("budget reached: %d completed or pruned trials", counts.done)
                return result
            if not waiting:
                waiting = True
                log.info("budget taken: %d done + %d running of %d; waiting for the running "
                         "trials to end (or go stale and be retried)", counts.done,
                         counts.running, budget)
            time.sleep(poll)
            continue
        waiting = False
        frozen = _run_claimed(study, trial, objective, storage, worker)
        result.trials.append(frozen)
        if on_trial_end is not None:
            on_trial_end(study, frozen)
        failures_in_a_row = failures_in_a_row + 1 if frozen.state == TrialState.FAIL else 0
        if max_consecutive_failures and failures_in_a_row >= max_consecutive_failures:
            raise TooManyFailures(f"{failures_in_a_row} trials failed in a row")


def _claim_trial(study: optuna.Study, budget: int | None, lock, storage
                 ) -> tuple[optuna.Trial | None, StudyCounts]:
    """The budget decision and the trial's creation as one step under the study lock."""
    with lock():
        # A dead worker's trial: failed once its heartbeat is stale (a no-op without
        # heartbeats) and re-enqueued by the storage's retry callback, inside the lock so that
        # the failure and its retry are counted together.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        counts = study_counts(study)
        if budget is not None and counts.done + counts.running >= budget:
            return None, counts
        with warnings.catch_warnings():
            # "Heartbeat ... supposed to be used with Study.optimize": this loop beats itself.
            warnings.filterwarnings("ignore", message=".*Heartbeat.*Study.optimize.*")
            trial = study.ask()
    if heartbeat_interval(storage):
        # The first beat at once: a trial without any heartbeat is never found stale, so a
        # worker dying right after ask() would leave it RUNNING forever. Not retried here (the
        # trial exists now; asking again would make another): the heartbeat thread beats again.
        try:
            storage.record_heartbeat(trial._trial_id)
        except Exception as exc:  # noqa: BLE001
            log.warning("first heartbeat of trial %d not recorded: %s", trial.number, exc)
    return trial, counts


def _run_claimed(study: optuna.Study, trial: optuna.Trial,
                 objective: Callable[[optuna.Trial], float], storage, worker: str
                 ) -> FrozenTrial:
    value, state = None, TrialState.FAIL
    try:
        with trial_heartbeat(storage, trial._trial_id):
            # Which machine and process ran it: what you ask first when a worker misbehaves.
            retry_transient(lambda: trial.set_user_attr(ATTR_WORKER, worker),
                            f"starting trial {trial.number}")
            try:
                value = objective(trial)
                state = TrialState.COMPLETE
            except optuna.TrialPruned as exc:
                state = TrialState.PRUNED
                log.info("trial %d pruned: %s", trial.number, exc)
            except TrialFailed as exc:
                log.info("trial %d failed: %s", trial.number, exc)
            except Exception as exc:
                if not is_transient(exc):
                    raise  # a bug: recorded as FAIL below, and the worker stops
                # The database went away mid-trial: this trial is lost, the worker is not.
                log.warning("trial %d failed: database connection lost (%s)", trial.number,
                            type(exc).__name__)
    finally:  # Ctrl-C and unexpected errors too: the trial must not stay RUNNING
        frozen = _tell(study, trial, state, value)
    if state == TrialState.COMPLETE and frozen.state == TrialState.COMPLETE:
        log.info("trial %d finished with value %s", trial.number, frozen.value)
    return frozen


def _tell(study: optuna.Study, trial: optuna.Trial, state: TrialState,
          value: float | None) -> FrozenTrial:
    """``study.tell``, repeated across a database restart. ``skip_if_finished``: a repeat after
    a commit whose reply was lost does nothing, and so does a tell for a trial that another
    worker failed as stale while this one could not reach the database."""
    def tell() -> FrozenTrial:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna warns itself for a NaN or bad value
            return study.tell(trial, value if state == TrialState.COMPLETE else None,
                              state=state, skip_if_finished=True)
    return retry_transient(tell, f"recording trial {trial.number}")
