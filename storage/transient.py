"""Riding out a database restart: retry a storage call whose connection was lost.

``pool_pre_ping`` replaces connections that died while idle in the pool; a call that was in
flight when the server went away (or that starts while it is down) still fails, with an
OperationalError that Optuna wraps in ``StorageInternalError``. Retry only calls that are safe
to repeat: a transaction that failed was rolled back, so repeating it does it once; ``tell``
is made idempotent with ``skip_if_finished=True``.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger("storage.transient")
T = TypeVar("T")

# Seconds between attempts; the total (about a minute) covers a restart or a fail-over.
BACKOFF_S = (0.5, 1, 2, 4, 8, 15, 30)


def is_transient(exc: BaseException) -> bool:
    """A lost or refused database connection, as opposed to a bug or a constraint violation."""
    return _connection_error(exc) is not None


def _connection_error(exc: BaseException | None) -> BaseException | None:
    """The SQLAlchemy connection error behind ``exc`` (Optuna wraps it), if there is one."""
    import sqlalchemy.exc

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
            return exc
        if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def retry_transient(call: Callable[[], T], what: str,
                    backoff: tuple[float, ...] = BACKOFF_S) -> T:
    """``call()``, repeated after each pause in ``backoff`` while it fails transiently."""
    for pause in (*backoff, None):
        try:
            return call()
        except Exception as exc:
            if pause is None or not is_transient(exc):
                raise
            log.warning("%s: database connection lost (%s); retrying in %g s", what,
                        _first_line(_connection_error(exc)), pause)
            time.sleep(pause)
    raise AssertionError("unreachable")


def _first_line(exc: BaseException) -> str:
    """The driver's message, first line (no SQL, no parameters: nothing secret)."""
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return f"{type(inner).__name__}: {text[0] if text else ''}"[:200]
