"""URL helpers shared by Optuna and MLflow storage."""
from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, safe for logs, MLflow tags and reports."""
    if "://" not in url:
        return url
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def storage_kind(url: str) -> str:
    """'sqlite', 'postgresql', 'mysql', 'journal' (a journal file) or the URL's scheme."""
    if url.startswith("journal:") or url.endswith((".log", ".journal")):
        return "journal"
    scheme = urlsplit(url).scheme
    return scheme.split("+", 1)[0] or "file"
