"""A real study end to end on SQLite with a tiny model: baseline, pruning, failure, MLflow,
status/best/report, and promotion to the Model Registry.

One study is run once for the module (five real `accelerate launch`-ed trials); the tests
read what it left behind.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import TrialState

from hpo.cli import main
from hpo.spec import load_study_spec

from .conftest import write_study

# Trials: 0 = the baseline (3 epochs: pruned once it passes 200 examples), 1, 3, 4 = one epoch
# each (they complete before the pruner may act), 2 = a diverging learning rate (NaN loss).
ENQUEUED = [
    {"epochs": 1, "learning_rate": 0.003, "batch_size": 16},
    {"epochs": 1, "learning_rate": 1.0e30, "batch_size": 16},
    {"epochs": 1, "learning_rate": 0.01, "batch_size": 32},
    {"epochs": 1, "learning_rate": 0.001, "batch_size": 16},
]
PRUNE_FROM = 200  # examples seen; one epoch of the training split is about 168


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory, tiny_bert):
    folder = tmp_path_factory.mktemp("study")
    (folder / "enqueue.yaml").write_text(yaml.safe_dump(ENQUEUED))
    path = write_study(folder, tiny_bert, study={
        "metric": "mcc", "n_trials": 4, "enqueue": ["enqueue.yaml"],
        "sampler": {"name": "random", "seed": 0},
        "pruner": {"name": "threshold", "options": {"upper": -2.0, "n_warmup_steps": PRUNE_FROM}},
    })
    raw = yaml.safe_load(path.read_text())
    raw["search"]["epochs"] = {"choices": [1, 3]}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["run", str(path)]) == 0
    spec = load_study_spec(path)
    study = optuna.load_study(study_name=spec.name, storage=spec.optuna_storage_url)
    return path, spec, study


def test_budget_counts_completed_and_pruned_trials(finished_study):
    _, _, study = finished_study
    states = [t.state for t in study.trials]
    assert states == [TrialState.PRUNED, TrialState.COMPLETE, TrialState.FAIL,
                      TrialState.COMPLETE, TrialState.COMPLETE]


def test_trial_zero_is_the_baseline(finished_study):
    _, _, study = finished_study
    first = study.trials[0]
    assert first.user_attrs["baseline"] is True
    params = first.user_attrs["params"]
    assert params["learning_rate"] == 2e-5 and params["scheduler"] == "linear"
    assert params["batch_size"] == 16 and params["lora_rank"] == 8
    assert params["balancing"] == "none" and params["epochs"] == 3


def test_pruned_trial_stops_at_the_first_report_past_warmup(finished_study):
    _, _, study = finished_study
    pruned = study.trials[0]
    steps = sorted(pruned.intermediate_values)
    assert steps[-1] >= PRUNE_FROM and all(s < PRUNE_FROM for s in steps[:-1])
    assert pruned.user_attrs["pruned_at_step"] == steps[-1]
    # Every trial reports on the same grid of examples seen, whatever its batch size.
    grid = set(study.trials[1].intermediate_values) | set(study.trials[3].intermediate_values)
    assert set(steps[:-1]) <= grid


def test_failed_trial_keeps_reason_and_log_tail_and_study_goes_on(finished_study):
    _, _, study = finished_study
    failed = study.trials[2]
    assert "nan" in failed.user_attrs["fail_reason"].lower()
    assert failed.user_attrs["log_tail"].strip()
    assert study.trials[3].state == TrialState.COMPLETE


def test_completed_value_is_the_best_validation_metric(finished_study):
    _, spec, study = finished_study
    for trial in (study.trials[1], study.trials[3], study.trials[4]):
        assert trial.value == pytest.approx(max(trial.intermediate_values.values()))
        result = json.loads((Path(trial.user_attrs["trial_dir"]) / "result.json").read_text())
        assert result["status"] == "completed"


def test_mlflow_has_nested_trial_runs_with_matching_states(finished_study):
    _, spec, study = finished_study
    client = MlflowClient(spec.mlflow_tracking_uri)
    experiment = client.get_experiment_by_name(spec.name)
    runs = client.search_runs([experiment.experiment_id])
    parent = [r for r in runs if r.data.tags.get("dnahpo.role") == "study"]
    assert len(parent) == 1 and parent[0].info.status == "FINISHED"
    parent_id = parent[0].info.run_id
    assert study.user_attrs["mlflow_study_run_id"] == parent_id
    trials = {int(r.data.tags["dnahpo.trial"]): r for r in runs
              if r.data.tags.get("dnahpo.role") == "trial"}
    assert sorted(trials) == [0, 1, 2, 3, 4]
    expected = {0: "KILLED", 1: "FINISHED", 2: "FAILED", 3: "FINISHED", 4: "FINISHED"}
    assert {n: r.info.status for n, r in trials.items()} == expected
    assert all(r.data.tags["mlflow.parentRunId"] == parent_id for r in trials.values())
    # Links both ways: the trial stores its run id.
    assert all(study.trials[n].user_attrs["mlflow_run_id"] == r.info.run_id
               for n, r in trials.items())
    keys = {n: set(r.data.params) for n, r in trials.items()}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys
    assert trials[0].data.tags["dnahpo.pruned_at_step"] == str(study.trials[0].user_attrs["pruned_at_step"])
    artifacts = {a.path for a in client.list_artifacts(trials[1].info.run_id)}
    assert {"confusion_matrix.png", "roc_curve.png", "pr_curve.png", "history.json",
            "result.json", "model"} <= artifacts, artifacts
    history = client.get_metric_history(trials[1].info.run_id, f"val_{spec.study.metric}")
    assert [m.step for m in history] == sorted(study.trials[1].intermediate_values)
    # The splits are dataset inputs of the study run; the test split is not among them.
    contexts = {tag.value for d in parent[0].inputs.dataset_inputs for tag in d.tags}
    assert contexts == {"train", "validation"}


def test_status_best_and_report(finished_study, capsys):
    path, spec, study = finished_study
    assert main(["status", str(path)]) == 0
    table = capsys.readouterr().out
    assert "5 trials: 3 completed, 1 pruned, 1 failed" in table
    assert "trial 2 failed:" in table
    assert main(["best", str(path), "--json"]) == 0
    best = json.loads(capsys.readouterr().out)
    assert best["number"] == study.best_trial.number and best["value"] == study.best_value
    assert main(["report", str(path)]) == 0
    report = spec.report_dir
    for name in ("optimization_history", "intermediate_values", "timeline"):
        assert (report / f"{name}.html").stat().st_size > 0
        assert (report / f"{name}.png").stat().st_size > 0
    summary = json.loads((report / "summary.json").read_text())
    assert summary["baseline"]["number"] == 0
    assert summary["pruning"]["examples_saved_by_pruning"] > 0


def test_promotion_registers_champion_and_a_worse_model_stays_challenger(
        finished_study, tiny_bert, tmp_path, capsys):
    path, spec, study = finished_study
    assert main(["promote", str(path)]) == 0
    client = MlflowClient(spec.mlflow_tracking_uri, registry_uri=spec.mlflow_tracking_uri)
    champion = client.get_model_version_by_alias(spec.registry_name, "champion")
    assert champion.tags["dnahpo.trial"] == str(study.best_trial.number)
    assert "test.mcc" in champion.tags
    study = optuna.load_study(study_name=spec.name, storage=spec.optuna_storage_url)
    assert len(study.user_attrs["test_split_evaluations"]) == 1

    # A second study on the same data and registry whose only trial barely trains.
    raw = yaml.safe_load(path.read_text())
    raw.update(name="toy-worse", registry={"name": spec.registry_name})
    raw["search"].update(learning_rate=1.0e-7, epochs=1)
    raw["study"] = {"metric": "mcc", "n_trials": 1, "warm_start": False,
                    "sampler": {"name": "random", "seed": 0}, "pruner": {"name": "none"}}
    worse = path.with_name("worse.yaml")
    worse.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["run", str(worse)]) == 0
    capsys.readouterr()
    assert main(["promote", str(worse)]) == 0
    assert "stays" in capsys.readouterr().out
    still = client.get_model_version_by_alias(spec.registry_name, "champion")
    assert still.version == champion.version
    challenger = client.get_model_version_by_alias(spec.registry_name, "challenger")
    assert float(challenger.tags["test.mcc"]) <= float(champion.tags["test.mcc"])


def test_champion_loads_and_predicts_in_a_fresh_process(finished_study):
    _, spec, _ = finished_study
    code = (
        "import mlflow, json\n"
        f"mlflow.set_tracking_uri({spec.mlflow_tracking_uri!r})\n"
        f"m = mlflow.pyfunc.load_model('models:/{spec.registry_name}@champion')\n"
        "out = m.predict(['ACGT' * 20, 'GATTACAGATTACA' * 5])\n"
        "print(json.dumps(out.to_dict(orient='list')))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(out["label"]) <= {"neg", "pos"} and len(out["label"]) == 2
    for p_neg, p_pos in zip(out["p_neg"], out["p_pos"]):
        assert p_neg + p_pos == pytest.approx(1.0, abs=1e-5)


def test_trial_runs_compare_in_the_mlflow_ui_in_a_real_browser(finished_study):
    from scripts.mlflow_ui_screenshot import find_chromium, screenshot

    if find_chromium() is None:
        pytest.skip("Chromium is not installed (scripts/install.sh installs Debian's chromium)")
    from PIL import Image

    _, spec, _ = finished_study
    out = screenshot(spec.mlflow_tracking_uri, spec.name, spec.output_dir / "mlflow-compare.png")
    image = Image.open(out).convert("L")
    assert image.size == (1600, 1000)
    # A rendered page, not a blank one: many distinct grey levels (text, tables, charts).
    assert len(set(image.getdata())) > 20
