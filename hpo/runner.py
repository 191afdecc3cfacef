"""`hpo run`: prepare the data, create or resume the study, run trials until the budget is spent.

The budget (``study.n_trials``) counts completed and pruned trials of the whole study, over
every `hpo run` and every worker, so a resumed or shared study runs exactly the remaining ones.
Failed trials do not count (a dead worker's trial is retried), but too many failures in a row
stop the run: something is broken and more trials would only burn compute.
"""
from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import TrialState

from hpo.objective import ATTR_BASELINE, Objective, TrialContext, TrialFailed
from hpo.optuna_factory import build_pruner, build_sampler
from hpo.params import grid_of, searched_baseline
from hpo.progress import StudyProgress
from hpo.spec import StudySpec, spec_to_dict
from hpo.tracking import StudyTracker
from hpo.trial_files import pruner_plain
from storage import make_optuna_storage, redact_url

log = logging.getLogger("hpo.runner")
ATTR_DATA_DIGEST, ATTR_STUDY_RUN = "data_digest", "mlflow_study_run_id"


class StudyRunError(RuntimeError):
    """The study cannot go on (wrong data for a resumed study, repeated failures)."""


@dataclass(frozen=True)
class Overrides:
    """Command-line flags that override the study file for one `hpo run`."""

    n_trials: int | None = None
    timeout: float | None = None
    storage: str | None = None
    tracking_uri: str | None = None
    output: Path | None = None


def apply_overrides(spec: StudySpec, o: Overrides) -> StudySpec:
    study = dataclasses.replace(spec.study, n_trials=o.n_trials or spec.study.n_trials,
                                timeout=o.timeout or spec.study.timeout)
    storage = dataclasses.replace(spec.storage, optuna=o.storage or spec.storage.optuna,
                                  mlflow=o.tracking_uri or spec.storage.mlflow)
    new = dataclasses.replace(spec, study=study, storage=storage,
                              output=o.output.resolve() if o.output else spec.output)
    object.__setattr__(new, "source", spec.source)
    return new


def open_study(spec: StudySpec, pruner: optuna.pruners.BasePruner | None = None,
               create: bool = True) -> optuna.Study:
    storage = make_optuna_storage(spec.optuna_storage_url, spec.storage.heartbeat_interval,
                                  spec.storage.grace_period, spec.storage.failed_trial_retries)
    sampler_spec = spec.study.sampler
    sampler = build_sampler(sampler_spec.name, sampler_spec.seed, sampler_spec.options,
                            grid=grid_of(spec.search) if sampler_spec.name == "grid" else None)
    if create:
        return optuna.create_study(study_name=spec.name, storage=storage, sampler=sampler,
                                   pruner=pruner, direction=spec.study.resolved_direction,
                                   load_if_exists=True)
    return optuna.load_study(study_name=spec.name, storage=storage, sampler=sampler, pruner=pruner)


def run_study(spec: StudySpec) -> optuna.Study:
    from hpo.data import prepare_data  # heavy imports only when a study actually runs

    prepared = prepare_data(spec)
    n_train = sum(prepared.manifest["counts"]["train"].values())
    pruner = pruner_plain(spec, n_train)
    study = open_study(spec, pruner=build_pruner(pruner))
    _check_same_data(study, prepared.manifest["digest"], spec)
    log.info("study %r in %s (%d trials so far)", spec.name, redact_url(spec.optuna_storage_url),
             len(study.trials))

    tracker = StudyTracker(spec.mlflow_tracking_uri, spec.name,
                           artifact_root=spec.output_dir / "mlartifacts")
    first_run = ATTR_STUDY_RUN not in study.user_attrs
    study_run_id = tracker.study_run(study.user_attrs.get(ATTR_STUDY_RUN), spec_to_dict(spec),
                                     spec.optuna_storage_url)
    if first_run:
        study.set_user_attr(ATTR_STUDY_RUN, study_run_id)
        tracker.log_prepared_data(study_run_id, prepared.path, prepared.manifest)
    _enqueue_configurations(study, spec)

    progress = StudyProgress(study, spec.study.metric, spec.study.n_trials, spec.study.timeout)
    objective = Objective(TrialContext(
        spec=spec, storage_url=spec.optuna_storage_url, pruner=pruner, data_dir=prepared.path,
        trials_dir=spec.trials_dir, tracker=tracker, study_run_id=study_run_id,
        on_tick=progress.on_tick))
    status = "KILLED"
    try:
        _optimize_until_budget(study, spec, objective, progress, tracker)
        status = "FINISHED"
    finally:
        tracker.end_study_run(study_run_id, status)
    return study


def _optimize_until_budget(study: optuna.Study, spec: StudySpec, objective: Objective,
                           progress: StudyProgress, tracker: StudyTracker) -> None:
    started = time.monotonic()
    budget, timeout = spec.study.n_trials, spec.study.timeout
    failures_in_a_row = 0
    while True:
        # A dead worker's trial: failed once its heartbeat is stale (a no-op without heartbeats),
        # retried by the storage's callback, and its MLflow run closed.
        optuna.storages.fail_stale_trials(study)
        tracker.close_orphaned_trial_runs(study.get_trials(deepcopy=False))
        counts = progress.counts()
        done = counts["completed"] + counts["pruned"]
        if budget is not None and done >= budget:
            log.info("budget reached: %d completed or pruned trials", done)
            return
        if timeout is not None and time.monotonic() - started >= timeout:
            log.info("time limit of %.0f s reached", timeout)
            return
        if budget is not None and done + counts["running"] >= budget and not _waiting(study):
            # Other workers hold the last trials; wait for them to end (or go stale and retry).
            time.sleep(spec.storage.heartbeat_interval or 5)
            continue
        study.optimize(objective, n_trials=1, catch=(TrialFailed,),
                       callbacks=[progress.on_trial_end])
        last = _last_finished_by_me(study)
        failures_in_a_row = failures_in_a_row + 1 if last == TrialState.FAIL else 0
        if failures_in_a_row >= spec.study.max_consecutive_failures:
            raise StudyRunError(f"{failures_in_a_row} trials failed in a row; see `hpo status "
                                f"{spec.source or spec.name}` and the trial logs under "
                                f"{spec.trials_dir}")


def _waiting(study: optuna.Study) -> bool:
    return bool(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def _last_finished_by_me(study: optuna.Study) -> TrialState | None:
    trials = study.get_trials(deepcopy=False)
    return trials[-1].state if trials else None


def _check_same_data(study: optuna.Study, digest: str, spec: StudySpec) -> None:
    recorded = study.user_attrs.get(ATTR_DATA_DIGEST)
    if recorded is None:
        study.set_user_attr(ATTR_DATA_DIGEST, digest)
    elif recorded != digest:
        raise StudyRunError(
            f"study {spec.name!r} was run on prepared data {recorded}, but the data section now "
            f"prepares {digest}: trials on different data are not comparable. Restore the data "
            f"and settings, or give the study a new name.")


def _enqueue_configurations(study: optuna.Study, spec: StudySpec) -> None:
    """The baseline as trial 0 on a new study, then any configurations from files."""
    if spec.study.warm_start and not study.trials:
        study.enqueue_trial(searched_baseline(spec.search), user_attrs={ATTR_BASELINE: True})
        log.info("warm start: trial 0 runs the baseline configuration")
    for path in spec.study.enqueue:
        for params in load_configurations(path):
            study.enqueue_trial(params, skip_if_exists=True)


def load_configurations(path: Path) -> list[dict[str, Any]]:
    """Configurations to enqueue: a YAML/JSON list of parameter mappings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise StudyRunError(f"{path}: expected a list of parameter mappings, e.g. "
                            f"[{{learning_rate: 1.0e-4, batch_size: 32}}]")
    return data
