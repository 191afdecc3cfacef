"""`hpo storage check URL`: is an Optuna storage usable, which schema and studies does it hold,
and if not, what is wrong and what to do about it.

The check only reads: it never creates tables, files or databases (constructing an
``RDBStorage`` would create Optuna's tables in an empty database, so that happens only once
the tables are known to exist).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from storage.urls import local_path, redact_text, redact_url, storage_kind

CONNECT_TIMEOUT_S = 5
OPTUNA_TABLES = ("studies", "trials", "version_info", "alembic_version")


@dataclass
class StudySummary:
    name: str
    directions: list[str]
    trials: dict[str, int]  # state name (lower case) -> count


@dataclass
class StorageReport:
    url: str  # redacted
    kind: str
    ok: bool
    problem: str | None = None  # what failed, in the words of the driver or server
    advice: str | None = None  # what to do about it
    schema_version: str | None = None  # Optuna's alembic revision in the database
    head_version: str | None = None  # ... and the one this Optuna writes
    note: str | None = None  # e.g. "empty: the first `hpo run` creates the tables"
    studies: list[StudySummary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def format(self) -> str:
        lines = [f"storage: {self.url} ({self.kind})",
                 f"status:  {'OK' if self.ok else 'NOT OK'}"]
        if self.problem:
            lines.append(f"problem: {self.problem}")
        if self.advice:
            lines.append(f"to fix:  {self.advice}")
        if self.schema_version or self.head_version:
            same = " (current)" if self.schema_version == self.head_version else ""
            lines.append(f"schema:  {self.schema_version or '-'}{same}; this Optuna writes "
                         f"{self.head_version or '-'}")
        if self.note:
            lines.append(f"note:    {self.note}")
        if self.ok and not self.note:
            lines.append(f"studies: {len(self.studies)}")
            for study in self.studies:
                counts = ", ".join(f"{n} {state}" for state, n in study.trials.items()) or "no trials"
                lines.append(f"  {study.name} ({'/'.join(study.directions)}): {counts}")
        return "\n".join(lines)


def check_storage(url: str) -> StorageReport:
    """Connect to Optuna storage ``url`` read-only and report; never raises for an unusable one."""
    kind = storage_kind(url)
    return _checked(url, _check_journal if kind == "journal" else _check_database)


def check_connection(url: str) -> StorageReport:
    """Only whether a database URL accepts a connection (e.g. an MLflow server's backend)."""
    return _checked(url, _check_connects)


def _check_connects(url: str, report: StorageReport) -> None:
    _tables(url, report.kind)
    report.ok = True


def _checked(url: str, check) -> StorageReport:
    report = StorageReport(url=redact_url(url), kind=storage_kind(url), ok=False)
    try:
        check(url, report)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a diagnosis, not a traceback
        report.ok = False
        report.problem, report.advice = diagnose(exc, url)
    # Drivers quote what they were given; make sure no password leaves this function.
    for name in ("problem", "advice", "note"):
        value = getattr(report, name)
        if value:
            setattr(report, name, redact_text(value, url))
    return report


# --- databases (SQLAlchemy) -----------------------------------------------------------------------
def _tables(url: str, kind: str) -> set[str]:
    """Connect once (no pool, short timeout) and list the tables."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if kind == "postgresql" else {}
    engine = sqlalchemy.create_engine(url, connect_args=connect_args, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return set(sqlalchemy.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _check_database(url: str, report: StorageReport) -> None:
    if report.kind == "sqlite":
        path = local_path(url)
        if path is not None and not path.exists():
            _missing_file(path, report, "SQLite database")
            return
    tables = _tables(url, report.kind)
    present = [t for t in OPTUNA_TABLES if t in tables]
    if not present:
        report.ok = True
        report.note = ("reachable and empty: no Optuna tables yet; the first `hpo run` or "
                       "`hpo worker` creates them")
        return
    if len(present) < len(OPTUNA_TABLES):
        missing = ", ".join(t for t in OPTUNA_TABLES if t not in tables)
        report.problem = f"incomplete Optuna schema: tables {missing} are missing"
        report.advice = ("this database was not created by Optuna, or its creation was cut "
                         "short; use an empty database (or drop Optuna's tables) and run again")
        return
    _read_optuna_schema(url, report)


def _read_optuna_schema(url: str, report: StorageReport) -> None:
    import optuna

    # The tables exist, so these flags make construction read-only (no CREATE, no stamping).
    storage = optuna.storages.RDBStorage(url, skip_compatibility_check=True,
                                         skip_table_creation=True,
                                         engine_kwargs=_engine_kwargs(url))
    try:
        report.schema_version = storage.get_current_version()
        report.head_version = storage.get_head_version()
        if report.schema_version != report.head_version:
            if report.schema_version in storage.get_all_versions():
                report.problem = (f"schema {report.schema_version} is older than this Optuna "
                                  f"{optuna.__version__} ({report.head_version})")
                report.advice = (f"back up the database, then: optuna storage upgrade "
                                 f"--storage '{report.url}'")
            else:
                report.problem = (f"schema {report.schema_version} was written by a newer Optuna "
                                  f"than {optuna.__version__}")
                report.advice = "upgrade Optuna on this machine to the version the workers use"
            return
        report.studies = [_summary(storage, s) for s in storage.get_all_studies()]
        report.ok = True
    finally:
        storage.engine.dispose()


def _summary(storage, study) -> StudySummary:
    counts: dict[str, int] = {}
    for trial in storage.get_all_trials(storage.get_study_id_from_name(study.study_name),
                                          deepcopy=False):
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    return StudySummary(study.study_name, [d.name.lower() for d in study.directions], counts)


def _engine_kwargs(url: str) -> dict[str, Any]:
    if storage_kind(url) == "postgresql":
        return {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S}}
    return {}


# --- journal files --------------------------------------------------------------------------------
def _check_journal(url: str, report: StorageReport) -> None:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = local_path(url)
    if not path.exists():
        _missing_file(path, report, "journal file")
        return
    storage = JournalStorage(JournalFileBackend(str(path)))
    report.studies = [_summary(storage, s) for s in storage.get_all_studies()]
    report.note = None
    report.ok = True


def _missing_file(path: Path, report: StorageReport, what: str) -> None:
    folder = path.parent
    if folder.is_dir():
        report.ok = True
        report.note = f"no {what} at {path} yet; the first `hpo run` or `hpo worker` creates it"
    else:
        report.problem = f"no {what} at {path}, and its folder {folder} does not exist"
        report.advice = ("check the path (on a cluster: is the shared file system mounted on "
                         "this machine?) or create the folder")


# --- turning driver errors into advice ------------------------------------------------------------
# (pattern in the driver's message, what it means, what to do); first match wins.
_DIAGNOSES = (
    (r"failed to resolve host|could not translate host name|Name or service not known",
     "the host name does not resolve (DNS)",
     "check the host in the URL, or use the server's IP address"),
    (r"Connection refused",
     "connection refused: nothing listens on that host and port",
     "check the port, that the server runs, and that it listens on this address "
     "(listen_addresses in postgresql.conf)"),
    (r"timeout expired|timed out|No route to host|Network is unreachable",
     "the server did not answer (unreachable host, or a firewall drops the packets)",
     "check the host, the network path and firewalls between this machine and the server"),
    (r"no password supplied",
     "authentication failed: the server wants a password and none was given",
     "set PGPASSWORD in the environment or add a line to ~/.pgpass "
     "(host:port:database:user:password, mode 600); never put it in the study file"),
    (r"password authentication failed|authentication failed",
     "authentication failed: wrong user name or password",
     "check the user in the URL and the password in PGPASSWORD or ~/.pgpass"),
    (r'role "[^"]*" does not exist',
     "authentication failed: the user does not exist on the server",
     "create it (CREATE ROLE name LOGIN PASSWORD ...) or fix the user in the URL"),
    (r"no pg_hba.conf entry",
     "the server does not accept connections from this machine or user",
     "add a host line for this client to the server's pg_hba.conf and reload it"),
    (r'database "[^"]*" does not exist',
     "the database does not exist",
     "create it once: createdb -h HOST -p PORT -U USER NAME (or CREATE DATABASE name;)"),
    (r"permission denied",
     "permission denied",
     "grant the user CONNECT on the database and CREATE on its schema"),
    (r"SSL",
     "the TLS (SSL) handshake failed",
     "check sslmode in the URL (e.g. ?sslmode=require) and the server's certificates"),
)


def diagnose(exc: BaseException, url: str) -> tuple[str, str]:
    """(what failed, what to do) for an error raised while connecting to ``url``."""
    import sqlalchemy.exc

    kind = storage_kind(url)
    if isinstance(exc, ModuleNotFoundError) or isinstance(exc, sqlalchemy.exc.NoSuchModuleError):
        return _driver_missing(exc, url, kind)
    message = _driver_message(exc)
    for pattern, meaning, advice in _DIAGNOSES:
        if re.search(pattern, message, flags=re.IGNORECASE):
            return f"{meaning} ({message})", advice
    return message, "see the message above; `hpo storage check URL` diagnoses a storage URL"


def _driver_missing(exc: BaseException, url: str, kind: str) -> tuple[str, str]:
    scheme = url.split("://", 1)[0]
    if kind == "postgresql":
        return (f"the database driver for {scheme}:// is not installed ({exc})",
                "use postgresql+psycopg://... (psycopg 3), installed with "
                "pip install 'dnahpo[postgres]'")
    if kind == "mysql":
        return (f"the database driver for {scheme}:// is not installed ({exc})",
                "install one, e.g. pip install pymysql, and use mysql+pymysql://...")
    return (f"unknown storage URL scheme {scheme!r} ({exc})",
            "use sqlite:///PATH, postgresql+psycopg://USER@HOST:PORT/DB or journal:///PATH")


def _driver_message(exc: BaseException) -> str:
    """The driver's own words, without SQLAlchemy's wrapper and background link."""
    inner = getattr(exc, "orig", None) or exc.__cause__ or exc
    text = " ".join(line.strip() for line in str(inner).splitlines()
                    if line.strip() and "sqlalche.me" not in line)
    return re.sub(r"^\([\w.]+\)\s*", "", text)[:400]
