"""When to evaluate, and evaluation on the validation split.

Step unit: TRAINING EXAMPLES SEEN (over all processes). Evaluations fall on a grid of
``interval = ceil(n_train_prepared / evals_per_epoch)`` examples, where n_train_prepared is the
prepared training split's size *before* balancing: every trial of a study then shares one grid,
whatever its batch size or balancing, so Optuna's pruners compare trials at identical steps.
An evaluation runs at the first optimizer step whose examples-seen reaches the next grid point
and is reported at that grid point (k * interval), not at the examples actually seen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from trainers.metrics import compute_metrics, confusion, softmax


class EvalGrid:
    def __init__(self, n_train_prepared: int, evals_per_epoch: float):
        if n_train_prepared < 1 or evals_per_epoch <= 0:
            raise ValueError(f"need n_train_prepared >= 1 and evals_per_epoch > 0, got "
                             f"({n_train_prepared}, {evals_per_epoch})")
        self.interval = math.ceil(n_train_prepared / evals_per_epoch)
        self.next_point = self.interval

    def due(self, examples_seen: int) -> int | None:
        """The grid step to report now, or None. A step that jumps over several grid points
        (a batch larger than the interval) reports the last one it reached."""
        if examples_seen < self.next_point:
            return None
        k = examples_seen // self.interval
        self.next_point = (k + 1) * self.interval
        return k * self.interval


@dataclass(frozen=True)
class Evaluation:
    step: int
    metrics: dict[str, float]
    confusion: list[list[int]]
    # Kept for the best evaluation's ROC and PR curves (validation split: small).
    y_true: np.ndarray | None = field(default=None, compare=False, repr=False)
    probabilities: np.ndarray | None = field(default=None, compare=False, repr=False)


@torch.no_grad()
def evaluate(model, loader, accelerator, step: int) -> Evaluation:
    """Metrics over the whole validation split, each example once, on every process.

    ``gather_for_metrics`` collects every process's shard and drops the samples accelerate
    repeated to even out the last batch, so the metrics equal a single-process evaluation.
    """
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    for batch in loader:
        logits = model(input_ids=batch["input_ids"],
                       attention_mask=batch["attention_mask"]).logits.float()
        logits, labels = accelerator.gather_for_metrics((logits, batch["labels"]))
        all_logits.append(logits.cpu().numpy())
        all_labels.append(labels.cpu().numpy())
    if was_training:
        model.train()
    probs = softmax(np.concatenate(all_logits))
    y_true = np.concatenate(all_labels)
    return Evaluation(step, compute_metrics(y_true, probs), confusion(y_true, probs),
                      y_true=y_true, probabilities=probs)
