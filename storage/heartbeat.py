"""Heartbeats for trials run with ask/tell.

``Study.optimize`` records a trial's heartbeat from a thread of its own; a loop built on
``study.ask()``/``study.tell()`` must do that itself, or every trial it runs looks dead to the
other workers after the grace period. This is that thread, using the storage's public
``record_heartbeat``: a missed beat (a database restart) is logged and retried at the next one,
never fatal, since the grace period is there to absorb exactly such gaps.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

import optuna

log = logging.getLogger("storage.heartbeat")


def heartbeat_interval(storage: optuna.storages.BaseStorage) -> int | None:
    """The storage's heartbeat interval in seconds, or None when it records no heartbeats."""
    getter = getattr(storage, "get_heartbeat_interval", None)
    return getter() if callable(getter) and hasattr(storage, "record_heartbeat") else None


@contextlib.contextmanager
def trial_heartbeat(storage: optuna.storages.BaseStorage, trial_id: int) -> Iterator[None]:
    """Record the trial's heartbeat every interval while the body runs (a no-op without one)."""
    interval = heartbeat_interval(storage)
    if not interval:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=_beat, args=(storage, trial_id, interval, stop),
                              name=f"heartbeat-trial-{trial_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def _beat(storage, trial_id: int, interval: int, stop: threading.Event) -> None:
    try:
        while not stop.wait(interval):
            try:
                storage.record_heartbeat(trial_id)
            except Exception as exc:  # noqa: BLE001 - a missed beat must not end the trial
                log.warning("heartbeat of trial id %d not recorded (%s); retrying in %d s",
                            trial_id, type(exc).__name__, interval)
    finally:
        remove = getattr(storage, "remove_session", None)
        if callable(remove):  # RDBStorage keeps a session per thread; close this thread's
            remove()
