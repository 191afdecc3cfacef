"""Metrics against values worked out by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from trainers.metrics import compute_metrics, confusion, softmax


def test_binary_metrics_by_hand():
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.6, 0.4, 0.9])
    probs = np.stack([1 - p1, p1], axis=1)
    m = compute_metrics(y, probs)
    # predictions 0 1 0 1: one hit per class
    assert m["accuracy"] == 0.5
    assert m["precision_macro"] == m["recall_macro"] == m["f1_macro"] == 0.5
    assert m["mcc"] == 0.0
    # positives (0.4, 0.9) above negatives (0.1, 0.6) in 3 of 4 pairs
    assert m["auroc"] == pytest.approx(0.75)
    # ranked 0.9+, 0.6-, 0.4+, 0.1-: precision 1 at recall 1/2, 2/3 at recall 1
    assert m["auprc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert m["loss"] == pytest.approx(-(2 * math.log(0.9) + 2 * math.log(0.4)) / 4)
    assert confusion(y, probs) == [[1, 1], [1, 1]]


def test_three_classes_perfect_and_mcc_by_hand():
    y = np.array([0, 1, 2, 2])
    logits = np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 0, 3.0], [0, 3.0, 0]])
    m = compute_metrics(y, softmax(logits))
    assert m["accuracy"] == 0.75
    # MCC (multiclass, Gorodkin): c=3 correct, s=4, p=(1,2,1) predicted, t=(1,1,2) true
    c, s, p, t = 3, 4, np.array([1, 2, 1]), np.array([1, 1, 2])
    expected = (c * s - p @ t) / math.sqrt((s**2 - p @ p) * (s**2 - t @ t))
    assert m["mcc"] == pytest.approx(expected)
    assert m["recall_macro"] == pytest.approx((1 + 1 + 0.5) / 3)
    assert confusion(y, softmax(logits)) == [[1, 0, 0], [0, 1, 0], [0, 1, 1]]


def test_class_absent_from_validation_gives_nan_not_a_crash():
    y = np.array([0, 1, 0, 1])  # class 2 never appears
    probs = softmax(np.random.default_rng(0).normal(size=(4, 3)))
    with pytest.warns(RuntimeWarning, match=r"classes \[2\] are absent"):
        m = compute_metrics(y, probs)
    assert math.isnan(m["auroc"]) and math.isnan(m["auprc"])
    assert not math.isnan(m["mcc"]) and not math.isnan(m["loss"])


def test_binary_with_one_class_present_gives_nan():
    with pytest.warns(RuntimeWarning):
        m = compute_metrics(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]))
    assert math.isnan(m["auroc"])
    assert m["accuracy"] == 0.5


def test_multiclass_ranking_metrics_are_one_vs_rest_macro():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(1)
    y = np.array([0, 1, 2] * 4)
    probs = softmax(rng.normal(size=(12, 3)))
    per_class = [roc_auc_score(y == c, probs[:, c]) for c in range(3)]
    assert compute_metrics(y, probs)["auroc"] == pytest.approx(np.mean(per_class))
