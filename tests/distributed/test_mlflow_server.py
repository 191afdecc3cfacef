"""`hpo server`: an MLflow tracking server on PostgreSQL with proxied artifacts, and the study's
MLflow records (StudyTracker) written over HTTP only."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from mlflow.tracking import MlflowClient

from hpo.cli import main
from hpo.tracking import StudyTracker

from .conftest import REPO

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, log, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"hpo server exited with {server.returncode}: {log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"no MLflow server on {url} after {timeout:.0f} s: {log.read_text()}")


def test_tracker_over_http_with_a_postgres_backed_server(postgres, database, tmp_path):
    port, artifacts, log = free_port(), tmp_path / "mlartifacts", tmp_path / "server.log"
    with open(log, "w") as handle:
        server = subprocess.Popen(
            [sys.executable, "-m", "hpo.cli", "server", "--backend-store-uri", database,
             "--artifacts-destination", str(artifacts), "--port", str(port), "--workers", "1"],
            cwd=REPO, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(uri, server, log)
        assert postgres.password not in log.read_text()

        tracker = StudyTracker(uri, "over-http", artifact_root=tmp_path / "ignored")
        study_run = tracker.study_run(None, {"model": {}, "training": {}, "study": {"n": 1}},
                                      database)
        trial_dir = tmp_path / "trial"
        trial_dir.mkdir()
        (trial_dir / "result.json").write_text(json.dumps({"value": 0.5}))
        run = tracker.start_trial_run(study_run, 0, {"learning_rate": 1e-4})
        tracker.end_trial_run(run, "completed", trial_dir, final_metrics={"mcc": 0.5})
        tracker.end_study_run(study_run)

        client = MlflowClient(uri)
        experiment = client.get_experiment_by_name("over-http")
        assert experiment.artifact_location.startswith("mlflow-artifacts:")  # the server's choice
        finished = client.get_run(run)
        assert finished.info.status == "FINISHED"
        assert finished.data.tags["mlflow.parentRunId"] == study_run
        assert finished.data.metrics["best_mcc"] == 0.5
        # Uploaded through the server, stored under --artifacts-destination.
        assert [p.name for p in artifacts.rglob("result.json")] == ["result.json"]
        assert not (tmp_path / "ignored").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def test_refuses_a_password_on_the_command_line(capsys, tmp_path):
    code = main(["server", "--backend-store-uri", "postgresql+psycopg://u:s3cret@db/mlflow",
                 "--artifacts-destination", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "PGPASSWORD" in err and "s3cret" not in err


def test_says_what_is_wrong_with_the_backend(postgres, pg_env, capsys, tmp_path):
    code = main(["server", "--backend-store-uri", postgres.url("no_such_db"),
                 "--artifacts-destination", str(tmp_path)])
    assert code == 1
    assert "database does not exist" in capsys.readouterr().err
