"""`hpo promote`: the best trial's model, evaluated once on the test split, into the Registry.

1. pick the best completed trial (or retrain the top k with several seeds, pick by mean
   validation metric);
2. log it as a pyfunc model (hpo.serving) under a promotion run nested in the study's run;
3. evaluate that very model once on the test split, and record in the study that it was used;
4. register it with tags (study, trial, parameters, test metrics, data digest);
5. move the `champion` alias to it only if it beats the current champion on the same test
   split; otherwise it becomes the `challenger`.
"""
from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import mlflow
import optuna
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from hpo.objective import ATTR_PARAMS, ATTR_RUN_ID
from hpo.reporting import ranked_completed_trials
from hpo.spec import StudySpec
from hpo.tracking import TAG_ROLE, TAG_STUDY, TAG_TRIAL, StudyTracker

log = logging.getLogger("hpo.promotion")
ATTR_TEST_USES = "test_split_evaluations"


class PromotionError(RuntimeError):
    pass


@dataclass
class Promotion:
    trial_number: int
    version: str
    alias: str  # the alias the new version got
    test_metrics: dict[str, float]
    previous_champion: dict[str, Any] | None
    model_uri: str
    selection: dict[str, Any] = field(default_factory=dict)


def load_prepared(study: optuna.Study, spec: StudySpec) -> tuple[Path, dict[str, Any]]:
    digest = study.user_attrs.get("data_digest")
    path = spec.output_dir / "prepared" / str(digest)
    manifest_path = path / "manifest.json"
    if not digest or not manifest_path.exists():
        raise PromotionError(f"the study's prepared data ({path}) is missing; run "
                             f"`hpo prepare {spec.source}` with the same data first")
    return path, json.loads(manifest_path.read_text())


def best_completed_trials(study: optuna.Study, k: int) -> list[optuna.trial.FrozenTrial]:
    ranked = ranked_completed_trials(study)
    if not ranked:
        raise PromotionError(f"study {study.study_name!r} has no completed trial to promote")
    return ranked[:k]


def read_labelled_tsv(path: Path) -> tuple[list[str], list[str]]:
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r["sequence"] for r in rows], [r["label"] for r in rows]


def log_pyfunc_model(client: MlflowClient, run_id: str, spec: StudySpec, trial_dir: Path,
                     labels: list[str]) -> str:
    """Log the trial's model as a pyfunc under ``run_id``; returns its model URI."""
    from mlflow.models import infer_signature

    from hpo.serving import DnaSequenceClassifier

    weights = trial_dir / "model"
    if not weights.is_dir():
        raise PromotionError(f"trial folder {trial_dir} has no saved model (model/)")
    base = spec.model.name_or_path
    base_is_local = Path(base).is_dir()
    with tempfile.TemporaryDirectory() as tmp:
        meta = Path(tmp) / "meta.json"
        meta.write_text(json.dumps({
            "labels": labels, "max_length": spec.model.max_length,
            "base_model": base if not base_is_local else Path(base).name,
            "base_revision": spec.model.revision,
            "trust_remote_code": spec.model.trust_remote_code}))
        artifacts = {"weights": str(weights), "meta": str(meta)}
        full_model = not (weights / "adapter_config.json").exists()
        if base_is_local and not full_model:
            artifacts["base"] = base  # a local base travels with the model (see hpo.serving)
        example = ["ACGT" * 40]
        output = {"label": [labels[0]], "probability": [1.0],
                  **{f"p_{name}": [0.0] for name in labels}}
        import pandas as pd

        # An unnamed string column: `predict(["ACGT..."])` works as well as a DataFrame.
        signature = infer_signature(example, pd.DataFrame(output))
        with mlflow.start_run(run_id=run_id):
            info = mlflow.pyfunc.log_model(
                name="model", python_model=DnaSequenceClassifier(), artifacts=artifacts,
                signature=signature, input_example=example)
    return info.model_uri


def score_test_split(data_dir: Path, manifest: dict[str, Any],
                     class_probabilities: Callable[[list[str]], Any]) -> dict[str, float]:
    """The trainer's metrics on the test split, from ``class_probabilities(sequences)``
    (reads x classes, in the manifest's label order)."""
    import numpy as np

    from trainers.metrics import compute_metrics

    sequences, names = read_labelled_tsv(data_dir / manifest["files"]["test"])
    labels = manifest["labels"]
    probs = np.asarray(class_probabilities(sequences), dtype=np.float64)
    # The served probabilities are float32: their rows sum to 1 only to ~1e-7, and sklearn's
    # log loss (float64 tolerance ~1e-8) would warn that they are not probabilities.
    probs /= probs.sum(axis=1, keepdims=True)
    y_true = np.array([labels.index(n) for n in names])
    metrics = compute_metrics(y_true, probs, labels=list(range(len(labels))))
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}


def evaluate_on_test(model_uri: str, data_dir: Path, manifest: dict[str, Any]) -> dict[str, float]:
    """The model as served (pyfunc) on the test split, with the trainer's metrics."""
    model = mlflow.pyfunc.load_model(model_uri)
    columns = [f"p_{name}" for name in manifest["labels"]]
    return score_test_split(data_dir, manifest,
                            lambda sequences: model.predict(sequences)[columns].to_numpy())


def promote(spec: StudySpec, top_k: int = 1, seeds: list[int] | None = None) -> Promotion:
    from hpo.runner import open_study

    # The fluent API is needed for log_model/register_model/load_model; point it at this study.
    mlflow.set_tracking_uri(spec.mlflow_tracking_uri)
    mlflow.set_registry_uri(spec.mlflow_tracking_uri)
    study = open_study(spec, create=False)
    data_dir, manifest = load_prepared(study, spec)
    candidates = best_completed_trials(study, top_k)
    selection: dict[str, Any] = {"candidates": [t.number for t in candidates]}
    if top_k > 1 or seeds:
        from hpo.reseeding import pick_by_seeds

        chosen, trial_dir, selection = pick_by_seeds(spec, study, candidates, seeds or [0, 1, 2],
                                                     data_dir)
    else:
        chosen = candidates[0]
        trial_dir = Path(chosen.user_attrs.get("trial_dir",
                                               spec.trials_dir / f"{chosen.number:05d}"))
    metric = spec.study.metric
    tracker = StudyTracker(spec.mlflow_tracking_uri, spec.name,
                           artifact_root=spec.output_dir / "mlartifacts")
    client = tracker.client
    run = client.create_run(tracker.experiment_id, run_name=f"promote trial {chosen.number:03d}",
                            tags={TAG_ROLE: "promotion", TAG_STUDY: spec.name,
                                  TAG_TRIAL: str(chosen.number),
                                  **({"mlflow.parentRunId": study.user_attrs["mlflow_study_run_id"]}
                                     if "mlflow_study_run_id" in study.user_attrs else {})})
    run_id = run.info.run_id
    status = "FAILED"
    try:
        model_uri = log_pyfunc_model(client, run_id, spec, trial_dir, manifest["labels"])
        test_metrics = evaluate_on_test(model_uri, data_dir, manifest)
        _record_test_use(study, chosen.number, test_metrics, manifest["digest"])
        for key, value in test_metrics.items():
            client.log_metric(run_id, f"test_{key}", value)
        client.log_dict(run_id, selection, "selection.json")
        params = chosen.user_attrs.get(ATTR_PARAMS) or chosen.params
        version = _register(client, spec, model_uri, run_id, chosen, params, test_metrics,
                            manifest["digest"])
        previous = _champion(client, spec)
        beats = _beats(previous, test_metrics, manifest, metric, spec.study.resolved_direction,
                       data_dir)
        alias = spec.registry.alias if beats else spec.registry.challenger_alias
        client.set_registered_model_alias(spec.registry_name, alias, version)
        client.set_tag(run_id, "dnahpo.alias", alias)
        status = "FINISHED"
    finally:
        client.set_terminated(run_id, status=status)
    log.info("registered %s version %s as @%s (test %s = %.4f)", spec.registry_name, version,
             alias, metric, test_metrics.get(metric, float("nan")))
    return Promotion(chosen.number, version, alias, test_metrics, previous, model_uri, selection)


def _record_test_use(study: optuna.Study, trial_number: int, metrics: dict[str, float],
                     digest: str) -> None:
    """The study remembers each look at the test split: it is meant to be used once."""
    uses = list(study.user_attrs.get(ATTR_TEST_USES, []))
    if uses:
        log.warning("the test split of this study was already used %d time(s); this evaluation "
                    "is recorded too", len(uses))
    uses.append({"trial": trial_number, "data_digest": digest, "metrics": metrics,
                 "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    study.set_user_attr(ATTR_TEST_USES, uses)


def _register(client: MlflowClient, spec: StudySpec, model_uri: str, run_id: str,
              trial: optuna.trial.FrozenTrial, params: dict[str, Any],
              test_metrics: dict[str, float], digest: str) -> str:
    try:
        client.get_registered_model(spec.registry_name)
    except MlflowException:
        client.create_registered_model(spec.registry_name,
                                       description=f"dnahpo study {spec.name}: {spec.description or ''}")
    tags = {"dnahpo.study": spec.name, "dnahpo.trial": str(trial.number),
            "dnahpo.data_digest": digest, "dnahpo.base_model": spec.model.name_or_path,
            "dnahpo.validation_" + spec.study.metric: str(trial.value)}
    tags.update({f"param.{k}": str(v) for k, v in params.items()})
    tags.update({f"test.{k}": f"{v:.6g}" for k, v in test_metrics.items()})
    version = mlflow.register_model(model_uri, spec.registry_name, tags=tags)
    return str(version.version)


def _champion(client: MlflowClient, spec: StudySpec) -> dict[str, Any] | None:
    try:
        mv = client.get_model_version_by_alias(spec.registry_name, spec.registry.alias)
    except MlflowException:
        return None
    return {"version": mv.version, "tags": dict(mv.tags),
            "uri": f"models:/{spec.registry_name}/{mv.version}"}


def _beats(champion: dict[str, Any] | None, test_metrics: dict[str, float],
           manifest: dict[str, Any], metric: str, direction: str, data_dir: Path) -> bool:
    """True when there is no champion, or the new model is strictly better on this test split.

    A champion scored on another test split is scored again on this one, so that the two numbers
    compared come from the same reads.
    """
    if champion is None:
        return True
    tags = champion["tags"]
    if tags.get("dnahpo.data_digest") == manifest["digest"] and f"test.{metric}" in tags:
        old = float(tags[f"test.{metric}"])
    else:
        old = evaluate_on_test(champion["uri"], data_dir, manifest).get(metric, float("nan"))
    new = test_metrics.get(metric, float("nan"))
    if math.isnan(old):
        return not math.isnan(new)
    return new > old if direction == "maximize" else new < old


def describe(p: Promotion, spec: StudySpec) -> str:
    metric = spec.study.metric
    lines = [f"trial {p.trial_number} registered as {spec.registry_name} version {p.version} "
             f"with alias @{p.alias}",
             f"test {metric} = {p.test_metrics.get(metric, float('nan')):.4f} "
             f"(the test split was used once for this)"]
    if p.previous_champion and p.alias != spec.registry.alias:
        old = p.previous_champion["tags"].get(f"test.{metric}", "?")
        lines.append(f"the champion (version {p.previous_champion['version']}, test {metric} "
                     f"= {old}) stays; the new model is @{spec.registry.challenger_alias}")
    if p.selection.get("per_trial"):
        for number, info in p.selection["per_trial"].items():
            lines.append(f"  trial {number}: validation {metric} {info['mean']:.4f} ± "
                         f"{info['sd']:.4f} over seeds {info['seeds']}")
    lines.append(f'load it: mlflow.pyfunc.load_model("models:/{spec.registry_name}@'
                 f'{spec.registry.alias}").predict(["ACGT..."])')
    return "\n".join(lines)
