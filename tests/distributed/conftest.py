"""A real PostgreSQL server for the distributed tests, started once per session in a temporary
folder on a free loopback port (storage.local_postgres), and a fresh database per test.

Run as root (CI), the server runs as the `postgres` system user Debian's package creates.
Without the server binaries the tests are skipped, saying what to install.
"""
from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from storage.local_postgres import LocalPostgres, PostgresUnavailable, find_postgres_bin
from tests.helpers.tiny_model import make_tiny_model

REPO = Path(__file__).resolve().parents[2]


def start_postgres() -> LocalPostgres:
    """A started server, or a skip that says what is missing."""
    if find_postgres_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
                    "`postgresql` package (scripts/install.sh does, when run as root)")
    try:
        return LocalPostgres().start()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres():
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture
def pg_env(postgres, monkeypatch) -> dict[str, str]:
    """The password where libpq and every child process look for it: the environment."""
    for key, value in postgres.client_env().items():
        monkeypatch.setenv(key, value)
    return postgres.client_env()


@pytest.fixture
def database(postgres, pg_env, request) -> str:
    """The URL of a new, empty database for this test (no password in it)."""
    name = re.sub(r"\W+", "_", request.node.name.lower())[:40] + "_" + uuid.uuid4().hex[:6]
    return postgres.create_database(name)


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny-bert", family="bert")


def start_sleep_workers(url: str, study: str, n: int, budget: int, sleep: float, out_dir: Path,
                        *extra: str) -> list[tuple[subprocess.Popen, Path]]:
    """``n`` worker processes of tests.helpers.sleep_worker; each writes a JSON summary."""
    workers = []
    for i in range(n):
        out = out_dir / f"worker{i}.json"
        log = open(out_dir / f"worker{i}.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.sleep_worker", url, study, "--budget",
             str(budget), "--sleep", str(sleep), "--out", str(out), *extra],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        workers.append((proc, out))
    return workers


def wait_all(workers, timeout: float, out_dir: Path) -> None:
    for proc, _ in workers:
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for other, _ in workers:
                other.kill()
            raise AssertionError(f"a worker did not finish in {timeout:.0f} s; logs: "
                                 f"{_logs(out_dir)}")
        assert code == 0, f"worker exited {code}; logs: {_logs(out_dir)}"


def _logs(out_dir: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(
        out_dir.glob("*.log")))
