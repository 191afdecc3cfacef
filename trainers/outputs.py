"""What a trial leaves in ``output_dir`` (rank 0 only).

  model/                   the PEFT adapter (adapter_config.json + weights, head included) or,
                           under full fine-tuning, the whole model; plus the tokenizer
  labels.json              {"labels": [names by class id], "id2label": ..., "label2id": ...}
  result.json              status, value and the run's facts (see ``RESULT_KEYS``)
  history.json             one entry per evaluation: step, metrics, train loss, learning rate
  confusion_matrix.json    of the best evaluation: labels, matrix (rows true, columns predicted)

JSON is strict: NaN and infinities are written as null.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

RESULT_FILE = "result.json"
STATUSES = ("completed", "pruned", "failed")


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def write_json(path: Path, content: Any) -> None:
    """Write atomically: a reader (the orchestrator) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(_strict(content), indent=2, allow_nan=False) + "\n",
                       encoding="utf-8")
    os.replace(partial, path)


def read_result(output_dir: Path) -> dict | None:
    try:
        return json.loads((Path(output_dir) / RESULT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def clear_stale_result(output_dir: Path) -> None:
    """A result.json left by an earlier attempt must not be mistaken for this one's."""
    (Path(output_dir) / RESULT_FILE).unlink(missing_ok=True)


def write_result(output_dir: Path, status: str, **facts: Any) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
    write_json(Path(output_dir) / RESULT_FILE, {"status": status, **facts})


def write_labels(output_dir: Path, labels: list[str]) -> None:
    write_json(Path(output_dir) / "labels.json",
               {"labels": labels, "id2label": {str(i): n for i, n in enumerate(labels)},
                "label2id": {n: i for i, n in enumerate(labels)}})


def write_history(output_dir: Path, history: list[dict]) -> None:
    write_json(Path(output_dir) / "history.json", history)


def write_confusion_matrix(output_dir: Path, labels: list[str], matrix: list[list[int]] | None,
                           step: int | None) -> None:
    write_json(Path(output_dir) / "confusion_matrix.json",
               {"labels": labels, "rows": "true label", "columns": "predicted label",
                "step": step, "matrix": matrix})


def save_model(output_dir: Path, model, tokenizer) -> Path:
    """``model`` unwrapped: a PeftModel saves only adapter + head, a plain model everything."""
    folder = Path(output_dir) / "model"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_trial_outputs(trial, labels: list[str], batches, progress, outcome) -> None:
    """result.json, history.json, labels.json and confusion_matrix.json from the run's state
    (``trainers.progress``); the model is saved separately, only for a completed trial."""
    best = progress.best
    evaluation = best.evaluation if best else None
    write_result(
        trial.output_dir, outcome.status,
        value=best.value if best and outcome.status != "failed" else None,
        metric=trial.objective_metric, direction=trial.objective_direction,
        best_step=evaluation.step if evaluation else None,
        best_metrics=evaluation.metrics if evaluation else None,
        pruned_at_step=outcome.pruned_at_step, reason=outcome.reason, message=outcome.message,
        stopped_early=outcome.stopped_early, examples_seen=progress.examples_seen,
        optimizer_steps=progress.optimizer_steps, n_evaluations=len(progress.history),
        train_seconds=progress.train_seconds, eval_seconds=progress.eval_seconds,
        seconds_to_first_step=progress.seconds_to_first_step,
        first_step_unix_time=progress.first_step_unix_time,
        effective_batch_size=batches.effective_batch_size,
        device_batch_size=batches.device_batch_size,
        gradient_accumulation_steps=batches.accumulation_steps, processes=batches.processes,
        study_name=trial.study_name, trial_number=trial.trial_number, seed=trial.training.seed,
        **progress.facts)
    write_history(trial.output_dir, progress.history)
    write_labels(trial.output_dir, labels)
    write_confusion_matrix(trial.output_dir, labels,
                           evaluation.confusion if evaluation else None,
                           evaluation.step if evaluation else None)
    if evaluation is not None and evaluation.probabilities is not None:
        write_validation_predictions(trial.output_dir, labels, evaluation)


def write_validation_predictions(output_dir: Path, labels: list[str], evaluation) -> None:
    """The best evaluation's class probabilities, for ROC and precision-recall curves."""
    write_json(Path(output_dir) / "validation_predictions.json",
               {"labels": labels, "step": evaluation.step,
                "y_true": [int(y) for y in evaluation.y_true],
                "probabilities": [[round(float(p), 6) for p in row]
                                  for row in evaluation.probabilities]})
