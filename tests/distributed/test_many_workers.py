"""Eight workers at once on one study (a cheap objective): every trial number once, and exactly
the budget of completed trials, decided under the study's advisory lock."""
from __future__ import annotations

import json

import optuna
import pytest
from optuna.trial import TrialState

from .conftest import start_sleep_workers, wait_all

pytestmark = pytest.mark.postgres

BUDGET = 40


def test_eight_workers_run_exactly_the_budget(database, tmp_path):
    workers = start_sleep_workers(database, "eight", 8, BUDGET, 0.2, tmp_path)
    wait_all(workers, timeout=120, out_dir=tmp_path)

    study = optuna.load_study(study_name="eight", storage=database)
    assert [t.number for t in study.trials] == list(range(BUDGET))
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    ran = [n for _, out in workers for n in json.loads(out.read_text())["trials"]]
    assert sorted(ran) == list(range(BUDGET))  # no trial run twice, none lost
    assert len({t.user_attrs["worker"] for t in study.trials}) > 1  # the work was shared


def test_a_late_worker_finds_the_budget_spent(database, tmp_path):
    first = start_sleep_workers(database, "late", 1, 3, 0.0, tmp_path)
    wait_all(first, timeout=60, out_dir=tmp_path)
    (tmp_path / "late").mkdir()
    late = start_sleep_workers(database, "late", 1, 3, 0.0, tmp_path / "late")
    wait_all(late, timeout=60, out_dir=tmp_path / "late")
    assert json.loads(late[0][1].read_text())["trials"] == []
    assert len(optuna.load_study(study_name="late", storage=database).trials) == 3
