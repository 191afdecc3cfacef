"""A worker process with a cheap objective, for the distributed tests and the scaling benchmark.

It runs the same loop as `hpo worker` (hpo.trial_loop.run_trials with the study lock and the
storage from storage/), only the objective sleeps instead of training:

    python -m tests.helpers.sleep_worker URL STUDY --budget 40 --sleep 0.2 [--out result.json]

The password comes from PGPASSWORD. The result file holds this worker's trial numbers and
states and the wall-clock time of its loop.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout

from hpo.trial_loop import run_trials  # noqa: E402
from storage import make_optuna_storage  # noqa: E402
from storage.locks import study_lock  # noqa: E402


def sleep_objective(seconds: float):
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        time.sleep(seconds)
        return x
    return objective


def run_worker(url: str, study_name: str, budget: int, sleep: float,
               heartbeat_interval: int | None = None, grace_period: int | None = None,
               poll_interval: float = 0.2) -> dict:
    """Join (or create) the study and run trials until the budget is spent; a summary."""
    storage = make_optuna_storage(url, heartbeat_interval, grace_period,
                                  failed_trial_retries=1 if heartbeat_interval else 0)
    lock = study_lock(url, study_name)
    with lock():
        study = optuna.create_study(study_name=study_name, storage=storage, load_if_exists=True,
                                    sampler=optuna.samplers.RandomSampler())
    started = time.perf_counter()
    result = run_trials(study, sleep_objective(sleep), budget, lock, storage=storage,
                        poll_interval=poll_interval)
    elapsed = time.perf_counter() - started
    lock.dispose()
    return {"pid": os.getpid(), "elapsed": elapsed,
            "trials": [t.number for t in result.trials],
            "states": [t.state.name for t in result.trials]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("study")
    parser.add_argument("--budget", type=int, required=True)
    parser.add_argument("--sleep", type=float, default=0.2)
    parser.add_argument("--heartbeat", type=int, help="heartbeat interval (s)")
    parser.add_argument("--grace", type=int, help="grace period (s)")
    parser.add_argument("--out", type=Path, help="write the summary here (JSON)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    summary = run_worker(args.url, args.study, args.budget, args.sleep, args.heartbeat, args.grace)
    text = json.dumps(summary)
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
