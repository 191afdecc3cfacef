"""Small prepared-data folders in the documented format (docs/architecture.md), made in tests.

Labels are learnable: every sequence is random DNA with its class's motif planted a few times,
so a tiny model moves its validation metrics within a few dozen optimizer steps.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

# Distinct, low-similarity 8-mers, one per class (up to 6 classes).
MOTIFS = ("TATAATGC", "GCGCCGGA", "CATTCAGT", "AGGACTTC", "TCCGATAG", "GTACGTTA")
SPLITS = ("train", "validation", "test")


def class_sizes(n: int, n_classes: int, imbalance: float) -> list[int]:
    """``n`` rows over classes, the first class ``imbalance`` times as common as each other."""
    weights = np.array([imbalance] + [1.0] * (n_classes - 1))
    sizes = np.floor(n * weights / weights.sum()).astype(int)
    sizes[np.argsort(-weights, kind="stable")[: n - sizes.sum()]] += 1  # hand out the remainder
    return sizes.tolist()


def make_sequence(rng: np.random.Generator, class_id: int, length: int, copies: int) -> str:
    bases = rng.choice(list("ACGT"), size=length)
    motif = MOTIFS[class_id]
    for start in rng.choice(length - len(motif), size=copies, replace=False):
        bases[start:start + len(motif)] = list(motif)
    return "".join(bases)


def write_prepared_data(dest: Path, n_train: int = 64, n_val: int = 32, n_test: int = 32,
                        labels: Sequence[str] = ("neg", "pos"), imbalance: float = 1.0,
                        seed: int = 0, length: int = 40, motif_copies: int = 2,
                        absent_from_validation: Sequence[str] = ()) -> Path:
    """Write train/validation/test TSVs + manifest.json to ``dest``; returns ``dest``.

    ``imbalance``: how many times more common the FIRST label in ``labels`` is than each other
    label (1.0 = balanced). ``absent_from_validation``: labels left out of the validation
    split (to test metrics on a missing class). The manifest lists labels sorted, as
    ``hpo prepare`` does, so class ids follow the sorted order.
    """
    if not 2 <= len(labels) <= len(MOTIFS):
        raise ValueError(f"between 2 and {len(MOTIFS)} labels, got {labels!r}")
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    counts: dict[str, dict[str, int]] = {}
    for split, n in zip(SPLITS, (n_train, n_val, n_test), strict=True):
        rows = []
        for class_id, size in enumerate(class_sizes(n, len(labels), imbalance)):
            label = labels[class_id]
            if split == "validation" and label in absent_from_validation:
                continue
            rows += [(make_sequence(rng, class_id, length, motif_copies), label)
                     for _ in range(size)]
        rows = [rows[i] for i in rng.permutation(len(rows))]
        with (dest / f"{split}.tsv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
            writer.writerow(["id", "sequence", "label", "group"])
            writer.writerows([f"{split}-{i}", seq, label, ""]
                             for i, (seq, label) in enumerate(rows))
        counts[split] = {label: sum(1 for _, x in rows if x == label) for label in sorted(labels)}
    manifest = {"digest": f"tiny-{seed}", "labels": sorted(labels),
                "files": {split: f"{split}.tsv" for split in SPLITS}, "counts": counts,
                "source": "tests.helpers.tiny_data", "spec": {"seed": seed}}
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return dest
