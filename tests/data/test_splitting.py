"""Split properties: stratification, disjointness (also by reverse complement), groups, seeds."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from hpo.data import SPLITS, ReadTable, remove_cross_split_copies, split_reads
from hpo.data.splitting import allocate
from hpo.spec.schema import SplitSpec


def table_of(labels, sequences=None, groups=None) -> ReadTable:
    sequences = sequences or [f"S{i}" for i in range(len(labels))]
    return ReadTable(source=Path("mem.tsv"), format="tsv", ids=[str(i) for i in range(len(labels))],
                     sequences=list(sequences), labels=list(labels), groups=groups)


def labels_with(counts: dict[str, int], seed: int = 0) -> list[str]:
    labels = [name for name, n in counts.items() for _ in range(n)]
    np.random.default_rng(seed).shuffle(labels)
    return labels


@pytest.mark.parametrize("fractions", [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.6, 0.25, 0.15)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_class_is_within_one_read_of_its_target(fractions, seed):
    counts = {"a": 101, "b": 37, "c": 14, "d": 1000}
    table = table_of(labels_with(counts, seed))
    parts = split_reads(table, SplitSpec(*fractions, seed=seed))
    for k, name in enumerate(SPLITS):
        got = Counter(table.labels[i] for i in parts[name])
        for label, n in counts.items():
            assert abs(got[label] - n * fractions[k]) < 1, (name, label, got[label])


def test_splits_are_disjoint_and_cover_every_read():
    table = table_of(labels_with({"a": 50, "b": 50}))
    parts = split_reads(table, SplitSpec(seed=3))
    joined = np.concatenate([parts[name] for name in SPLITS])
    assert sorted(joined.tolist()) == list(range(100))
    assert all(np.all(np.diff(parts[name]) > 0) for name in SPLITS)  # input order kept


def test_same_seed_same_split_other_seed_other_split():
    table = table_of(labels_with({"a": 60, "b": 40}))
    first = split_reads(table, SplitSpec(seed=5))
    again = split_reads(table, SplitSpec(seed=5))
    other = split_reads(table, SplitSpec(seed=6))
    assert all(np.array_equal(first[n], again[n]) for n in SPLITS)
    assert not all(np.array_equal(first[n], other[n]) for n in SPLITS)


def test_without_stratification_only_totals_are_targeted():
    table = table_of(labels_with({"a": 95, "b": 5}))
    parts = split_reads(table, SplitSpec(0.8, 0.1, 0.1, seed=0, stratify=False))
    assert [len(parts[n]) for n in SPLITS] == [80, 10, 10]


def test_allocate_is_largest_remainder():
    assert allocate(10, np.array([0.8, 0.1, 0.1])).tolist() == [8, 1, 1]
    assert allocate(3, np.array([0.8, 0.1, 0.1])).tolist() == [3, 0, 0]
    assert allocate(7, np.array([0.5, 0.25, 0.25])).tolist() == [3, 2, 2]


def test_groups_never_span_two_splits_and_proportions_hold_roughly():
    rng = np.random.default_rng(0)
    groups, labels = [], []
    for g in range(200):
        size = int(rng.integers(1, 12))
        label = "ab"[int(rng.random() < 0.3)]
        groups += [f"g{g}"] * size
        labels += [label if rng.random() < 0.8 else "ab"[label == "a"] for _ in range(size)]
    table = table_of(labels, groups=groups)
    parts = split_reads(table, SplitSpec(0.8, 0.1, 0.1, seed=1))
    owner = {}
    for name in SPLITS:
        for i in parts[name]:
            assert owner.setdefault(groups[i], name) == name, f"group {groups[i]} spans splits"
    for k, name in enumerate(SPLITS):
        got = Counter(labels[i] for i in parts[name])
        for label, total in Counter(labels).items():
            target = total * (0.8, 0.1, 0.1)[k]
            assert abs(got[label] - target) <= max(12, 0.1 * target), (name, label)


def test_few_groups_still_give_every_split_one():
    groups = ["big"] * 50 + ["g1"] * 2 + ["g2"] * 2
    table = table_of(["ab"[i % 2] for i in range(54)], groups=groups)
    parts = split_reads(table, SplitSpec(0.8, 0.1, 0.1, seed=0))
    assert all(len(parts[n]) for n in SPLITS)
    assert {groups[i] for i in parts["train"]} == {"big"}


def test_cross_split_copies_leave_validation_and_test():
    a, b, c = "AACCGGTTAC", "GGGATTACAA", "TTGACCATGA"
    rc_a = "GTAACCGGTT"
    sequences = [a, b, c, a, rc_a, b, c]
    table = table_of(list("aabbaab"), sequences=sequences)
    parts = {"train": np.array([0, 1]), "validation": np.array([2, 3, 5]),
             "test": np.array([4, 6])}
    kept, dropped = remove_cross_split_copies(table, parts, deduplicated=False)
    assert kept["train"].tolist() == [0, 1]
    assert kept["validation"].tolist() == [2]  # a (3) and b (5) are in train
    assert kept["test"].tolist() == []  # rc of a is in train; c is in validation
    assert dropped == 4


def test_cross_split_copy_after_full_deduplication_is_a_bug():
    table = table_of(list("ab"), sequences=["ACGTTA", "TAACGT"])  # reverse complements
    parts = {"train": np.array([0]), "validation": np.array([1]), "test": np.array([], int)}
    with pytest.raises(RuntimeError, match="bug"):
        remove_cross_split_copies(table, parts, deduplicated=True)
