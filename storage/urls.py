"""URL helpers shared by Optuna and MLflow storage."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def url_password(url: str) -> str | None:
    """The password written into ``url``, if any (plain paths have none)."""
    return urlsplit(url).password if "://" in url else None


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, safe for logs, MLflow tags and reports."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def redact_text(text: str, url: str) -> str:
    """``text`` with the password of ``url`` (if any) replaced by ***: for error messages
    from drivers, which may quote what they were given."""
    password = url_password(url)
    return text.replace(password, "***") if password else text


def storage_kind(url: str) -> str:
    """'sqlite', 'postgresql', 'mysql', 'journal' (a journal file) or the URL's scheme."""
    if url.startswith("journal:") or url.endswith((".log", ".journal")):
        return "journal"
    scheme = urlsplit(url).scheme
    return scheme.split("+", 1)[0] or "file"


def local_path(url: str) -> Path | None:
    """The file behind a ``sqlite:///PATH`` or journal URL; None for in-memory or server URLs."""
    kind = storage_kind(url)
    if kind == "journal":
        return Path(url.split("://", 1)[1] if "://" in url else url)
    if kind != "sqlite":
        return None
    database = url.split(":///", 1)[1] if ":///" in url else ""
    database = database.split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database)
