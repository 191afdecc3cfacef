"""Optuna storages from URLs, with heartbeats and retries of stale trials.

- ``sqlite:///path.db``: one machine, one worker (Optuna's FAQ: SQLite is not for parallel
  workers). A long busy timeout lets a trial process report while the parent holds the file.
- ``postgresql+psycopg://user@host/db``: many workers on many machines. ``pool_pre_ping`` drops
  connections a server restart killed; the password comes from PGPASSWORD or ~/.pgpass.
- ``journal:///shared/fs/study.log`` (or a path ending in .log): Optuna's journal file storage
  for shared file systems without a database server. Optuna 5 records no heartbeats there: a
  dead worker's trial stays RUNNING (see docs/distributed.md).
With a heartbeat, a trial whose worker died is marked failed after the grace period and
re-enqueued once per allowed retry (Optuna 5's ``RetryHeartbeatStaleTrialCallback``, made to
cope with enqueued parameters outside the search space: storage.retry).
"""
from __future__ import annotations

import logging

import optuna
from optuna.storages import RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalStorage

from storage.locks import schema_lock
from storage.retry import RetryStaleTrial
from storage.urls import local_path, storage_kind

log = logging.getLogger("storage.optuna")

# libpq settings for every PostgreSQL connection: give up on an unreachable host after 10 s
# instead of the OS's minutes, and probe idle connections so a vanished peer is noticed.
POSTGRES_CONNECT_ARGS = {"connect_timeout": 10, "application_name": "dnahpo",
                         "keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
                         "keepalives_count": 3}


def make_optuna_storage(url: str, heartbeat_interval: int | None = None,
                        grace_period: int | None = None,
                        failed_trial_retries: int = 0) -> optuna.storages.BaseStorage:
    kind = storage_kind(url)
    if kind == "journal":
        if heartbeat_interval:
            log.warning("%s: Optuna keeps no heartbeats in a journal, so a dead worker's trial "
                        "stays RUNNING until marked failed (docs/distributed.md)", url)
        path = local_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    engine_kwargs: dict = {"pool_pre_ping": True}
    if kind == "sqlite":
        database = local_path(url)
        if database is not None:
            database.parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 120}}
    elif kind == "postgresql":
        engine_kwargs["connect_args"] = dict(POSTGRES_CONNECT_ARGS)
    retry = (RetryStaleTrial(max_retry=failed_trial_retries)
             if heartbeat_interval and failed_trial_retries > 0 else None)
    with schema_lock(url):  # the first workers on an empty database create the tables once
        return RDBStorage(url, engine_kwargs=engine_kwargs,
                          heartbeat_interval=heartbeat_interval,
                          grace_period=grace_period if heartbeat_interval else None,
                          heartbeat_stale_trial_callback=retry)
