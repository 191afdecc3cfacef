"""`hpo storage check URL` against a real server: a good URL, a wrong port, a missing database,
authentication problems, and passwords kept out of its output."""
from __future__ import annotations

import json

import optuna
import pytest

from hpo.cli import main
from storage import make_optuna_storage
from storage.urls import redact_url

pytestmark = pytest.mark.postgres


def check(capsys, *args: str) -> tuple[int, str]:
    code = main(["storage", "check", *args])
    return code, capsys.readouterr().out


def test_empty_database_is_usable(database, capsys):
    code, out = check(capsys, database)
    assert code == 0, out
    assert "status:  OK" in out and "no Optuna tables yet" in out


def test_reports_schema_version_and_studies(database, capsys):
    storage = make_optuna_storage(database)
    study = optuna.create_study(study_name="listed", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    study.enqueue_trial({"x": 0.5})
    code, out = check(capsys, database)
    assert code == 0, out
    assert f"schema:  {storage.get_head_version()} (current)" in out
    assert "listed (minimize): 2 complete, 1 waiting" in out

    code, out = check(capsys, database, "--json")
    report = json.loads(out)
    assert report["ok"] and report["schema_version"] == storage.get_head_version()
    assert report["studies"] == [{"name": "listed", "directions": ["minimize"],
                                  "trials": {"complete": 2, "waiting": 1}}]


def test_wrong_port_is_connection_refused(postgres, pg_env, capsys):
    code, out = check(capsys, postgres.url("postgres", port=1))
    assert code == 1
    assert "connection refused" in out and "check the port" in out
    assert "127.0.0.1:1/postgres" in out  # names the URL it tried


def test_missing_database_says_how_to_create_it(postgres, pg_env, capsys):
    code, out = check(capsys, postgres.url("no_such_db"))
    assert code == 1
    assert "the database does not exist" in out and "createdb" in out


def test_missing_password_points_to_pgpassword(postgres, monkeypatch, capsys):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", "/nonexistent")  # no ~/.pgpass of the machine either
    code, out = check(capsys, postgres.url("postgres"))
    assert code == 1
    assert "wants a password and none was given" in out and "PGPASSWORD" in out


def test_password_never_printed(postgres, monkeypatch, capsys):
    monkeypatch.delenv("PGPASSWORD", raising=False)
    good = postgres.url("postgres", with_password=True)
    code, out = check(capsys, good)
    assert code == 0, out
    assert postgres.password not in out and "postgres:***@" in out

    wrong = good.replace(postgres.password, "Wr0ng-S3cret")
    code, out = check(capsys, wrong)
    assert code == 1 and "authentication failed" in out
    assert "Wr0ng-S3cret" not in out and redact_url(wrong) in out


def test_missing_driver_is_named(capsys):
    code, out = check(capsys, "mysql://user@127.0.0.1:3306/db")
    assert code == 1
    assert "driver" in out and "not installed" in out
