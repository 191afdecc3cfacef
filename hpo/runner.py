"""`hpo run` and `hpo worker`: prepare the data, join or create the study, run trials until the
budget is spent.

The budget (``study.n_trials``) counts completed and pruned trials of the whole study, over
every `hpo run` and every worker, so a resumed or shared study runs exactly the remaining ones
(hpo.trial_loop makes that exact across workers). Failed trials do not count (a dead worker's
trial is retried), but too many failures in a row stop the worker: something is broken and more
trials would only burn compute.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
import yaml

from hpo.objective import ATTR_BASELINE, Objective, TrialContext
from hpo.optuna_factory import build_pruner, build_sampler, random_phase_note
from hpo.params import grid_of, searched_baseline
from hpo.progress import StudyProgress
from hpo.reporting import ranked_completed_trials
from hpo.spec import StudySpec, spec_to_dict
from hpo.tracking import StudyTracker
from hpo.trial_files import pruner_plain
from hpo.trial_loop import TooManyFailures, run_trials, study_counts
from storage import make_optuna_storage, redact_url
from storage.urls import url_password
from storage.locks import study_lock

log = logging.getLogger("hpo.runner")
ATTR_DATA_DIGEST, ATTR_STUDY_RUN, ATTR_SPEC = "data_digest", "mlflow_study_run_id", "spec"


class StudyRunError(RuntimeError):
    """The study cannot go on (wrong data for a resumed study, repeated failures)."""


class BadOverride(ValueError):
    """A command-line flag that cannot be used as given."""


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
    check_override_urls(o.storage, o.tracking_uri)
    return spec.replace(study=study, storage=storage,
                        output=o.output.resolve() if o.output else spec.output)


def check_override_urls(storage: str | None, tracking_uri: str | None) -> None:
    """The study file's rule for flags too: a password on the command line would end up in
    trial files, MLflow and the study's stored spec (and shows in `ps`)."""
    for flag, url in (("--storage", storage), ("--tracking-uri", tracking_uri)):
        if url and url_password(url):
            raise BadOverride(f"{flag} {redact_url(url)}: a password on the command line would "
                              f"be written to trial files, MLflow and the study's stored spec; "
                              f"give it in PGPASSWORD or ~/.pgpass instead (for an MLflow server: "
                              f"MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD)")


def open_study(spec: StudySpec, pruner: optuna.pruners.BasePruner | None = None,
               create: bool = True, storage: optuna.storages.BaseStorage | None = None
               ) -> optuna.Study:
    storage = storage or make_optuna_storage(
        spec.optuna_storage_url, spec.storage.heartbeat_interval, spec.storage.grace_period,
        spec.storage.failed_trial_retries)
    sampler_spec = spec.study.sampler
    sampler = build_sampler(sampler_spec.name, sampler_spec.seed, sampler_spec.options,
                            grid=grid_of(spec.search) if sampler_spec.name == "grid" else None)
    if create:
        return optuna.create_study(study_name=spec.name, storage=storage, sampler=sampler,
                                   pruner=pruner, direction=spec.study.resolved_direction,
                                   load_if_exists=True)
    return optuna.load_study(study_name=spec.name, storage=storage, sampler=sampler, pruner=pruner)


def run_study(spec: StudySpec) -> optuna.Study:
    """Join the study (creating it if this is the first `hpo run` or `hpo worker`) and run
    trials until the study's total budget is spent; any number of processes may do this at once."""
    from hpo.data import prepare_data  # heavy imports only when a study actually runs

    prepared = prepare_data(spec)  # safe to race: workers preparing the same data agree
    n_train = sum(prepared.manifest["counts"]["train"].values())
    pruner = pruner_plain(spec, n_train)
    url = spec.optuna_storage_url
    storage = make_optuna_storage(url, spec.storage.heartbeat_interval,
                                  spec.storage.grace_period, spec.storage.failed_trial_retries)
    lock = study_lock(url, spec.name)
    try:
        with lock():  # set-up as one step: workers that start together create each thing once
            study = open_study(spec, pruner=build_pruner(pruner), storage=storage)
            _check_same_data(study, prepared.manifest["digest"], spec)
            tracker = StudyTracker(spec.mlflow_tracking_uri, spec.name,
                                   artifact_root=spec.output_dir / "mlartifacts")
            study_run_id, created = _study_run(study, tracker, spec)
            _enqueue_configurations(study, spec)
        if created:
            tracker.log_prepared_data(study_run_id, prepared.path, prepared.manifest)
        log.info("study %r in %s (%d trials so far)", spec.name, redact_url(url),
                 len(study.trials))
        note = random_phase_note(spec.study.sampler.name, spec.study.sampler.options,
                                 spec.study.n_trials)
        if note:
            log.warning("%s", note)
        progress = StudyProgress(study, spec.study.metric, spec.study.n_trials, spec.study.timeout)
        objective = Objective(TrialContext(
            spec=spec, storage_url=url, pruner=pruner, data_dir=prepared.path,
            trials_dir=spec.trials_dir, tracker=tracker, study_run_id=study_run_id,
            on_tick=progress.on_tick))
        clean_stop = False
        try:
            run_trials(study, objective, spec.study.n_trials, lock, storage=storage,
                       timeout=spec.study.timeout, on_trial_end=progress.on_trial_end,
                       # A dead worker's trial was failed by its stale heartbeat: close its run.
                       before_iteration=lambda s: tracker.close_orphaned_trial_runs(
                           s.get_trials(deepcopy=False)),
                       max_consecutive_failures=spec.study.max_consecutive_failures)
            clean_stop = True
        except TooManyFailures as exc:
            raise StudyRunError(f"{exc}; see `hpo status {spec.source or spec.name}` and the "
                                f"trial logs under {spec.trials_dir}") from exc
        finally:
            _end_study_run(tracker, study, study_run_id, spec.study.n_trials, clean_stop)
    finally:
        lock.dispose()
    return study


def _study_run(study: optuna.Study, tracker: StudyTracker, spec: StudySpec) -> tuple[str, bool]:
    """The study's MLflow parent run, created by whoever comes first (call under the lock).

    The resolved spec goes into the study too, so `hpo worker --study NAME --storage URL` can
    join without the study file."""
    plain = spec_to_dict(spec)
    if ATTR_SPEC not in study.user_attrs:
        study.set_user_attr(ATTR_SPEC, plain)
    else:
        # Joining a study someone already runs (or resuming one): every process starts its
        # sampler from the same seed, so without this all workers would propose the same
        # configurations. Optuna's own hook for parallel workers; the first process keeps
        # the seed, so a study run by one `hpo run` stays reproducible.
        study.sampler.reseed_rng()
    existing = study.user_attrs.get(ATTR_STUDY_RUN)
    run_id = tracker.study_run(existing, plain, spec.optuna_storage_url)
    if existing is None:
        study.set_user_attr(ATTR_STUDY_RUN, run_id)
    return run_id, existing is None


def _end_study_run(tracker: StudyTracker, study: optuna.Study, run_id: str, budget: int | None,
                   clean_stop: bool) -> None:
    """FINISHED once the budget is spent; while other workers still run trials, leave the run
    to the last of them; else FINISHED after a time limit, KILLED after Ctrl-C or an error."""
    try:
        counts = study_counts(study)
    except Exception:  # noqa: BLE001 - the storage is gone: say what we know
        log.warning("cannot count the study's trials; marking its MLflow run by this worker's "
                    "stop alone", exc_info=True)
        tracker.end_study_run(run_id, "FINISHED" if clean_stop else "KILLED")
        return
    if budget is not None and counts.done >= budget:
        tracker.end_study_run(run_id, "FINISHED")
    elif counts.running == 0:
        tracker.end_study_run(run_id, "FINISHED" if clean_stop else "KILLED")


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
    for name in spec.study.enqueue_best_of:
        for params in best_configurations(study, name, spec):
            study.enqueue_trial(params, skip_if_exists=True)


def best_configurations(study: optuna.Study, earlier_name: str,
                        spec: StudySpec) -> list[dict[str, Any]]:
    """The searched parameters of the best completed trials of an earlier study."""
    try:
        earlier = optuna.load_study(study_name=earlier_name, storage=study._storage)
    except KeyError:
        names = optuna.get_all_study_names(study._storage)
        raise StudyRunError(f"study.enqueue_best_of: no study {earlier_name!r} in this storage "
                            f"(it holds: {', '.join(names) or 'none'})") from None
    searched = {name for name, dim in spec.search.dimensions().items() if dim and dim.searched}
    return [{k: v for k, v in t.params.items() if k in searched}
            for t in ranked_completed_trials(earlier)[:spec.study.enqueue_best_k]]


def load_configurations(path: Path) -> list[dict[str, Any]]:
    """Configurations to enqueue: a YAML/JSON list of parameter mappings."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise StudyRunError(f"{path}: expected a list of parameter mappings, e.g. "
                            f"[{{learning_rate: 1.0e-4, batch_size: 32}}]")
    return data
