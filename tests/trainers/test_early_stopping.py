"""Patience, min_delta, and keeping the best evaluation's weights (unit level)."""
from __future__ import annotations

import math

import torch

from trainers.early_stopping import BestEvaluation, EarlyStopping
from trainers.evaluation import Evaluation


def _stops(values, **kwargs):
    stopper = EarlyStopping(**kwargs)
    return [stopper.update(v) for v in values]


def test_patience_counts_evaluations_without_improvement():
    assert _stops([0.1, 0.2, 0.2, 0.15], direction="maximize", patience=2) == [
        False, False, False, True]


def test_min_delta_ignores_small_gains():
    # +0.01 twice does not clear min_delta 0.05: two evaluations without improvement
    assert _stops([0.5, 0.51, 0.52], direction="maximize", patience=2, min_delta=0.05) == [
        False, False, True]


def test_minimize_and_nan():
    assert _stops([1.0, math.nan, 0.9, 0.95], direction="minimize", patience=2) == [
        False, False, False, False]
    assert _stops([1.0, math.nan, math.nan], direction="minimize", patience=2)[-1] is True


def test_no_patience_never_stops():
    assert not any(_stops([1, 0, 0, 0, 0], direction="maximize", patience=None))


def _evaluation(step, mcc):
    return Evaluation(step, {"mcc": mcc}, [[0]])


def test_best_keeps_the_best_weights_not_the_last():
    layer = torch.nn.Linear(2, 1)
    best = BestEvaluation("mcc", "maximize")
    with torch.no_grad():
        layer.weight.fill_(1.0)
    assert best.offer(_evaluation(10, 0.5), layer)
    with torch.no_grad():
        layer.weight.fill_(2.0)
    assert not best.offer(_evaluation(20, 0.4), layer)
    assert not best.offer(_evaluation(30, math.nan), layer)
    best.restore_into(layer)
    assert best.evaluation.step == 10 and best.value == 0.5
    assert torch.equal(layer.weight, torch.ones(1, 2))
