"""Train/validation/test split: stratified by label, groups kept whole, no leakage by sequence.

Why not sklearn: ``train_test_split`` applied twice (test, then validation from the rest)
rounds twice, so a class can miss its validation target by more than one read, and
``StratifiedGroupKFold`` only cuts equal folds (0.8/0.1/0.1 would need ten folds merged, and
0.7/0.2/0.1 has no fold count at all). Both rules fit in a few lines of numpy:

- without groups, each class is shuffled (seeded) and cut at its largest-remainder share of
  each fraction, so every split holds each class within one read of its target;
- with groups, groups are assigned whole, largest first (ties in seeded random order), each to
  the split where it most reduces the squared shortfall against the per-class targets, each
  class weighted by 1 / its size so that rare classes count as much as common ones.
"""
from __future__ import annotations

import logging

import numpy as np

from hpo.data.duplicates import canonical_keys
from hpo.data.records import ReadTable, sort_label_names
from hpo.spec.schema import SplitSpec

logger = logging.getLogger("hpo.data")

SPLITS = ("train", "validation", "test")


def split_reads(table: ReadTable, split: SplitSpec) -> dict[str, np.ndarray]:
    """Indices of each split's reads (ascending, i.e. in input order); deterministic per seed."""
    fractions = np.array([split.train, split.validation, split.test], dtype=np.float64)
    rng = np.random.default_rng(split.seed)
    if split.stratify:
        class_id = {name: k for k, name in enumerate(sort_label_names(set(table.labels)))}
        strata = np.fromiter(map(class_id.__getitem__, table.labels), dtype=np.int64,
                             count=len(table))
    else:
        strata = np.zeros(len(table), dtype=np.int64)
    if table.groups is None:
        assignment = _assign_reads(strata, fractions, rng)
    else:
        assignment = _assign_groups(table.groups, strata, fractions, rng)
    return {name: np.flatnonzero(assignment == k) for k, name in enumerate(SPLITS)}


def allocate(count: int, fractions: np.ndarray) -> np.ndarray:
    """Integer shares of ``count`` closest to ``count * fractions`` (largest remainder)."""
    exact = count * fractions
    shares = np.floor(exact).astype(np.int64)
    # Ties go to the earlier split (train first): deterministic without consuming randomness.
    order = np.argsort(-(exact - shares), kind="stable")
    shares[order[: count - int(shares.sum())]] += 1
    return shares


def _assign_reads(strata: np.ndarray, fractions: np.ndarray, rng) -> np.ndarray:
    assignment = np.empty(strata.size, dtype=np.int8)
    for stratum in range(int(strata.max()) + 1 if strata.size else 0):
        members = rng.permutation(np.flatnonzero(strata == stratum))
        cuts = np.cumsum(allocate(members.size, fractions))[:-1]
        for k, part in enumerate(np.split(members, cuts)):
            assignment[part] = k
    return assignment


def _assign_groups(groups: list[str], strata: np.ndarray, fractions: np.ndarray,
                   rng) -> np.ndarray:
    codes: dict[str, int] = {}
    group_of = np.fromiter((codes.setdefault(g, len(codes)) for g in groups), dtype=np.int64,
                           count=len(groups))
    n_groups, n_strata = len(codes), int(strata.max()) + 1
    per_group = np.bincount(group_of * n_strata + strata,
                            minlength=n_groups * n_strata).reshape(n_groups, n_strata)
    totals = per_group.sum(axis=0).astype(np.float64)
    weights = 1.0 / np.maximum(totals, 1.0) ** 2
    # Joining split k changes its weighted squared error sum_c w_c ((f_kc + n_c - t_kc)^2 -
    # (f_kc - t_kc)^2) = 2 (f_k - t_k) . (w n) + sum_c w_c n_c^2; the last term is the same for
    # every split, so the best split minimises (filled - target) . (w n): one small product.
    surplus = -fractions[:, None] * totals[None, :]  # filled - target, per split and class
    weighted = per_group * weights
    sizes = per_group.sum(axis=1)
    shuffled = rng.permutation(n_groups)
    order = shuffled[np.argsort(-sizes[shuffled], kind="stable")]
    split_of_group = np.empty(n_groups, dtype=np.int8)
    for g in order.tolist():
        k = int(np.argmin(surplus @ weighted[g]))
        surplus[k] += per_group[g]
        split_of_group[g] = k
    _give_every_split_a_group(split_of_group, sizes, order)
    return split_of_group[group_of]


def _give_every_split_a_group(split_of_group: np.ndarray, sizes: np.ndarray,
                              order: np.ndarray) -> None:
    """With few groups the greedy pass may leave a split empty; move it the smallest group
    of the split that has the most groups (needs at least three groups, checked earlier)."""
    for empty in range(len(SPLITS)):
        if (split_of_group == empty).any():
            continue
        donor = int(np.argmax(np.bincount(split_of_group, minlength=len(SPLITS))))
        candidates = [g for g in order.tolist()[::-1] if split_of_group[g] == donor]
        smallest = min(candidates, key=lambda g: sizes[g])  # first smallest in reverse order
        split_of_group[smallest] = empty


def remove_cross_split_copies(table: ReadTable, parts: dict[str, np.ndarray], deduplicated: bool,
                              keys: list[str] | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Drop from validation and test every read whose sequence, or its reverse complement,
    is in an earlier split (train, then validation); return the parts and the count dropped.

    After full deduplication (``deduplicated``: exact and reverse-complement copies collapsed)
    no such read can exist, and finding one is a bug, not bad input: RuntimeError. Otherwise
    (deduplication off, or without reverse complements) copies the user chose to keep would
    leak between splits; validation and test lose theirs and train keeps its own.
    ``keys``: each read's ``min(seq, revcomp(seq))`` if already known.
    """
    if keys is None:
        keys = canonical_keys(table.sequences, reverse_complement=True)
    if len(set(keys)) == len(keys):
        return parts, 0
    if deduplicated:
        raise RuntimeError("a sequence is in two splits although duplicates were removed; "
                           "this is a bug in hpo.data")
    owner: dict[str, int] = {}
    kept: dict[str, np.ndarray] = {}
    dropped = 0
    for k, name in enumerate(SPLITS):
        indices = parts[name].tolist()
        mask = np.fromiter((owner.setdefault(keys[i], k) == k for i in indices), dtype=bool,
                           count=len(indices))
        kept[name] = parts[name][mask]
        dropped += int((~mask).sum())
    if dropped:
        logger.info("dropped %d reads from validation/test whose sequence is in an earlier "
                    "split", dropped)
    return kept, dropped
