"""Checks on the labels (and groups) that decide whether a split is possible at all.

They run twice: on the loaded reads, before any costly cleaning, so that a hopeless file fails
in seconds; and on the cleaned reads, since cleaning can empty a class.
"""
from __future__ import annotations

import math

from hpo.data.errors import DataError
from hpo.data.records import ReadTable
from hpo.spec.schema import SplitSpec


def smallest_stratum(split: SplitSpec) -> int:
    """Reads a class needs so that every split gets at least one: 1 / smallest fraction."""
    smallest = min(split.train, split.validation, split.test)
    return math.ceil(1 / smallest - 1e-9)


def check_splittable(table: ReadTable, split: SplitSpec, stage: str, why: str = "") -> None:
    """Raise ``DataError`` unless ``table`` has two classes, each large enough to stratify.

    ``stage`` ("in the file", "after cleaning") says in the message which reads were counted;
    ``why`` is appended to it (e.g. what cleaning removed).
    """
    counts = table.label_counts()
    fractions = f"{split.train:g}/{split.validation:g}/{split.test:g}"
    stage = f"{stage}{why}"
    if not counts:
        raise DataError(f"no reads left {stage}; expected at least two labels to learn from",
                        table.source)
    if len(counts) < 2:
        only = ", ".join(f"{name!r} ({n} read{'s' if n != 1 else ''})"
                         for name, n in counts.items())
        raise DataError(f"only one class {stage}: {only}; expected at least two labels to "
                        f"learn from", table.source)
    needed = smallest_stratum(split)
    if table.groups is not None:
        groups = len(set(table.groups))
        if groups < 3:
            raise DataError(f"{groups} group(s) {stage}; expected at least 3, one per split "
                            f"(train/validation/test), since a group never spans two splits",
                            table.source)
        return  # groups are split whole; per-class counts can only be balanced approximately
    if split.stratify:
        small = {name: n for name, n in counts.items() if n < needed}
        if small:
            listed = ", ".join(f"{name!r} has {n}" for name, n in small.items())
            raise DataError(f"class too small to stratify {stage}: {listed} read(s); splitting "
                            f"{fractions} needs at least {needed} reads per class so that every "
                            f"split gets one", table.source)
    elif len(table) < needed:
        raise DataError(f"{len(table)} reads {stage}; splitting {fractions} needs at least "
                        f"{needed} so that every split gets one", table.source)
