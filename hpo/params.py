"""From the search space to one trial's parameters, and the baseline configuration.

Every trial's parameters have the same keys (all of ``BASELINE``), whether a dimension is
searched, fixed or removed, so MLflow shows them as aligned columns and the trainer needs no
defaults of its own.
"""
from __future__ import annotations

import logging
from typing import Any

from hpo.spec.search_space import BASELINE, Dimension, SearchSpec

log = logging.getLogger("hpo.params")


def suggest_params(trial: Any, search: SearchSpec) -> dict[str, Any]:
    """Sample (or take fixed) values for every parameter; LoRA alpha/dropout only under LoRA."""
    dims = search.dimensions()
    params: dict[str, Any] = {}
    for name in ("learning_rate", "scheduler", "batch_size", "weight_decay", "balancing",
                 "lora_rank", "warmup_ratio", "epochs"):
        params[name] = _value(trial, name, dims[name])
    if params["lora_rank"] > 0:  # conditional: alpha and dropout mean nothing for full tuning
        params["lora_alpha"] = (_value(trial, "lora_alpha", dims["lora_alpha"])
                                if dims["lora_alpha"] is not None else 2 * params["lora_rank"])
        params["lora_dropout"] = _value(trial, "lora_dropout", dims["lora_dropout"])
    else:
        params["lora_alpha"] = None
        params["lora_dropout"] = None
    return {name: params[name] for name in BASELINE}


def _value(trial: Any, name: str, dim: Dimension | None) -> Any:
    if dim is None:  # removed from the search: the baseline value
        return BASELINE[name]
    return dim.suggest(trial, name)


def searched_baseline(search: SearchSpec) -> dict[str, Any]:
    """The baseline as Optuna parameters to enqueue: only the dimensions that are searched.

    A baseline value outside a searched range is still enqueued (Optuna accepts it with a
    warning), because the point of trial 0 is to measure the field's default as it is. A value
    missing from a categorical choice cannot be enqueued; that dimension is sampled instead.
    """
    baseline = dict(BASELINE)
    baseline["lora_alpha"] = 2 * baseline["lora_rank"]
    enqueue = {}
    for name, dim in search.dimensions().items():
        if dim is None or not dim.searched:
            continue
        if name in ("lora_alpha", "lora_dropout") and baseline["lora_rank"] == 0:
            continue
        if dim.contains(baseline[name]):
            enqueue[name] = baseline[name]
        elif dim.kind == "categorical":
            log.warning("the baseline %s=%r is not among the choices %s; trial 0 samples it",
                        name, baseline[name], list(dim.choices))
        else:
            log.warning("the baseline %s=%r lies outside the searched range %s; trial 0 uses it "
                        "anyway", name, baseline[name], dim.to_plain())
            enqueue[name] = baseline[name]
    return enqueue


def grid_of(search: SearchSpec) -> dict[str, list[Any]] | None:
    """The grid for GridSampler: every searched dimension must be a choice."""
    grid = {}
    for name, dim in search.dimensions().items():
        if dim is None or not dim.searched:
            continue
        if dim.kind != "categorical":
            return None
        grid[name] = list(dim.choices)
    return grid
