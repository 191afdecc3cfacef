"""Reads held column-wise: millions of records cost one list per column, not one object each."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np


@dataclass
class ReadTable:
    """Parallel columns of one input file's reads (or a subset of them).

    ``origin[i]`` is the 0-based record number of read ``i`` in the input file, so that a read
    can still be named in an error message after rows before it were dropped.
    ``first_lines`` (tables only) maps a record number to the 1-based line it is on (None when a
    quoted field spans lines, then rows are named by their number after the header); FASTQ
    lines follow from the record number (dnaio reads exactly four lines per record); FASTA
    records span a varying number of lines, so they are named by record number and id.
    """

    source: Path
    format: str  # "csv", "tsv", "fasta" or "fastq"
    ids: list[str]
    sequences: list[str]
    labels: list[str]
    groups: list[str] | None = None
    qualities: list[str] | None = None  # FASTQ, phred+33
    origin: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    first_lines: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.origin) != len(self.sequences):
            self.origin = np.arange(len(self.sequences), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.sequences)

    def take(self, indices: np.ndarray | list[int]) -> ReadTable:
        """The reads at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)

        positions = idx.tolist()

        def pick(column: list[str] | None) -> list[str] | None:
            return None if column is None else list(map(column.__getitem__, positions))

        return replace(self, ids=pick(self.ids), sequences=pick(self.sequences),
                       labels=pick(self.labels), groups=pick(self.groups),
                       qualities=pick(self.qualities), origin=self.origin[idx])

    def where(self, i: int, with_id: bool = True) -> str:
        """Where read ``i`` is in the input file, for error messages."""
        record = int(self.origin[i])
        if self.first_lines is not None:
            place = f"line {int(self.first_lines[record])}"
        elif self.format == "fastq":
            place = f"line {4 * record + 1}"
        elif self.format in ("csv", "tsv"):  # a quoted field spans lines: count rows instead
            place = f"data row {record + 1}"
        else:
            place = f"record {record + 1}"
        return f"{place} (id {self.ids[i]!r})" if with_id else place

    def label_counts(self) -> dict[str, int]:
        counts = Counter(self.labels)
        return {name: counts[name] for name in sort_label_names(counts)}


def sort_label_names(names) -> list[str]:
    """Label names in class-id order: numerically when every name is an integer.

    Plain string order would give class ids 0, 1, 10, 2 to labels "0", "1", "10", "2", so a
    user's numeric labels would not keep their numbers; any other names sort as strings.
    """
    names = list(names)
    try:
        return sorted(names, key=lambda name: (int(name), name))
    except ValueError:
        return sorted(names)
