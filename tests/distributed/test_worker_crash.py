"""Three `hpo worker` processes on one PostgreSQL study with real (tiny) trials; one is killed
with SIGKILL mid-trial. Its trial fails once its heartbeat is older than the grace period, another
worker retries it, the study ends with exactly its budget of completed and pruned trials, every
trial's MLflow run nests under the one study run, and the dead trial's run is marked FAILED."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from hpo.spec import load_study_spec
from storage import make_optuna_storage
from tests.hpo.conftest import write_study

from .conftest import REPO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BUDGET = 4


def start_worker(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "w") as handle:
        return subprocess.Popen([sys.executable, "-m", "hpo.cli", "worker", *args], cwd=REPO,
                                stdout=handle, stderr=subprocess.STDOUT)


def wait_for(what: str, condition, timeout: float = 240, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def trials(spec) -> list[optuna.trial.FrozenTrial]:
    try:
        return optuna.load_study(study_name=spec.name, storage=spec.optuna_storage_url).trials
    except KeyError:
        return []


def test_killed_worker_trial_is_retried_and_budget_is_exact(tmp_path, tiny_bert, database):
    mlflow_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    path = write_study(tmp_path, tiny_bert,
                       study={"metric": "mcc", "n_trials": BUDGET,
                              "sampler": {"name": "random", "seed": 0}},
                       storage={"optuna": database, "mlflow": mlflow_uri,
                                "heartbeat_interval": 2, "grace_period": 6,
                                "failed_trial_retries": 1})
    spec = load_study_spec(path)
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    workers = [start_worker([str(path)], logs[0]), start_worker([str(path)], logs[1])]
    # The third joins by name alone, with the study file the first one stored in the study.
    storage = make_optuna_storage(database)  # takes the schema lock, as the workers do
    wait_for("the study to be created", lambda: optuna.study.get_all_study_names(storage))
    workers.append(start_worker(["--study", spec.name, "--storage", database,
                                 "--tracking-uri", mlflow_uri], logs[2]))
    by_pid = {w.pid: w for w in workers}

    def running_trial_with_a_trainer():
        for t in trials(spec):
            pid = int(t.user_attrs.get("worker", ":0").rsplit(":", 1)[1])
            log = Path(t.user_attrs.get("trial_dir", "/nonexistent")) / "trainer.log"
            if (t.state == TrialState.RUNNING and pid in by_pid and "mlflow_run_id" in t.user_attrs
                    and log.exists() and log.stat().st_size > 0):
                return t
        return None

    victim = wait_for("a trial in training", running_trial_with_a_trainer)
    victim_pid = int(victim.user_attrs["worker"].rsplit(":", 1)[1])
    os.kill(victim_pid, signal.SIGKILL)  # no clean-up at all, as when a machine dies
    assert by_pid[victim_pid].wait(timeout=30) == -signal.SIGKILL

    for worker in workers:
        if worker.pid != victim_pid:
            try:
                code = worker.wait(timeout=300)
            except subprocess.TimeoutExpired:
                for w in workers:
                    w.kill()
                raise
            assert code == 0, "\n".join(log.read_text()[-3000:] for log in logs)

    study = optuna.load_study(study_name=spec.name, storage=database)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) + states.count(TrialState.PRUNED) == BUDGET
    assert not {TrialState.RUNNING, TrialState.WAITING} & set(states)
    dead = study.trials[victim.number]
    assert dead.state == TrialState.FAIL and "outcome" not in dead.user_attrs
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1
    assert retries[0].state in (TrialState.COMPLETE, TrialState.PRUNED)
    assert retries[0].params == dead.params
    assert retries[0].user_attrs["worker"] != dead.user_attrs["worker"]

    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name(spec.name)
    runs = client.search_runs([experiment.experiment_id])
    study_runs = [r for r in runs if r.data.tags.get("dnahpo.role") == "study"]
    assert len(study_runs) == 1  # created once, by whichever worker came first
    assert study_runs[0].info.run_id == study.user_attrs["mlflow_study_run_id"]
    assert study_runs[0].info.status == "FINISHED"
    trial_runs = {r.info.run_id: r for r in runs if r.data.tags.get("dnahpo.role") == "trial"}
    assert len(trial_runs) == len(study.trials)
    assert {r.data.tags["mlflow.parentRunId"] for r in trial_runs.values()} == {
        study_runs[0].info.run_id}
    dead_run = trial_runs[dead.user_attrs["mlflow_run_id"]]
    assert dead_run.info.status == "FAILED"
    assert "worker died" in dead_run.data.tags["dnahpo.fail_reason"]
    assert all(r.info.status != "RUNNING" for r in trial_runs.values())
