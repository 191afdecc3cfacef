"""A stratified, seeded subsample of the cleaned reads (``data.max_reads``): for quick studies,
demos and dry runs on a laptop before the full data set goes to a cluster."""
from __future__ import annotations

import numpy as np

from hpo.data.records import ReadTable


def stratified_subsample(table: ReadTable, max_reads: int, seed: int) -> np.ndarray:
    """Indices of at most ``max_reads`` reads, each class keeping its share (largest remainder,
    at least one read per class), in input order."""
    labels = np.asarray(table.labels)
    names, counts = np.unique(labels, return_counts=True)
    quotas = counts / counts.sum() * max_reads
    take = np.maximum(np.floor(quotas).astype(int), 1)
    for i in np.argsort(-(quotas - np.floor(quotas)), kind="stable"):
        if take.sum() >= max_reads:
            break
        take[i] += 1
    take = np.minimum(take, counts)
    rng = np.random.default_rng(seed)
    chosen = [rng.choice(np.flatnonzero(labels == name), size=n, replace=False)
              for name, n in zip(names, take)]
    return np.sort(np.concatenate(chosen))
