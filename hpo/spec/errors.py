"""Errors raised while reading a study file.

A study file is checked whole: every problem is collected with the key path it belongs to, and
they are raised together, so a user fixes a file in one pass rather than one error per run.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class SpecIssue:
    path: str  # dotted key path, e.g. "search.learning_rate.low"
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SpecError(ValueError):
    """One or more problems in a study file; ``issues`` holds all of them."""

    def __init__(self, issues: Iterable[SpecIssue], source: str | None = None):
        self.issues = list(issues)
        self.source = source
        head = f"{source}: " if source else ""
        count = len(self.issues)
        lines = [f"{head}{count} problem{'s' if count != 1 else ''} in the study file:"]
        lines += [f"  - {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))


@dataclass
class IssueCollector:
    """Accumulates issues while a study file is parsed."""

    issues: list[SpecIssue] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.issues.append(SpecIssue(path, message))

    def __len__(self) -> int:
        return len(self.issues)


def join_path(parent: str, key: object) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def suggest(word: str, candidates: Iterable[str]) -> str:
    """' did you mean 'x'?' for the closest candidate, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""
