"""Optuna storages from URLs, with heartbeats and retries of stale trials.

- ``sqlite:///path.db``: one machine, one worker (Optuna's FAQ: SQLite is not for parallel
  workers). A long busy timeout lets a trial process report while the parent holds the file.
- ``postgresql+psycopg://user@host/db``: many workers on many machines. ``pool_pre_ping`` drops
  connections a server restart killed; the password comes from PGPASSWORD or ~/.pgpass.
- ``journal:///shared/fs/study.log`` (or a path ending in .log): Optuna's journal file storage
  for shared file systems without a database server.
With a heartbeat, a trial whose worker died is marked failed after the grace period and
re-enqueued once per allowed retry (Optuna 5's ``RetryHeartbeatStaleTrialCallback``).
"""
from __future__ import annotations

from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalStorage

from storage.urls import storage_kind


def make_optuna_storage(url: str, heartbeat_interval: int | None = None,
                        grace_period: int | None = None,
                        failed_trial_retries: int = 0) -> optuna.storages.BaseStorage:
    kind = storage_kind(url)
    if kind == "journal":
        path = url.split("://", 1)[1] if "://" in url else url
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(path))
    engine_kwargs: dict = {"pool_pre_ping": True}
    if kind == "sqlite":
        database = url.split(":///", 1)[1] if ":///" in url else ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 120}}
    retry = (RetryHeartbeatStaleTrialCallback(max_retry=failed_trial_retries)
             if heartbeat_interval and failed_trial_retries > 0 else None)
    return RDBStorage(url, engine_kwargs=engine_kwargs,
                      heartbeat_interval=heartbeat_interval,
                      grace_period=grace_period if heartbeat_interval else None,
                      heartbeat_stale_trial_callback=retry)
