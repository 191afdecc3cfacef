"""The budget loop (hpo.trial_loop.run_trials) in one process on SQLite: outcomes, the wait for
a dead worker's trial and its retry, and retries of enqueued trials outside the search space."""
from __future__ import annotations

import time

import optuna
import pytest
from optuna.trial import TrialState

from hpo.trial_loop import TooManyFailures, TrialFailed, run_trials
from storage import make_optuna_storage
from storage.locks import study_lock


def sqlite_study(tmp_path, heartbeat: int | None = None, grace: int | None = None):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    storage = make_optuna_storage(url, heartbeat, grace, failed_trial_retries=1)
    study = optuna.create_study(study_name="loop", storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    return study, storage, study_lock(url, "loop")


def test_outcomes_and_the_budget_counts_completed_and_pruned(tmp_path):
    study, storage, lock = sqlite_study(tmp_path)
    outcomes = iter(["value", "pruned", "failed", "value", "pruned"])

    def objective(trial):
        trial.suggest_float("x", 0, 1)
        outcome = next(outcomes)
        if outcome == "pruned":
            raise optuna.TrialPruned()
        if outcome == "failed":
            raise TrialFailed("a broken trial")
        return 1.0

    ended = []
    result = run_trials(study, objective, 4, lock, storage=storage,
                        on_trial_end=lambda s, t: ended.append(t.state))
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL,
                      TrialState.COMPLETE, TrialState.PRUNED]
    assert ended == states and result.stop_reason == "budget"
    assert all(t.user_attrs["worker"] for t in study.trials)


def test_an_unexpected_error_is_recorded_and_raised(tmp_path):
    study, storage, lock = sqlite_study(tmp_path)

    def objective(trial):
        raise ZeroDivisionError("a bug")

    with pytest.raises(ZeroDivisionError):
        run_trials(study, objective, 3, lock, storage=storage)
    assert [t.state for t in study.trials] == [TrialState.FAIL]


def test_failures_in_a_row_stop_the_worker(tmp_path):
    study, storage, lock = sqlite_study(tmp_path)

    def objective(trial):
        raise TrialFailed("out of memory")

    with pytest.raises(TooManyFailures):
        run_trials(study, objective, 10, lock, storage=storage, max_consecutive_failures=3)
    assert len(study.trials) == 3


def test_waits_for_a_dead_workers_trial_then_takes_its_retry(tmp_path):
    study, storage, lock = sqlite_study(tmp_path, heartbeat=1, grace=2)
    dead = study.ask()  # a worker that took a trial and died: one heartbeat, then silence
    dead.suggest_float("x", 0, 1)
    storage.record_heartbeat(dead._trial_id)

    started = time.monotonic()
    result = run_trials(study, lambda t: t.suggest_float("x", 0, 1), 2, lock, storage=storage,
                        poll_interval=0.2)
    assert time.monotonic() - started >= 2  # it waited out the grace period
    states = [t.state for t in study.trials]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.COMPLETE]
    retry = study.trials[2]
    assert retry.system_attrs["failed_trial"] == 0 and retry.params == study.trials[0].params
    assert [t.number for t in result.trials] == [1, 2]


def test_a_stale_baseline_outside_the_search_space_is_retried(tmp_path):
    """The baseline's learning rate (2e-5) lies below this search range; Optuna's own retry
    callback would raise and stop the worker that found the dead trial."""
    study, storage, lock = sqlite_study(tmp_path, heartbeat=1, grace=2)
    study.enqueue_trial({"learning_rate": 2e-5}, user_attrs={"baseline": True})
    with pytest.warns(UserWarning):  # Optuna: the fixed value is outside the distribution
        dead = study.ask()
        dead.suggest_float("learning_rate", 1e-4, 1e-2, log=True)
    storage.record_heartbeat(dead._trial_id)
    time.sleep(3)

    seen = []
    with pytest.warns(UserWarning):
        run_trials(study, lambda t: seen.append(t.suggest_float("learning_rate", 1e-4, 1e-2,
                                                                log=True)) or 0.0,
                   1, lock, storage=storage)
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.COMPLETE]
    retry = study.trials[1]
    assert seen == [2e-5] and retry.user_attrs["baseline"] is True
    assert retry.system_attrs["failed_trial"] == 0


def test_needs_a_budget_or_a_timeout(tmp_path):
    study, storage, lock = sqlite_study(tmp_path)
    with pytest.raises(ValueError, match="budget or a timeout"):
        run_trials(study, lambda t: 0.0, None, lock)


def test_gpu_pinning_reaches_the_trial_process(tmp_path, monkeypatch):
    """`hpo worker --gpu 1`: the worker's trials run with only that device visible."""
    import sys

    from hpo.launcher import launch_trial
    from hpo.worker import pin_gpu

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # restored after the test
    pin_gpu("1")
    log = tmp_path / "trainer.log"
    launched = launch_trial([sys.executable, "-c", "import os; print('visible:', "
                             "os.environ['CUDA_VISIBLE_DEVICES'])"], log, timeout=60)
    assert launched.exit_code == 0 and "visible: 1" in log.read_text()
