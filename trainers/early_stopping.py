"""Early stopping on patience, and the best evaluation with the weights that produced it.

Two notions on purpose: the trial's value is the best metric reached (any strict improvement
counts, so the value is exact), while patience resets only on an improvement of at least
``min_delta`` over the last such reset (a slow creep does not keep a trial alive forever).
NaN is never an improvement. Both are independent of pruning.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from trainers.evaluation import Evaluation


def improvement(value: float, reference: float | None, direction: str) -> float:
    """How much ``value`` beats ``reference`` (positive = better); +inf against no reference."""
    if value is None or math.isnan(value):
        return -math.inf
    if reference is None:
        return math.inf
    return value - reference if direction == "maximize" else reference - value


@dataclass
class EarlyStopping:
    direction: str
    patience: int | None  # evaluations without improvement; None: never stop early
    min_delta: float = 0.0
    reference: float | None = None
    evaluations_without_improvement: int = 0

    def update(self, value: float) -> bool:
        """Record one evaluation; True when training should stop."""
        gain = improvement(value, self.reference, self.direction)
        if gain > 0 and gain >= self.min_delta:
            self.reference = value
            self.evaluations_without_improvement = 0
        else:
            self.evaluations_without_improvement += 1
        return self.patience is not None and self.evaluations_without_improvement >= self.patience


@dataclass
class BestEvaluation:
    """The best evaluation so far and a CPU copy of the trainable weights at that moment
    (adapter + head under LoRA: small; every weight under full fine-tuning)."""

    metric: str
    direction: str
    evaluation: Evaluation | None = None
    weights: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)

    @property
    def value(self) -> float | None:
        return self.evaluation.metrics[self.metric] if self.evaluation else None

    def offer(self, evaluation: Evaluation, model: nn.Module) -> bool:
        """Keep ``evaluation`` (and copy ``model``'s trainable weights) if it is the best."""
        if improvement(evaluation.metrics[self.metric], self.value, self.direction) <= 0:
            return False
        self.evaluation = evaluation
        self.weights = {name: p.detach().to("cpu", copy=True)
                        for name, p in model.named_parameters() if p.requires_grad}
        return True

    @torch.no_grad()
    def restore_into(self, model: nn.Module) -> None:
        for name, p in model.named_parameters():
            if name in self.weights:
                p.copy_(self.weights[name].to(p.device))
