"""The one error type of data preparation.

Every problem with the user's input file is a ``DataError``: a ``ValueError`` whose message
names the file, where in it (line, or record when the format has no line numbers we can
trust), what was found and what was expected. It is raised before anything is written.
"""
from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """Bad input data; ``path`` and ``where`` say which file and which line or record."""

    def __init__(self, message: str, path: str | Path | None = None, where: str | None = None):
        self.message = message
        self.path = str(path) if path is not None else None
        self.where = where
        head = ": ".join(part for part in (self.path, where) if part)
        super().__init__(f"{head}: {message}" if head else message)


def shorten(text: str, limit: int = 60) -> str:
    """A value cut to fit in an error message (sequences may be kilobases long)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def list_places(places: list[str], limit: int = 10) -> str:
    """'line 3, line 9 and 4 more': enough to find the rows without flooding the terminal."""
    shown = ", ".join(places[:limit])
    return shown + (f" and {len(places) - limit} more" if len(places) > limit else "")
