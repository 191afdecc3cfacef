"""PostgreSQL restarted in the middle of a study: the workers reconnect (pool_pre_ping, and a
retry of the loop's storage calls) and finish the budget, and no completed trial is lost."""
from __future__ import annotations

import json
import time

import optuna
import pytest
from optuna.trial import TrialState

from .conftest import start_postgres, start_sleep_workers, wait_all

pytestmark = pytest.mark.postgres

BUDGET = 30


def test_workers_ride_out_a_server_restart(tmp_path, monkeypatch):
    # A server of its own: restarting the session's server would cut other tests' connections.
    pg = start_postgres()
    try:
        for key, value in pg.client_env().items():
            monkeypatch.setenv(key, value)
        url = pg.create_database("restart")
        workers = start_sleep_workers(url, "restart", 3, BUDGET, 0.3, tmp_path,
                                      "--heartbeat", "1", "--grace", "20")
        _wait_for_completed(url, "restart", 6)
        pg.restart()  # fast shutdown: every open connection is cut mid-whatever
        wait_all(workers, timeout=150, out_dir=tmp_path)

        study = optuna.load_study(study_name="restart", storage=url)
        states = [t.state for t in study.trials]
        assert states.count(TrialState.COMPLETE) == BUDGET
        assert not {TrialState.RUNNING, TrialState.WAITING} & set(states)
        numbers = [t.number for t in study.trials]
        assert len(numbers) == len(set(numbers))
        # Every trial a worker saw complete is complete in the database.
        by_number = {t.number: t.state for t in study.trials}
        for _, out in workers:
            summary = json.loads(out.read_text())
            for number, state in zip(summary["trials"], summary["states"]):
                if state == "COMPLETE":
                    assert by_number[number] == TrialState.COMPLETE, number
    finally:
        pg.stop()


def _wait_for_completed(url: str, name: str, n: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            study = optuna.load_study(study_name=name, storage=url)
            if sum(t.state == TrialState.COMPLETE for t in study.trials) >= n:
                return
        except KeyError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"fewer than {n} trials completed in {timeout:.0f} s")
