"""MLflow records of a study: one experiment, a parent run for the study, a nested run per trial.

Everything goes through ``MlflowClient`` with explicit run ids (no fluent global state in the
orchestrator: several studies or workers may share a process or a server). Optuna's
``MLflowCallback`` is deprecated, and it cannot nest runs or mark pruned trials KILLED.
"""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from storage.urls import redact_url

log = logging.getLogger("hpo.tracking")

# Tags that link runs to the Optuna study and back (the trial stores its run id too).
TAG_ROLE, TAG_STUDY, TAG_TRIAL, TAG_STATE = "dnahpo.role", "dnahpo.study", "dnahpo.trial", "dnahpo.state"
TAG_PRUNED_AT = "dnahpo.pruned_at_step"
RUN_STATUS = {"completed": "FINISHED", "pruned": "KILLED", "failed": "FAILED"}


def is_local_uri(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:", "/")) or "://" not in uri


class StudyTracker:
    """The MLflow side of one study."""

    def __init__(self, tracking_uri: str, experiment_name: str, artifact_root: Path | None = None):
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        self.experiment_id = self._experiment(experiment_name, artifact_root)
        self.study_name = experiment_name

    def _experiment(self, name: str, artifact_root: Path | None) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            if found.lifecycle_stage == "deleted":
                self.client.restore_experiment(found.experiment_id)
            return found.experiment_id
        # A local store keeps artifacts beside the study's output, not in whatever folder the
        # user happened to start from; a tracking server decides for itself (proxied artifacts).
        location = artifact_root.resolve().as_uri() if artifact_root and is_local_uri(
            self.tracking_uri) else None
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except MlflowException as exc:
            # Another worker (of another study, sharing this tracking store) was first.
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            return self.client.get_experiment_by_name(name).experiment_id

    # --- the study's parent run -------------------------------------------------------------------
    def study_run(self, existing_run_id: str | None, spec_plain: dict[str, Any],
                  storage_url: str) -> str:
        """The study's parent run: reopened on resume, created on the first `hpo run`."""
        if existing_run_id:
            self.client.update_run(existing_run_id, status="RUNNING")
            return existing_run_id
        run = self.client.create_run(self.experiment_id, run_name=f"study {self.study_name}",
                                     tags={TAG_ROLE: "study", TAG_STUDY: self.study_name,
                                           "optuna.storage": redact_url(storage_url)})
        run_id = run.info.run_id
        self.client.log_dict(run_id, spec_plain, "study.yaml")
        flat = _flatten({k: spec_plain[k] for k in ("model", "training", "study")})
        self.client.log_batch(run_id, params=[Param(k, _param_str(v)) for k, v in flat.items()])
        return run_id

    def log_prepared_data(self, run_id: str, prepared_dir: Path, manifest: dict[str, Any]) -> None:
        """The data report as artifacts and each split as a dataset input with its digest."""
        for name in ("report.json", "report.txt", "manifest.json"):
            path = prepared_dir / name
            if path.exists():
                self.client.log_artifact(run_id, str(path), "data")
        inputs = []
        for split, filename in manifest.get("files", {}).items():
            if split == "test":  # the test split stays out of sight until promotion
                continue
            path = prepared_dir / filename
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            counts = manifest.get("counts", {}).get(split, {})
            dataset = Dataset(name=f"{self.study_name}-{split}", digest=digest, source_type="local",
                              source=json.dumps({"uri": str(path)}),
                              profile=json.dumps({"num_rows": sum(counts.values()),
                                                  "class_counts": counts}))
            inputs.append(DatasetInput(dataset, tags=[InputTag("mlflow.data.context", split)]))
        if inputs:
            self.client.log_inputs(run_id, datasets=inputs)

    def end_study_run(self, run_id: str, status: str = "FINISHED") -> None:
        self.client.set_terminated(run_id, status=status)

    # --- one nested run per trial -----------------------------------------------------------------
    def start_trial_run(self, study_run_id: str, trial_number: int, params: dict[str, Any]) -> str:
        run = self.client.create_run(
            self.experiment_id, run_name=f"trial {trial_number:03d}",
            tags={"mlflow.parentRunId": study_run_id, TAG_ROLE: "trial",
                  TAG_STUDY: self.study_name, TAG_TRIAL: str(trial_number),
                  TAG_STATE: "running"})
        run_id = run.info.run_id
        # Same keys in every trial (None included) so runs compare column by column.
        self.client.log_batch(run_id, params=[Param(k, _param_str(v)) for k, v in params.items()])
        return run_id

    def end_trial_run(self, run_id: str, state: str, trial_dir: Path | None = None,
                      extra_tags: dict[str, Any] | None = None,
                      final_metrics: dict[str, float] | None = None) -> None:
        """Tag the outcome, attach the trial's files, and close the run with a matching status."""
        tags = {TAG_STATE: state, **{k: str(v) for k, v in (extra_tags or {}).items()}}
        metrics = [Metric(f"best_{k}", float(v), int(time.time() * 1000), 0)
                   for k, v in (final_metrics or {}).items() if _is_number(v)]
        try:
            self.client.log_batch(run_id, metrics=metrics,
                                  tags=[RunTag(k, v) for k, v in tags.items()])
            if trial_dir is not None and trial_dir.is_dir():
                self._log_trial_artifacts(run_id, trial_dir)
        finally:  # never leave a run RUNNING, whatever failed above
            self.client.set_terminated(run_id, status=RUN_STATUS[state])

    def _log_trial_artifacts(self, run_id: str, trial_dir: Path) -> None:
        from hpo.trial_plots import make_trial_plots

        try:
            make_trial_plots(trial_dir)
        except (ValueError, OSError, KeyError) as exc:  # plots are a nicety; never lose the run
            log.warning("no plots for %s: %s", trial_dir, exc)
        for path in sorted(trial_dir.iterdir()):
            if path.is_file() and path.suffix in (".json", ".png", ".html", ".txt", ".log"):
                self.client.log_artifact(run_id, str(path))
        model_dir = trial_dir / "model"
        if model_dir.is_dir():
            self.client.log_artifacts(run_id, str(model_dir), "model")

    def close_orphaned_trial_runs(self, trials: list[Any]) -> int:
        """Mark FAILED the runs of trials whose worker died (no outcome recorded); returns count.

        Such a trial is failed by Optuna's heartbeat check; its run would otherwise stay RUNNING.
        """
        closed = 0
        for t in trials:
            run_id = t.user_attrs.get("mlflow_run_id")
            if t.state.name != "FAIL" or not run_id or "outcome" in t.user_attrs:
                continue
            if self.client.get_run(run_id).info.status == "RUNNING":
                self.client.set_tag(run_id, TAG_STATE, "failed")
                self.client.set_tag(run_id, "dnahpo.fail_reason",
                                    "worker died: no heartbeat within the grace period")
                self.client.set_terminated(run_id, status="FAILED")
                closed += 1
        return closed

    def log_study_artifacts(self, run_id: str, folder: Path, artifact_path: str = "report") -> None:
        self.client.log_artifacts(run_id, str(folder), artifact_path)

    def log_text(self, run_id: str, text: str, name: str) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            self.client.log_artifact(run_id, str(path))


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _param_str(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return text[:6000]  # MLflow's limit on a parameter value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
