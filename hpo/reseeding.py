"""Retrain the top trials with several seeds and pick the configuration by mean validation metric.

A single lucky seed can top a study; promotion can ask for the top k configurations to be
retrained with a few seeds each (validation split only, no pruning), and picks the one with the
best mean. The chosen trial's own model is then promoted.
"""
from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import optuna

from hpo.launcher import accelerate_command, launch_trial
from hpo.objective import ATTR_PARAMS, interpret
from hpo.spec import StudySpec
from trainers.outputs import clear_stale_result
from hpo.trial_files import build_trial_file, write_json_atomic


def pick_by_seeds(spec: StudySpec, study: optuna.Study, candidates: list[optuna.trial.FrozenTrial],
                  seeds: list[int], data_dir: Path):
    per_trial: dict[int, dict[str, Any]] = {}
    root = spec.output_dir / "reseeding" / spec.name
    for trial in candidates:
        values = []
        for seed in seeds:
            run_dir = root / f"{trial.number:05d}-seed{seed}"
            payload = build_trial_file(spec, trial_number=trial.number, trial_id=-1,
                                       storage_url="", pruner={}, data_dir=data_dir,
                                       output_dir=run_dir,
                                       params=trial.user_attrs.get(ATTR_PARAMS) or trial.params,
                                       tracking_uri=None, mlflow_run_id=None)
            payload["optuna"] = None  # a stand-alone run: no reporting, no pruning
            payload["training"]["seed"] = seed
            trial_file = write_json_atomic(run_dir / "trial.json", payload)
            clear_stale_result(run_dir)
            launched = launch_trial(accelerate_command(trial_file, spec.training.processes),
                                    run_dir / "trainer.log", spec.training.trial_timeout)
            outcome = interpret(launched, run_dir)
            if outcome.state == "completed":
                values.append(outcome.value)
        if values:
            per_trial[trial.number] = {
                "seeds": seeds, "values": values, "mean": statistics.fmean(values),
                "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
    if not per_trial:
        raise RuntimeError("no retraining run completed; see the logs under " + str(root))
    maximize = spec.study.resolved_direction == "maximize"
    best_number = (max if maximize else min)(per_trial, key=lambda n: per_trial[n]["mean"])
    chosen = next(t for t in candidates if t.number == best_number)
    trial_dir = Path(chosen.user_attrs.get("trial_dir",
                                           spec.trials_dir / f"{chosen.number:05d}"))
    selection = {"candidates": [t.number for t in candidates], "per_trial": per_trial,
                 "chosen": best_number}
    return chosen, trial_dir, selection
