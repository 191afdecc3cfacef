"""Whole trials in this process (one rank): outcomes, outputs, balancing, accumulation,
early stopping, failures and reproducibility."""
from __future__ import annotations

import math

import pytest
import torch

from tests.helpers.tiny_data import write_prepared_data
from tests.helpers.tiny_model import make_tiny_model
from tests.helpers.trainer_runs import read_json, run_in_process
from tests.helpers.trial_file import write_trial_file
from trainers.errors import EXIT_COMPLETED, EXIT_FAILED


def _trial(tmp_path, model, data, name="trial", **overrides):
    return write_trial_file(tmp_path / f"{name}.json", data_dir=str(data),
                            output_dir=str(tmp_path / name),
                            model={"name_or_path": str(model)}, **overrides)


@pytest.fixture(scope="module")
def three_class_data(tmp_path_factory):
    return write_prepared_data(tmp_path_factory.mktemp("three"), n_train=48, n_val=24,
                               n_test=6, labels=("a", "b", "c"), seed=2)


@pytest.mark.parametrize("family", ["bert", "esm", "llama", "modernbert"])
def test_each_family_trains_and_writes_its_outputs(tmp_path, tiny_models, three_class_data,
                                                   family):
    trial = _trial(tmp_path, tiny_models[family], three_class_data, params={"epochs": 1},
                   training={"evals_per_epoch": 2})
    code, result = run_in_process(trial)
    assert code == EXIT_COMPLETED and result["status"] == "completed"
    out = tmp_path / "trial"
    history = read_json(out / "history.json")
    assert [h["step"] for h in history] == [24, 48]  # grid: ceil(48 / 2) examples
    assert result["value"] == max(h["val_mcc"] for h in history)
    assert (out / "model" / "adapter_config.json").exists()
    assert (out / "model" / "tokenizer.json").exists()
    assert read_json(out / "labels.json")["labels"] == ["a", "b", "c"]
    matrix = read_json(out / "confusion_matrix.json")
    assert matrix["step"] == result["best_step"]
    assert sum(map(sum, matrix["matrix"])) == 24


def test_tiny_model_learns_the_motifs(tmp_path, tiny_bert, tiny_data):
    trial = _trial(tmp_path, tiny_bert, tiny_data, params={"epochs": 4})
    code, result = run_in_process(trial)
    assert code == EXIT_COMPLETED
    history = read_json(tmp_path / "trial" / "history.json")
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    assert result["value"] > 0.5, history


def test_same_trial_file_gives_the_same_result(tmp_path, tiny_bert, imbalanced_data):
    settings = dict(params={"balancing": "upsample", "epochs": 1, "lora_dropout": 0.1})
    first = run_in_process(_trial(tmp_path, tiny_bert, imbalanced_data, "one", **settings))[1]
    second = run_in_process(_trial(tmp_path, tiny_bert, imbalanced_data, "two", **settings))[1]
    assert first["value"] == second["value"]
    assert first["best_metrics"] == second["best_metrics"]
    strip = ("train_seconds", "eval_seconds")  # wall clock differs, nothing else may
    histories = [read_json(tmp_path / n / "history.json") for n in ("one", "two")]
    assert [{k: v for k, v in h.items() if k not in strip} for h in histories[0]] == \
        [{k: v for k, v in h.items() if k not in strip} for h in histories[1]]


def test_balancing_touches_only_the_training_split(tmp_path, tiny_bert, imbalanced_data):
    code, result = run_in_process(_trial(tmp_path, tiny_bert, imbalanced_data,
                                         params={"balancing": "downsample", "epochs": 1}))
    assert code == EXIT_COMPLETED
    assert result["train_class_counts"] == [24, 24]  # 72 neg / 24 pos, down to 24 each
    assert result["n_train_prepared"] == 96 and result["n_train_balanced"] == 48
    assert result["n_validation"] == 48
    assert sum(map(sum, read_json(tmp_path / "trial" / "confusion_matrix.json")["matrix"])) == 48
    # the grid follows the prepared size (96 / 2), not the balanced one
    assert result["eval_interval_examples"] == 48


def test_weighted_loss_trial_completes(tmp_path, tiny_bert, imbalanced_data):
    code, result = run_in_process(_trial(tmp_path, tiny_bert, imbalanced_data,
                                         params={"balancing": "weighted_loss", "epochs": 1}))
    assert code == EXIT_COMPLETED
    assert result["train_class_counts"] == [72, 24]


def test_accumulated_micro_batches_equal_one_large_batch(tmp_path, tiny_data):
    # Without dropout, 4 micro-batches of 4 accumulated must match one batch of 16.
    model = make_tiny_model(tmp_path / "model", "bert", dropout=0.0)
    params = {"batch_size": 16, "epochs": 1, "lora_dropout": 0.0}
    _, whole = run_in_process(_trial(tmp_path, model, tiny_data, "whole", params=params,
                                     training={"evals_per_epoch": 1,
                                               "max_device_batch_size": 16}))
    _, split = run_in_process(_trial(tmp_path, model, tiny_data, "split", params=params,
                                     training={"evals_per_epoch": 1,
                                               "max_device_batch_size": 4}))
    assert (whole["gradient_accumulation_steps"], split["gradient_accumulation_steps"]) == (1, 4)
    assert (split["device_batch_size"], split["effective_batch_size"]) == (4, 16)
    assert whole["optimizer_steps"] == split["optimizer_steps"] == 96 // 16
    assert whole["examples_seen"] == split["examples_seen"] == 96
    assert split["best_metrics"]["loss"] == pytest.approx(whole["best_metrics"]["loss"], rel=1e-4)


def test_saved_model_is_the_best_evaluation_not_the_last(tmp_path, tiny_bert, tiny_data):
    # "Maximise the validation loss": the loss falls as the model learns, so the first
    # evaluation is the best, and patience 2 stops two evaluations later.
    trial = _trial(tmp_path, tiny_bert, tiny_data, metric="loss", direction="maximize",
                   params={"epochs": 4}, training={"patience": 2})
    code, result = run_in_process(trial)
    assert code == EXIT_COMPLETED and result["stopped_early"]
    history = read_json(tmp_path / "trial" / "history.json")
    assert len(history) == 3 and result["best_step"] == history[0]["step"] == 48
    assert history[-1]["val_loss"] < history[0]["val_loss"]
    # Reload what was saved and evaluate it: it is the first evaluation's model.
    assert _validation_loss_of_saved_model(tmp_path / "trial", tiny_bert, tiny_data) == \
        pytest.approx(result["best_metrics"]["loss"], rel=1e-5)


def _validation_loss_of_saved_model(out, base, data) -> float:
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from trainers.data import load_prepared_data
    from trainers.metrics import compute_metrics, softmax
    labels = read_json(out / "labels.json")["labels"]
    classifier = AutoModelForSequenceClassification.from_pretrained(base, num_labels=len(labels))
    model = PeftModel.from_pretrained(classifier, out / "model").eval()
    tokenizer = AutoTokenizer.from_pretrained(out / "model")
    split = load_prepared_data(data).validation
    batch = tokenizer(split.sequences, padding=True, return_tensors="pt",
                      return_token_type_ids=False)
    with torch.no_grad():
        logits = model(**batch).logits.numpy()
    return compute_metrics(split.label_ids, softmax(logits))["loss"]


def test_full_fine_tuning_saves_the_whole_model(tmp_path, tiny_bert, tiny_data):
    code, result = run_in_process(_trial(tmp_path, tiny_bert, tiny_data,
                                         params={"lora_rank": 0, "epochs": 1}))
    assert code == EXIT_COMPLETED
    assert result["n_params_trainable"] == result["n_params_total"]
    assert result["lora_target_modules"] is None
    saved = read_json(tmp_path / "trial" / "model" / "config.json")
    assert saved["id2label"] == {"0": "neg", "1": "pos"}


def test_nan_loss_fails_the_trial(tmp_path, tiny_bert, tiny_data, capsys):
    code, result = run_in_process(_trial(tmp_path, tiny_bert, tiny_data,
                                         params={"learning_rate": 1e30}))
    assert code == EXIT_FAILED
    assert (result["status"], result["reason"]) == ("failed", "nan_loss")
    assert "non-finite training loss" in capsys.readouterr().err
    assert not (tmp_path / "trial" / "model").exists()


def test_out_of_memory_fails_the_trial(tmp_path, tiny_bert, tiny_data, monkeypatch):
    def out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    monkeypatch.setattr("trainers.finetune.load_model", out_of_memory)
    code, result = run_in_process(_trial(tmp_path, tiny_bert, tiny_data))
    assert code == EXIT_FAILED
    assert (result["status"], result["reason"]) == ("failed", "out_of_memory")
    assert "Tried to allocate" in result["message"]


def test_objective_undefined_everywhere_fails(tmp_path, tiny_bert):
    data = write_prepared_data(tmp_path / "data", n_train=24, n_val=12, n_test=3,
                               labels=("a", "b", "c"), absent_from_validation=("c",))
    with pytest.warns(RuntimeWarning, match="absent from the validation split"):
        code, result = run_in_process(_trial(tmp_path, tiny_bert, data, metric="auroc",
                                             params={"epochs": 1}))
    assert code == EXIT_FAILED and result["reason"] == "metric_undefined"
    assert math.isnan(read_json(tmp_path / "trial" / "history.json")[0]["val_auroc"] or math.nan)


def test_metrics_go_to_the_mlflow_run_at_the_grid_steps(tmp_path, tiny_bert, tiny_data):
    from mlflow.tracking import MlflowClient
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(uri)
    run = client.create_run(client.create_experiment("trainer-test"))
    trial = _trial(tmp_path, tiny_bert, tiny_data, mlflow={"tracking_uri": uri,
                                                           "run_id": run.info.run_id},
                   params={"epochs": 1})
    code, _ = run_in_process(trial)
    assert code == EXIT_COMPLETED
    steps = [h["step"] for h in read_json(tmp_path / "trial" / "history.json")]
    assert steps == [48, 96]
    for key in ("val_mcc", "val_loss", "val_auroc", "train_loss", "learning_rate"):
        logged = client.get_metric_history(run.info.run_id, key)
        assert [m.step for m in logged] == steps, key
    # The trainer appends metrics only; the run stays the parent's to end.
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
