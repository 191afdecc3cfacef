"""Batch plan, AdamW parameter groups and the learning-rate schedule.

The effective batch rule: the sampled ``batch_size`` B is the number of examples per optimizer
step over all P processes. Each process runs micro-batches of b examples and accumulates g of
them per step, with
    g = ceil(ceil(B / P) / max_device_batch_size)      (fewest micro-steps that fit the device)
    b = ceil(ceil(B / P) / g)
so b * g * P == B whenever B is a multiple of P * g, and otherwise the smallest such product
above B (result.json records ``effective_batch_size``). Example: B=64, P=1, max 32 -> b=32, g=2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers import get_scheduler
from transformers.trainer_pt_utils import get_parameter_names

# transformers' Trainer uses these name patterns to spot biases and norm weights; we add every
# module class with "norm" in its name (LlamaRMSNorm, ...), not only nn.LayerNorm.
NO_DECAY_NAME_PATTERNS = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)",
                          r"_norm(?:$|\.)"]


@dataclass(frozen=True)
class BatchPlan:
    processes: int
    device_batch_size: int  # b: examples per process per micro-step
    accumulation_steps: int  # g: micro-steps per optimizer step

    @property
    def effective_batch_size(self) -> int:
        return self.device_batch_size * self.accumulation_steps * self.processes


def plan_batches(batch_size: int, max_device_batch_size: int, processes: int) -> BatchPlan:
    if min(batch_size, max_device_batch_size, processes) < 1:
        raise ValueError(f"batch_size, max_device_batch_size and processes must be >= 1, got "
                         f"({batch_size}, {max_device_batch_size}, {processes})")
    per_process = math.ceil(batch_size / processes)
    accumulation = math.ceil(per_process / max_device_batch_size)
    return BatchPlan(processes, math.ceil(per_process / accumulation), accumulation)


def decay_parameter_names(model: nn.Module) -> set[str]:
    norm_types = {type(m) for m in model.modules() if "norm" in type(m).__name__.lower()}
    return set(get_parameter_names(model, [nn.LayerNorm, *norm_types], NO_DECAY_NAME_PATTERNS))


def build_optimizer(model: nn.Module, learning_rate: float,
                    weight_decay: float) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; no weight decay on biases and norm weights, whose
    scale is not what over-fits and whose decay only fights the normalisation."""
    decay = decay_parameter_names(model)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [{"params": [p for n, p in trainable if n in decay], "weight_decay": weight_decay},
              {"params": [p for n, p in trainable if n not in decay], "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=learning_rate)


def build_scheduler(name: str, optimizer: torch.optim.Optimizer, total_steps: int,
                    warmup_ratio: float):
    """transformers' scheduler by name, warmup = ceil(warmup_ratio * total optimizer steps)
    (the Trainer's rounding). Stepped once per optimizer step."""
    return get_scheduler(name, optimizer, num_warmup_steps=math.ceil(warmup_ratio * total_steps),
                         num_training_steps=total_steps)
