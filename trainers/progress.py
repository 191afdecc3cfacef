"""The run's bookkeeping: progress counters, the outcome, and the training-loss window.

``Progress`` is filled as training goes, so result.json can be written from it whatever the
ending (completed, pruned, failed half-way).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from trainers.early_stopping import BestEvaluation


@dataclass
class Progress:
    """What the run has done so far; result.json is written from it whatever the ending."""

    examples_seen: int = 0
    optimizer_steps: int = 0
    examples_at_last_eval: int = 0
    first_step_unix_time: float | None = None
    seconds_to_first_step: float | None = None
    train_seconds: float = 0.0
    eval_seconds: float = 0.0
    stop_step: int = 0  # the last evaluation's step, or examples seen when none named one
    history: list[dict] = field(default_factory=list)
    best: BestEvaluation | None = None
    facts: dict = field(default_factory=dict)  # sizes and settings, known once set up


@dataclass(frozen=True)
class Outcome:
    status: str  # completed | pruned | failed
    exit_code: int
    reason: str | None = None
    message: str | None = None
    pruned_at_step: int | None = None
    stopped_early: bool = False


class LossWindow:
    """Training loss between evaluations, kept on the device (no sync per micro-step)."""

    def __init__(self, device: torch.device):
        self.total = torch.zeros((), device=device)
        self.count = torch.zeros((), device=device)
        self.nonfinite = torch.zeros((), device=device)

    def add(self, loss: torch.Tensor) -> None:
        value = loss.detach().float()
        self.nonfinite += (~torch.isfinite(value)).float()
        self.total += torch.nan_to_num(value)
        self.count += 1

    def any_nonfinite(self, accelerator) -> bool:
        """On every rank alike: a NaN on one rank would poison all through the all-reduce."""
        return accelerator.reduce(self.nonfinite.clone(), reduction="sum").item() > 0

    def pop_mean(self, accelerator) -> float:
        total, count = accelerator.reduce(torch.stack([self.total, self.count]), "sum").tolist()
        self.total.zero_(), self.count.zero_()
        return total / count if count else math.nan


