"""Stopping a study: Ctrl-C ends the running trial cleanly; a killed orchestrator's trial is
failed after the heartbeat grace period and retried; the next `hpo run` completes the budget."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import psutil
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from hpo.cli import main
from hpo.spec import load_study_spec
from storage import make_optuna_storage

from .conftest import write_study

pytestmark = pytest.mark.slow


def _interruptible() -> None:
    # As in a terminal: a shell's background job (`pytest &`, CI runners) starts with SIGINT
    # ignored, which children inherit and Python then keeps, so Ctrl-C would never arrive.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(path: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hpo.cli", "run", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=_interruptible)


def wait_for_running_trial(spec, number: int, timeout: float = 240) -> None:
    """Until trial ``number`` runs and has its MLflow run (so a kill finds both in place)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (spec.output_dir / "optuna.db").exists():
            try:
                # Through dnahpo's storage, as `hpo status` would: it waits while the starting
                # run creates the tables (a bare URL here once raced it, and failed the test).
                study = optuna.load_study(study_name=spec.name,
                                          storage=make_optuna_storage(spec.optuna_storage_url))
            except KeyError:  # the database exists, the study not yet
                study = None
            trials = study.get_trials(deepcopy=False) if study else []
            if (len(trials) > number and trials[number].state == TrialState.RUNNING
                    and "mlflow_run_id" in trials[number].user_attrs):
                return
        time.sleep(0.5)
    raise AssertionError(f"trial {number} never started")


def trainer_processes(trials_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(trials_dir) in cmdline and "trainers.finetune" in cmdline:
            found.append(proc)
    return found


def wait_until_no_trainer(trials_dir: Path, timeout: float = 30) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and trainer_processes(trials_dir):
        time.sleep(0.5)
    return trainer_processes(trials_dir)


def runs_by_trial(spec) -> dict[int, object]:
    client = MlflowClient(spec.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(spec.name)
    return {int(r.data.tags["dnahpo.trial"]): r for r in client.search_runs(
        [experiment.experiment_id]) if r.data.tags.get("dnahpo.role") == "trial"}


def test_ctrl_c_ends_the_trial_cleanly_and_the_study_resumes(tmp_path, tiny_bert):
    path = write_study(tmp_path, tiny_bert, training={"evals_per_epoch": 2, "patience": None,
                                                       "trial_timeout": 300})
    spec = load_study_spec(path)
    run = start_run(path)
    wait_for_running_trial(spec, 0)
    time.sleep(3)  # let the trainer get going
    os.kill(run.pid, signal.SIGINT)  # a terminal's Ctrl-C reaches the orchestrator's group
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 130, output
    assert "resume with: hpo run" in output
    assert wait_until_no_trainer(spec.trials_dir) == []

    study = optuna.load_study(study_name=spec.name, storage=spec.optuna_storage_url)
    interrupted = study.trials[0]
    assert interrupted.state == TrialState.FAIL
    assert "interrupted" in interrupted.user_attrs["fail_reason"]
    assert runs_by_trial(spec)[0].info.status == "FAILED"

    assert main(["run", str(path)]) == 0
    study = optuna.load_study(study_name=spec.name, storage=spec.optuna_storage_url)
    done = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == spec.study.n_trials
    assert all(r.info.status != "RUNNING" for r in runs_by_trial(spec).values())


def test_killed_orchestrator_trial_is_failed_retried_and_budget_completed(tmp_path, tiny_bert):
    path = write_study(tmp_path, tiny_bert)
    spec = load_study_spec(path)
    run = start_run(path)
    wait_for_running_trial(spec, 1)
    os.kill(run.pid, signal.SIGKILL)  # no cleanup at all, as when a machine dies
    run.communicate(timeout=60)
    # The trainer learns of its parent's death from the kernel and stops too.
    assert wait_until_no_trainer(spec.trials_dir) == []

    assert main(["run", str(path)]) == 0  # waits out the grace period, then retries trial 1
    study = optuna.load_study(study_name=spec.name, storage=spec.optuna_storage_url)
    numbers = [t.number for t in study.trials]
    assert len(numbers) == len(set(numbers))
    assert study.trials[1].state == TrialState.FAIL
    retried = [t for t in study.trials if t.system_attrs.get("failed_trial") == 1]
    assert len(retried) == 1 and retried[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    done = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == spec.study.n_trials
    runs = runs_by_trial(spec)
    assert runs[1].info.status == "FAILED"
    assert all(r.info.status != "RUNNING" for r in runs.values())
