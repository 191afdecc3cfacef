"""The trial file: everything one trainer process needs, written by the orchestrator.

Format and exit codes: docs/architecture.md. The parent samples every parameter; the child
never samples. The pruner travels in plain form because Optuna does not store it: a child that
loaded the study without it would silently get a MedianPruner.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hpo.spec import StudySpec
from hpo.spec.strict import to_plain

TRIAL_FILE_VERSION = 1


def eval_interval(n_train: int, evals_per_epoch: float) -> int:
    """Training examples between two validation evaluations (the trainer's report grid)."""
    return max(1, math.ceil(n_train / evals_per_epoch))


def pruner_plain(spec: StudySpec, n_train: int) -> dict[str, Any]:
    """The study's pruner with its resource unit set to the trainer's report steps.

    Steps are training examples seen, reported every ``eval_interval`` examples, so Hyperband's
    and successive halving's smallest budget defaults to one evaluation, and Hyperband's largest
    to the most epochs any trial can run.
    """
    plain = to_plain(spec.study.pruner)
    interval = eval_interval(n_train, spec.training.evals_per_epoch)
    epochs = spec.search.epochs
    max_epochs = 3 if epochs is None else max(
        [epochs.value] if epochs.kind == "fixed" else
        list(epochs.choices) if epochs.kind == "categorical" else [int(epochs.high)])

    def fill(node: dict[str, Any]) -> None:
        options = node.setdefault("options", {})
        if node["name"] in ("hyperband", "successive_halving"):
            options.setdefault("min_resource", interval)
        if node["name"] == "hyperband":
            options.setdefault("max_resource", max_epochs * n_train)
        if node.get("wrapped"):
            fill(node["wrapped"])

    fill(plain)
    return plain


def build_trial_file(spec: StudySpec, *, trial_number: int, trial_id: int, storage_url: str,
                     pruner: dict[str, Any], data_dir: Path, output_dir: Path,
                     params: dict[str, Any], tracking_uri: str | None,
                     mlflow_run_id: str | None) -> dict[str, Any]:
    return {
        "version": TRIAL_FILE_VERSION,
        "study_name": spec.name,
        "trial_number": trial_number,
        "optuna": {"storage": storage_url, "trial_id": trial_id, "pruner": pruner,
                   "metric": spec.study.metric, "direction": spec.study.resolved_direction},
        "mlflow": ({"tracking_uri": tracking_uri, "run_id": mlflow_run_id}
                   if mlflow_run_id else None),
        "data_dir": str(data_dir),
        "output_dir": str(output_dir),
        "model": asdict(spec.model),
        "params": params,
        "training": {"evals_per_epoch": spec.training.evals_per_epoch,
                     "patience": spec.training.patience,
                     "min_delta": spec.training.min_delta,
                     "max_device_batch_size": spec.training.max_device_batch_size,
                     "mixed_precision": spec.training.mixed_precision,
                     "seed": spec.training.seed},
    }


def write_json_atomic(path: Path, payload: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)
    return path
