"""Study-wide locks: one worker at a time decides whether the budget allows another trial.

Counting the study's trials and creating the next one must be one atomic step across workers,
or two workers that both see "one trial left" both start one. Optuna's storages have no such
lock, so each backend gets the lock it already offers:

- PostgreSQL: a transaction-level advisory lock (``pg_advisory_xact_lock``) on a connection of
  its own. The server releases it when the transaction ends, and a connection that dies (a
  killed worker, a server restart) ends its transaction; ``idle_in_transaction_session_timeout``
  bounds how long a silent holder (a machine that vanished mid-lock) can block the others.
- SQLite and journal files: ``flock`` on a file beside the database or journal; the kernel
  releases it when the holder dies. (Linux NFS clients map ``flock`` to POSIX byte-range locks,
  which NFS carries, so this also holds for a journal on a shared file system.)
- Anything else (an in-memory store): a lock within this process.

The same locks serialise a study's set-up (creating the study, its MLflow parent run, the
baseline trial), so workers that start together create each thing once.
``schema_lock`` guards creating Optuna's tables in a new database the same way (an advisory lock
on PostgreSQL, ``flock`` beside a SQLite file).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

from storage.urls import local_path, storage_kind

log = logging.getLogger("storage.locks")

# Seconds a lock holder may stay silent inside its critical section before PostgreSQL ends its
# session (and so the lock): the bound on how long a worker whose machine vanished mid-lock
# blocks the others. Critical sections take milliseconds; a study's set-up talks to MLflow once
# and takes seconds, so only a holder stalled for minutes loses its lock early.
LOCK_IDLE_TIMEOUT_S = 120


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_*lock`` from a name."""
    digest = hashlib.blake2b(f"dnahpo:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresAdvisoryLock:
    """``pg_advisory_xact_lock(key)`` held for the body of a ``with`` block."""

    def __init__(self, url: str, name: str):
        import sqlalchemy

        self.key = advisory_key(name)
        self.name = name
        # A dedicated one-connection engine: the lock's transaction must not share a connection
        # with Optuna's sessions, whose commits would end it (and release the lock) early.
        self.engine = sqlalchemy.create_engine(
            url, pool_size=1, max_overflow=0, pool_pre_ping=True,
            connect_args={"connect_timeout": 10, "application_name": "dnahpo-lock",
                          "options": f"-c idle_in_transaction_session_timeout="
                                     f"{LOCK_IDLE_TIMEOUT_S * 1000}"})

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        import sqlalchemy

        conn = self.engine.connect()
        try:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_xact_lock(:key)"), {"key": self.key})
            yield
        finally:
            # Ending the transaction releases the lock; nothing else ran on this connection, so
            # rollback loses nothing. If the connection died meanwhile, the server has already
            # released the lock with the session: discard the connection and carry on, since
            # the work done under the lock was committed on Optuna's own connections.
            try:
                conn.rollback()
            except Exception:  # noqa: BLE001
                log.debug("lock connection lost before release", exc_info=True)
                conn.invalidate()
            conn.close()

    def dispose(self) -> None:
        self.engine.dispose()


class FileLock:
    """``flock`` on ``path``: exclusive, blocking, not re-entrant."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.Lock()  # flock is per open file, so threads need their own lock

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._local, open(self.path, "a+b") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def dispose(self) -> None:
        pass


class ProcessLock:
    """For storages only this process can see (``sqlite:///:memory:``, in-memory studies)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            yield

    def dispose(self) -> None:
        pass


StudyLock = PostgresAdvisoryLock | FileLock | ProcessLock


def study_lock(url: str, study_name: str) -> StudyLock:
    """The lock that serialises budget decisions of study ``study_name`` in storage ``url``.

    Use it as ``with lock(): ...``.
    """
    kind = storage_kind(url)
    if kind == "postgresql":
        return PostgresAdvisoryLock(url, f"study:{study_name}")
    if kind in ("sqlite", "journal"):
        path = local_path(url)
        if path is not None:
            return FileLock(path.with_name(f"{path.name}.{study_name}.lock"))
    return ProcessLock()


def schema_lock(url: str) -> contextlib.AbstractContextManager:
    """A lock around creating Optuna's tables: workers that start together on an empty database
    would otherwise race in ``CREATE TABLE`` and in stamping the schema version. SQLite needs it
    too: one process writes trials, but `hpo status` run while the first `hpo run` starts (or a
    test polling the study) opens the same new file, and whoever loses the race fails with
    "table studies already exists" or "UNIQUE constraint failed: alembic_version"."""
    kind = storage_kind(url)
    if kind == "sqlite":
        path = local_path(url)
        if path is None:
            return contextlib.nullcontext()  # in memory: this process alone
        return FileLock(path.with_name(f"{path.name}.schema.lock"))()
    if kind != "postgresql":
        return contextlib.nullcontext()  # journals have no schema
    lock = PostgresAdvisoryLock(url, "optuna-schema")

    @contextlib.contextmanager
    def held() -> Iterator[None]:
        try:
            with lock():
                yield
        finally:
            lock.dispose()

    return held()

