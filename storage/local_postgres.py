"""A throwaway PostgreSQL server in a temporary folder, on a free loopback port.

For tests and benchmarks (and a quick local try of distributed workers): ``initdb`` a fresh
cluster, start it on 127.0.0.1 only, hand out URLs, restart or stop it.

    with LocalPostgres() as pg:
        url = pg.url("studies")           # postgresql+psycopg://postgres@127.0.0.1:PORT/studies
        env = pg.client_env()             # PGPASSWORD for the worker processes

PostgreSQL refuses to run as root. Run as root (CI, containers), the server runs as the
``postgres`` system user that Debian's package creates, its folder owned by that user; run as
anyone else, it runs as the current user. Host connections need the password (scram-sha-256),
as a real server would: credentials travel in PGPASSWORD, never in a URL that gets logged.
"""
from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

SERVICE_USER = "postgres"
DEFAULT_PASSWORD = "dnahpo-local"  # a throwaway server on loopback; tests check it is redacted
# Durability off: a test server's data is thrown away, and fsync on a shared disk would make
# every commit cost milliseconds that measure the disk, not the code.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine, or no user to run them as."""


def find_postgres_bin() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``: PATH first, then Debian's versioned folders."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parent.parent.name)
                        if Path(p).parent.parent.name.isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalPostgres:
    """One PostgreSQL cluster in ``root`` (a new temporary folder by default)."""

    def __init__(self, root: Path | None = None, password: str = DEFAULT_PASSWORD,
                 fast: bool = True, max_connections: int = 200):
        bindir = find_postgres_bin()
        if bindir is None:
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in "
                "/usr/lib/postgresql/*/bin; install them, e.g. `apt-get install postgresql`")
        self.bindir = bindir
        self.run_as = self._service_account()
        self.root = Path(root) if root else Path(tempfile.mkdtemp(
            prefix="dnahpo-pg-", dir=self._temp_parent()))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self.password = password
        self.user = "postgres"  # the cluster's superuser (initdb -U)
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.settings = {"listen_addresses": self.host, "unix_socket_directories": str(self.root),
                         "max_connections": str(max_connections),
                         **(FAST_SETTINGS if fast else {})}
        self._owns_root = root is None
        self._started = False

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self, attempts: int = 3) -> "LocalPostgres":
        if not self.data_dir.exists():
            self._initdb()
        for attempt in range(attempts):  # a free port can be taken between choosing and binding
            self.port = _free_port()
            result = self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_file),
                                  "-o", self._server_options(), check=False)
            if result.returncode == 0:
                self._started = True
                atexit.register(self.stop)  # never leave a server behind a crashed test run
                return self
        raise RuntimeError(f"PostgreSQL did not start in {self.root}: {result.stdout}\n"
                           f"{self.log_tail()}")

    def restart(self) -> None:
        """Stop (fast: open connections are cut, as in a real outage) and start again."""
        self._pg_ctl("restart", "-m", "fast", "-w", "-t", "60", "-l", str(self.log_file),
                     "-o", self._server_options())

    def stop(self) -> None:
        if self._started:
            self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60", check=False)
            self._started = False
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what clients need ------------------------------------------------------------------------
    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg",
            with_password: bool = False, port: int | None = None) -> str:
        """A SQLAlchemy URL; without the password unless asked (it belongs in PGPASSWORD)."""
        auth = f"{self.user}:{self.password}" if with_password else self.user
        return f"{driver}://{auth}@{self.host}:{port or self.port}/{database}"

    def client_env(self) -> dict[str, str]:
        """Environment for client processes: the password where libpq looks for it."""
        return {"PGPASSWORD": self.password}

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name (if missing); returns its URL (without the password)."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user=self.user,
                             password=self.password, dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                  (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # --- internals --------------------------------------------------------------------------------
    @staticmethod
    def _service_account() -> pwd.struct_passwd | None:
        """The user the server runs as: ``postgres`` when we are root, else ourselves (None)."""
        if os.geteuid() != 0:
            return None
        try:
            return pwd.getpwnam(SERVICE_USER)
        except KeyError:
            raise PostgresUnavailable(
                f"running as root, and PostgreSQL refuses to run as root, but there is no "
                f"{SERVICE_USER!r} system user to run it as (Debian's `postgresql` package "
                f"creates it; or run the tests as a non-root user)") from None

    def _temp_parent(self) -> str:
        """The temporary folder, if the server's user can reach into it (a root-only TMPDIR
        cannot be), else /tmp."""
        parent = Path(tempfile.gettempdir())
        if self.run_as is None:
            return str(parent)
        reachable = all(p.stat().st_mode & stat.S_IXOTH for p in (parent, *parent.parents))
        return str(parent) if reachable else "/tmp"

    def _initdb(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if self.run_as is not None:  # the server's user must own its folder
            for path in (self.root, password_file):
                os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)
        os.chmod(self.root, 0o700)
        try:
            self._run([str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", self.user,
                       "--pwfile", str(password_file), "--auth-host=scram-sha-256",
                       "--auth-local=trust", "--encoding=UTF8", "--no-sync", "--no-instructions"])
        finally:
            password_file.unlink(missing_ok=True)

    def _server_options(self) -> str:
        options = {**self.settings, "port": str(self.port)}
        return " ".join(f"-c {key}={value}" for key, value in options.items())

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._run([str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args],
                         check=check)

    def _run(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
        account = self.run_as
        # Switch user in the child itself (no sudo/runuser needed); drop root's extra groups too.
        ids = {} if account is None else {"user": account.pw_uid, "group": account.pw_gid,
                                          "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8",
               "HOME": account.pw_dir if account else os.environ.get("HOME", "/")}
        result = subprocess.run(cmd, cwd=self.root, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, **ids)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n"
                               f"{self.log_tail()}")
        return result

    def wait_ready(self, timeout: float = 60) -> None:
        """Block until the server accepts connections (after a restart by someone else)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self._run([str(self.bindir / "pg_isready"), "-h", self.host,
                                "-p", str(self.port)], check=False)
            if result.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"PostgreSQL on port {self.port} not ready after {timeout:.0f} s")
