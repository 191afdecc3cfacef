"""Balancing the training split: class counts, seeding, and the weighted loss by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trainers.balancing import balanced_indices, class_counts, loss_class_weights

# 6 of class 0, 3 of class 1, 1 of class 2
LABELS = np.array([0, 0, 1, 0, 2, 0, 1, 0, 1, 0])


@pytest.mark.parametrize("method, expected", [
    ("none", [6, 3, 1]), ("weighted_loss", [6, 3, 1]),
    ("downsample", [1, 1, 1]), ("upsample", [6, 6, 6]),
])
def test_class_counts_after_balancing(method, expected):
    rows = balanced_indices(LABELS, method, seed=0)
    assert class_counts(LABELS[rows], 3) == expected


def test_upsampling_keeps_every_row_and_downsampling_draws_without_replacement():
    up = balanced_indices(LABELS, "upsample", seed=0)
    assert set(range(len(LABELS))) <= set(up.tolist())
    down = balanced_indices(LABELS, "downsample", seed=0)
    assert len(set(down.tolist())) == len(down)


def test_balancing_is_seeded():
    labels = np.repeat([0, 1], [50, 10])
    first = balanced_indices(labels, "downsample", seed=3)
    assert np.array_equal(first, balanced_indices(labels, "downsample", seed=3))
    assert not np.array_equal(first, balanced_indices(labels, "downsample", seed=4))


def test_class_weights_are_sklearn_balanced():
    # n_samples / (n_classes * count_c) = 10 / (3 * [6, 3, 1])
    weights = loss_class_weights(LABELS, 3)
    assert weights.tolist() == pytest.approx([10 / 18, 10 / 9, 10 / 3])


def test_absent_class_gets_a_harmless_weight():
    weights = loss_class_weights(np.array([0, 0, 1]), 3)
    assert weights.tolist() == pytest.approx([3 / 4, 3 / 2, 1.0])


def test_weighted_loss_matches_hand_computation():
    weights = loss_class_weights(LABELS, 3)
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 3.0]])
    targets = torch.tensor([0, 2, 2])
    got = torch.nn.CrossEntropyLoss(weight=weights)(logits, targets).item()

    def neg_log_softmax(row, target):
        return -(row[target] - math.log(sum(math.exp(v) for v in row)))
    w = [10 / 18, 10 / 9, 10 / 3]
    terms = [w[t] * neg_log_softmax(r, t) for r, t in zip(logits.tolist(), targets.tolist(),
                                                           strict=True)]
    # torch's weighted mean divides by the sum of the targets' weights
    assert got == pytest.approx(sum(terms) / (w[0] + w[2] + w[2]), rel=1e-6)
