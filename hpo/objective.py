"""The Optuna objective: sample, launch the trainer, map its exit code back to Optuna.

completed -> the trial's value (the best validation metric it reached); pruned -> TrialPruned;
anything else (crash, out of memory, NaN loss, timeout) -> TrialFailed, recorded with the tail
of the trainer's log. The MLflow run of the trial is closed in every case.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import optuna

from hpo.launcher import (EXIT_BAD_TRIAL, EXIT_COMPLETED, EXIT_PRUNED, LaunchResult,
                          accelerate_command, launch_trial)
from hpo.params import suggest_params
from trainers.launch import exit_code_from_result
from trainers.outputs import clear_stale_result
from hpo.spec import StudySpec
from hpo.tracking import TAG_PRUNED_AT, StudyTracker
from hpo.trial_loop import TrialFailed  # noqa: F401 - raised below, re-exported
from storage.transient import retry_transient
from hpo.trial_files import build_trial_file, write_json_atomic

log = logging.getLogger("hpo.objective")

# Trial user attributes (read by `hpo status`, `hpo report`, promotion).
ATTR_PARAMS, ATTR_RUN_ID, ATTR_STATE = "params", "mlflow_run_id", "outcome"
ATTR_PRUNED_AT, ATTR_REASON, ATTR_LOG_TAIL = "pruned_at_step", "fail_reason", "log_tail"
ATTR_DIR, ATTR_BASELINE = "trial_dir", "baseline"
ATTR_EXAMPLES, ATTR_PLANNED = "examples_seen", "examples_planned"


@dataclass
class TrialContext:
    spec: StudySpec
    storage_url: str
    pruner: dict[str, Any]
    data_dir: Path
    trials_dir: Path
    tracker: StudyTracker | None
    study_run_id: str | None
    on_tick: Callable[[optuna.trial.Trial], None] | None = None


@dataclass
class TrialOutcome:
    state: str  # "completed" | "pruned" | "failed" (also the MLflow run's end state)
    value: float | None = None
    reason: str | None = None  # why it failed
    tags: dict[str, Any] = field(default_factory=dict)
    best_metrics: dict[str, float] = field(default_factory=dict)
    examples_seen: int | None = None  # training examples this trial consumed
    examples_planned: int | None = None  # ... and what running to the last epoch would have


class Objective:
    def __init__(self, ctx: TrialContext):
        self.ctx = ctx

    def __call__(self, trial: optuna.trial.Trial) -> float:
        ctx, spec = self.ctx, self.ctx.spec
        params = suggest_params(trial, spec.search)
        trial.set_user_attr(ATTR_PARAMS, params)
        trial_dir = ctx.trials_dir / f"{trial.number:05d}"
        trial.set_user_attr(ATTR_DIR, str(trial_dir))
        run_id = None
        if ctx.tracker is not None and ctx.study_run_id:
            run_id = ctx.tracker.start_trial_run(ctx.study_run_id, trial.number, params)
            trial.set_user_attr(ATTR_RUN_ID, run_id)
        outcome = TrialOutcome("failed", reason="the orchestrator stopped before the trainer ended")
        try:
            trial_file = write_json_atomic(trial_dir / "trial.json", build_trial_file(
                spec, trial_number=trial.number, trial_id=trial._trial_id,
                storage_url=ctx.storage_url, pruner=ctx.pruner, data_dir=ctx.data_dir,
                output_dir=trial_dir, params=params,
                tracking_uri=ctx.tracker.tracking_uri if ctx.tracker else None,
                mlflow_run_id=run_id))
            clear_stale_result(trial_dir)
            cmd = accelerate_command(trial_file, spec.training.processes)
            log.info("trial %d: %s", trial.number, _short(params))
            launched = launch_trial(cmd, trial_dir / "trainer.log", spec.training.trial_timeout,
                                    on_tick=(lambda: ctx.on_tick(trial)) if ctx.on_tick else None)
            outcome = interpret(launched, trial_dir, params["epochs"])
        except KeyboardInterrupt:
            outcome = TrialOutcome("failed", reason="interrupted (Ctrl-C)")
            raise
        finally:
            self._record(trial, outcome, run_id, trial_dir)
        if outcome.state == "pruned":
            raise optuna.TrialPruned(f"pruned at step {outcome.tags.get(TAG_PRUNED_AT)}")
        if outcome.state == "failed":
            raise TrialFailed(outcome.reason)
        return outcome.value

    def _record(self, trial: optuna.trial.Trial, outcome: TrialOutcome, run_id: str | None,
                trial_dir: Path) -> None:
        attrs = {ATTR_STATE: outcome.state, ATTR_EXAMPLES: outcome.examples_seen,
                 ATTR_PLANNED: outcome.examples_planned}
        if outcome.state == "pruned":
            attrs[ATTR_PRUNED_AT] = outcome.tags.get(TAG_PRUNED_AT)
        if outcome.state == "failed":
            tail = LaunchResult(None, 0.0, trial_dir / "trainer.log").log_tail()
            attrs.update({ATTR_REASON: outcome.reason, ATTR_LOG_TAIL: tail[-4000:]})
            outcome.tags["dnahpo.fail_reason"] = outcome.reason
            log.warning("trial %d failed: %s\n%s", trial.number, outcome.reason, _indent(tail, 12))
        # A trial's outcome must survive a database restart (setting an attribute twice is
        # harmless); the MLflow run below is closed whatever happens here.
        try:
            retry_transient(lambda: [trial.set_user_attr(k, v) for k, v in attrs.items()],
                            f"recording the outcome of trial {trial.number}")
        finally:
            self._end_run(outcome, run_id, trial_dir)

    def _end_run(self, outcome: TrialOutcome, run_id: str | None, trial_dir: Path) -> None:
        if run_id is not None:
            self.ctx.tracker.end_trial_run(run_id, outcome.state, trial_dir, outcome.tags,
                                           outcome.best_metrics)


def interpret(launched: LaunchResult, trial_dir: Path, epochs: int | None = None) -> TrialOutcome:
    """Map the trainer's outcome to Optuna's: result.json first, the exit code as a fallback.

    ``accelerate launch`` turns every non-zero exit of its workers into 1, so the trainer's own
    code (docs/architecture.md) is recovered from the result.json it writes before exiting.
    """
    result = _read_result(trial_dir / "result.json")
    best = {k: v for k, v in (result.get("best_metrics") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if launched.timed_out:
        return TrialOutcome("failed", reason=f"timeout after {launched.duration:.0f} s",
                            best_metrics=best)
    outcome = _interpret(result, launched, best)
    outcome.examples_seen = result.get("examples_seen")
    if result.get("n_train_balanced") is not None and epochs is not None:
        outcome.examples_planned = int(result["n_train_balanced"]) * int(epochs)
    return outcome


def _interpret(result: dict[str, Any], launched: LaunchResult, best: dict[str, float]) -> TrialOutcome:
    code = exit_code_from_result(result or None, launched.exit_code)
    if code == EXIT_COMPLETED:
        value = result.get("value")
        if not isinstance(value, (int, float)) or math.isnan(value):
            return TrialOutcome("failed", reason=f"completed without a valid value: {value!r}")
        return TrialOutcome("completed", float(value), tags={"dnahpo.best_step": result.get(
            "best_step")}, best_metrics=best)
    if code == EXIT_PRUNED:
        return TrialOutcome("pruned", tags={TAG_PRUNED_AT: result.get("pruned_at_step")},
                            best_metrics=best)
    detail = result.get("message") or result.get("reason")
    if code == EXIT_BAD_TRIAL:
        return TrialOutcome("failed", reason=f"bad trial file or data: {detail or 'see the log'}")
    reason = result.get("reason")
    if reason and result.get("message"):
        reason = f"{reason}: {result['message']}"
    return TrialOutcome("failed", reason=reason or
                        f"trainer exited with code {launched.exit_code}", best_metrics=best)


def _read_result(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _short(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items() if v is not None)


def _indent(text: str, last: int) -> str:
    return "\n".join("    | " + line for line in text.splitlines()[-last:])
