"""Exact and reverse-complement duplicates, and copies that disagree on their label.

A read and its reverse complement are the same molecule read from the other strand, so with
``reverse_complement_duplicates`` both map to one canonical key, ``min(seq, revcomp(seq))``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# IUPAC complements (N stays N); lowercase too, for tables that were not normalised.
_COMPLEMENT = bytes.maketrans(b"ACGTUNRYKMSWBDHVacgtunrykmswbdhv",
                              b"TGCAANYRMKSWVHDBtgcaanyrmkswvhdb")


def reverse_complements(sequences: list[str]) -> list[str]:
    """Reverse complement of each sequence, computed on all of them joined (one C call)."""
    if not sequences:
        return []
    joined = "\n".join(sequences).encode("ascii", "replace")
    result = joined.translate(_COMPLEMENT)[::-1].decode("ascii").split("\n")
    if len(result) != len(sequences):  # a sequence with a line break in it: go one by one
        result = [s.encode("ascii", "replace").translate(_COMPLEMENT)[::-1].decode("ascii")
                  for s in reversed(sequences)]
    result.reverse()
    return result


def canonical_keys(sequences: list[str], reverse_complement: bool) -> list[str]:
    """The sequence, or the smaller of it and its reverse complement."""
    if not reverse_complement:
        return sequences
    return list(map(min, sequences, reverse_complements(sequences)))


@dataclass
class DuplicateMarks:
    """Boolean masks over the reads: which are later copies, and which carry a conflicting label."""

    duplicate: np.ndarray  # a later exact copy of an earlier read
    reverse_complement_duplicate: np.ndarray  # a later copy of an earlier read's reverse complement
    label_conflict: np.ndarray  # any copy of a sequence whose copies disagree on the label
    keys: list[str]  # each read's canonical key (reusable by the cross-split check)


def mark_duplicates(sequences: list[str], labels: list[str],
                    reverse_complement: bool) -> DuplicateMarks:
    """Marks every copy after the first of each sequence (by canonical key), first one kept."""
    count = len(sequences)
    keys = canonical_keys(sequences, reverse_complement)
    first_of: dict[str, int] = {}
    # first[i]: position of the first read with read i's key (map keeps the loop in C).
    first = np.fromiter(map(first_of.setdefault, keys, range(count)), dtype=np.int64,
                        count=count)
    del first_of
    later = np.flatnonzero(first != np.arange(count))
    same_strand = np.fromiter((sequences[i] == sequences[j] for i, j in
                               zip(later.tolist(), first[later].tolist())), dtype=bool,
                              count=later.size)
    disagreeing = {j for i, j in zip(later.tolist(), first[later].tolist())
                   if labels[i] != labels[j]}
    duplicate = np.zeros(count, dtype=bool)
    duplicate[later[same_strand]] = True
    reverse_duplicate = np.zeros(count, dtype=bool)
    reverse_duplicate[later[~same_strand]] = True
    conflict = np.isin(first, np.fromiter(disagreeing, dtype=np.int64, count=len(disagreeing)))
    return DuplicateMarks(duplicate, reverse_duplicate, conflict, keys)
