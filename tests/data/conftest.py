"""Small data made on the fly: seeded random DNA written as CSV/TSV/FASTA/FASTQ (plain or gz).

Tests get the helpers through the ``make`` fixture (pytest runs with --import-mode=importlib,
so test modules cannot import a sibling helper module).
"""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from hpo.spec.schema import CleanSpec, DataSpec, ModelSpec, SplitSpec, StudySpec

COMPLEMENT = str.maketrans("ACGT", "TGCA")


def revcomp(sequence: str) -> str:
    return sequence.translate(COMPLEMENT)[::-1]


class Make:
    """Writers of small input files under one tmp_path, and spec builders."""

    def __init__(self, root: Path):
        self.root = root

    @staticmethod
    def dna(count: int, length: int = 60, seed: int = 0) -> list[str]:
        """``count`` random sequences, no two equal or reverse complements of each other."""
        rng = np.random.default_rng(seed)
        seen: set[str] = set()
        out: list[str] = []
        while len(out) < count:
            s = "".join(rng.choice(list("ACGT"), size=length))
            if s not in seen and revcomp(s) not in seen:
                seen.update((s, revcomp(s)))
                out.append(s)
        return out

    revcomp = staticmethod(revcomp)

    def text(self, name: str, text: str) -> Path:
        path = self.root / name
        if name.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8") as handle:
                handle.write(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def table(self, name: str, rows: list[dict], delimiter: str | None = None) -> Path:
        delimiter = delimiter or ("," if ".csv" in name else "\t")
        columns = list(rows[0])
        lines = [delimiter.join(columns)]
        lines += [delimiter.join(str(row[c]) for c in columns) for row in rows]
        return self.text(name, "\n".join(lines) + "\n")

    def fasta(self, name: str, records: list[tuple[str, str]]) -> Path:
        """records: (header after '>', sequence)."""
        return self.text(name, "".join(f">{header}\n{seq}\n" for header, seq in records))

    def fastq(self, name: str, records: list[tuple[str, str, str]]) -> Path:
        """records: (header after '@', sequence, qualities)."""
        return self.text(name, "".join(f"@{h}\n{s}\n+\n{q}\n" for h, s, q in records))

    def rows(self, count: int = 100, length: int = 60, labels: str = "ab", seed: int = 0):
        """Distinct reads with labels cycling through ``labels``; ids r0, r1, ..."""
        return [{"id": f"r{i}", "sequence": s, "label": labels[i % len(labels)]}
                for i, s in enumerate(self.dna(count, length, seed))]

    @staticmethod
    def clean(**overrides) -> CleanSpec:
        """Every rule that removes reads off (normalise and the alphabet stay on)."""
        settings = dict(adapters=[], min_length=1, max_length=None, max_n_fraction=1.0,
                        max_dust_score=None, min_mean_quality=None, deduplicate=False,
                        reverse_complement_duplicates=False, drop_label_conflicts=False)
        settings.update(overrides)
        return CleanSpec(**settings)

    @staticmethod
    def data(path: Path, clean: CleanSpec | None = None, split: SplitSpec | None = None,
             **settings) -> DataSpec:
        return DataSpec(path=path, clean=clean or CleanSpec(),
                        split=split or SplitSpec(seed=7), **settings)

    def study(self, data: DataSpec, output: Path | None = None) -> StudySpec:
        return StudySpec(name="t", data=data, model=ModelSpec(name_or_path="unused"),
                         output=output or self.root / "out")


@pytest.fixture
def make(tmp_path) -> Make:
    return Make(tmp_path)
