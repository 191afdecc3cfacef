"""Bad trial files and data fail with exit code 2, a clear message, and before the model loads."""
from __future__ import annotations

import json

import pytest

from tests.helpers.tiny_data import write_prepared_data
from tests.helpers.tiny_model import make_tiny_classifier
from tests.helpers.trainer_runs import read_json, run_in_process
from tests.helpers.trial_file import DELETE, make_trial, write_trial_file
from trainers.errors import EXIT_INVALID, InvalidTrialError
from trainers.trial_file import parse_trial_file


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if weights are read: every case here must be caught before that."""
    from transformers import AutoModelForSequenceClassification

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the trial file was rejected")
    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", refuse)


def _expect_invalid(trial_file, capsys, *fragments: str) -> dict:
    code, result = run_in_process(trial_file)
    stderr = capsys.readouterr().err
    assert code == EXIT_INVALID, stderr
    for fragment in fragments:
        assert fragment in stderr, f"{fragment!r} not in:\n{stderr}"
    assert result["status"] == "failed" and result["reason"] == "invalid_trial_file"
    return result


@pytest.mark.parametrize("overrides, fragments", [
    ({"params": {"learning_rate": DELETE}}, ["params.learning_rate: missing required key"]),
    ({"optuna": DELETE}, ["optuna: missing required key"]),
    ({"params": {"scheduler": "cosin"}}, ["params.scheduler: expected one of", "'cosin'",
                                          "did you mean 'cosine'"]),
    ({"params": {"lora_rank": -1}}, ["params.lora_rank: must be >= 0, got -1"]),
    ({"params": {"batch_size": 0}}, ["params.batch_size: must be >= 1, got 0"]),
    ({"training": {"patients": 3}}, ["training.patients: unknown key", "did you mean 'patience'"]),
    ({"version": 2}, ["version: expected one of 1, got 2"]),
    ({"metric": "loss", "optuna": {"storage": "sqlite:///x.db", "trial_id": 0, "metric": "mcc",
                                   "direction": "maximize",
                                   "pruner": {"name": "median", "options": {}, "wrapped": None}}},
     ["metric: 'loss' disagrees with optuna.metric 'mcc'"]),
    ({"optuna": {"storage": "sqlite:///x.db", "trial_id": 0, "metric": "mcc",
                 "direction": "maximize", "pruner": {"name": "median", "options": {"lowr": 1}}}},
     ["optuna.pruner.options: unknown option 'lowr'"]),
], ids=["missing-key", "missing-section", "unknown-scheduler", "negative-rank", "batch-size-0",
        "unknown-key", "version", "metric-disagrees", "bad-pruner-option"])
def test_bad_trial_file_exits_2_before_model_load(tmp_path, tiny_bert, tiny_data, capsys,
                                                  no_model_load, overrides, fragments):
    trial = write_trial_file(tmp_path / "trial.json", data_dir=str(tiny_data),
                             model={"name_or_path": str(tiny_bert)}, **overrides)
    _expect_invalid(trial, capsys, *fragments)


def test_every_problem_is_reported_at_once(tmp_path):
    raw = make_trial(tmp_path, params={"lora_rank": -1, "batch_size": 0, "scheduler": "nope"})
    with pytest.raises(InvalidTrialError) as caught:
        parse_trial_file(raw, tmp_path)
    assert len(caught.value.problems) == 3, caught.value.problems


def test_unreadable_json_exits_2(tmp_path, capsys, no_model_load):
    trial = tmp_path / "trial.json"
    trial.write_text('{"version": 1, "output_dir": "%s",' % (tmp_path / "out"))
    code, result = run_in_process(trial)
    assert code == EXIT_INVALID and result is None  # no readable output_dir: stderr only
    assert "not readable as JSON" in capsys.readouterr().err


def test_empty_training_split_exits_2(tmp_path, tiny_bert, capsys, no_model_load):
    data = write_prepared_data(tmp_path / "data", n_train=4, n_val=8, n_test=4)
    (data / "train.tsv").write_text("id\tsequence\tlabel\tgroup\n")
    trial = write_trial_file(tmp_path / "trial.json", data_dir=str(data),
                             model={"name_or_path": str(tiny_bert)})
    _expect_invalid(trial, capsys, "the train split is empty")


def test_data_dir_without_manifest_exits_2(tmp_path, tiny_bert, capsys, no_model_load):
    data = write_prepared_data(tmp_path / "data", n_train=8, n_val=8, n_test=4)
    (data / "manifest.json").unlink()
    trial = write_trial_file(tmp_path / "trial.json", data_dir=str(data),
                             model={"name_or_path": str(tiny_bert)})
    _expect_invalid(trial, capsys, "has no manifest.json")


def test_label_not_in_manifest_exits_2(tmp_path, tiny_bert, capsys, no_model_load):
    data = write_prepared_data(tmp_path / "data", n_train=8, n_val=8, n_test=4)
    with (data / "validation.tsv").open("a") as handle:
        handle.write("x\tACGT\tmaybe\t\n")
    trial = write_trial_file(tmp_path / "trial.json", data_dir=str(data),
                             model={"name_or_path": str(tiny_bert)})
    _expect_invalid(trial, capsys, "labels the manifest does not list: 'maybe'")


def test_head_with_fewer_outputs_than_labels_exits_2(tmp_path, capsys, no_model_load):
    model = make_tiny_classifier(tmp_path / "model", num_labels=2)
    data = write_prepared_data(tmp_path / "data", n_train=9, n_val=9, n_test=3,
                               labels=("a", "b", "c"))
    trial = write_trial_file(tmp_path / "trial.json", data_dir=str(data),
                             model={"name_or_path": str(model)})
    _expect_invalid(trial, capsys, "classification head has 2 outputs",
                    "the data has 3 labels")


def test_head_with_other_label_names_exits_2(tmp_path, tiny_data, capsys, no_model_load):
    model = make_tiny_classifier(tmp_path / "model", num_labels=2,
                                 id2label={0: "pos", 1: "neg"})
    trial = write_trial_file(tmp_path / "trial.json", data_dir=str(tiny_data),
                             model={"name_or_path": str(model)})
    _expect_invalid(trial, capsys, "predicts ['pos', 'neg']", "would silently change meaning")


def test_missing_model_exits_2(tmp_path, tiny_data, capsys, no_model_load):
    trial = write_trial_file(tmp_path / "trial.json", data_dir=str(tiny_data),
                             model={"name_or_path": str(tmp_path / "no-such-model")})
    _expect_invalid(trial, capsys, "model.name_or_path: cannot")


def test_trial_file_optional_keys_default(tmp_path):
    trial = parse_trial_file(make_trial(tmp_path), tmp_path)
    assert (trial.objective_metric, trial.objective_direction) == ("mcc", "maximize")
    assert trial.training.max_grad_norm == 1.0
    assert trial.params.resolved_lora_alpha == 2 * trial.params.lora_rank
    loss = parse_trial_file(make_trial(tmp_path, metric="loss"), tmp_path)
    assert loss.objective_direction == "minimize"


def test_helper_writes_a_file_the_trainer_accepts(tmp_path):
    path = write_trial_file(tmp_path / "t.json")
    assert parse_trial_file(read_json(path), tmp_path).version == 1
    assert json.loads(path.read_text())["params"]["lora_alpha"] is None
