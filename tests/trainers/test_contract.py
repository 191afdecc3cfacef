"""The trial files the orchestrator writes (hpo.trial_files) are ones the trainer accepts."""
from __future__ import annotations

import optuna
import pytest

from hpo.params import suggest_params
from hpo.spec import parse_study_spec
from hpo.trial_files import build_trial_file, pruner_plain
from trainers.trial_file import parse_trial_file


@pytest.mark.parametrize("lora_rank", [0, 8])
def test_orchestrator_trial_file_parses(tmp_path, tiny_bert, lora_rank):
    (tmp_path / "reads.csv").write_text("sequence,label\nACGT,a\n")
    spec = parse_study_spec({"name": "contract", "data": {"path": "reads.csv"},
                             "model": {"name_or_path": str(tiny_bert)},
                             "search": {"lora_rank": lora_rank}}, base_dir=tmp_path)
    params = suggest_params(optuna.trial.FixedTrial({
        "learning_rate": 1e-4, "scheduler": "linear", "batch_size": 16, "weight_decay": 0.01,
        "balancing": "none"}), spec.search)
    raw = build_trial_file(spec, trial_number=3, trial_id=4, storage_url="sqlite:///o.db",
                           pruner=pruner_plain(spec, n_train=100), data_dir=tmp_path / "data",
                           output_dir=tmp_path / "out", params=params,
                           tracking_uri="sqlite:///m.db", mlflow_run_id="abc")
    trial = parse_trial_file(raw, tmp_path)
    assert trial.params.lora_rank == lora_rank
    assert (trial.objective_metric, trial.optuna.trial_id) == (spec.study.metric, 4)
    assert trial.optuna.pruner_plain["name"] == spec.study.pruner.name
