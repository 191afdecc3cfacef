"""The ``hf_trainer`` arm of the search-efficiency benchmark: what a user of plain Hugging Face
tooling does instead of dnahpo, i.e. transformers ``Trainer.hyperparameter_search`` with the
Optuna backend, given the same data, model, search space, trial budget, early-stopping patience
and evaluation cadence.

    python benchmarks/hf_search.py [--study studies/demo.yaml] [--n-trials 8] [--seed 0]
        [--prepared DIR] [--out runs/bench/hf]

Imported by benchmarks/search_efficiency.py (``run_hf_search``); run alone it prints the arm's
result JSON on stdout (progress goes to stderr) and writes it to OUT/result.json as well.

What is the same as dnahpo
- Parameters: ``hp_space`` calls dnahpo's own sampler, ``hpo.params.suggest_params``, in the
  same order (TPE, seeded with ``seed``). ``model_init(trial)`` runs *before* ``hp_space`` in
  ``Trainer.train`` (it is called, then ``_hp_search_setup`` calls ``hp_space``), so both call
  ``suggest_params``; Optuna returns the stored value when a name is suggested again.
- Model: built by ``trainers.modeling`` (plan_model / load_model / load_tokenizer), so the
  modules, LoRA targets and trained head are those of dnahpo's trainer; ``transformers``
  calls ``set_seed(args.seed)`` just before ``model_init``, so initial weights are seeded too.
- Batch: a batch size above ``training.max_device_batch_size`` becomes micro-batches and
  gradient accumulation by ``trainers.optimization.plan_batches``.
- Balancing (not a Trainer option): the trial's training set is
  ``trainers.balancing.balanced_indices`` rows; ``weighted_loss`` uses
  ``loss_class_weights`` in a weighted cross-entropy in ``compute_loss``.
- Loss: ``compute_loss`` is overridden for every balancing (logits in float, mean
  cross-entropy over the micro-batch, as trainers.finetune) with ``loss_is_scaled_for_ga =
  False``, which transformers documents for a custom loss; ``training_step`` then divides it by
  the accumulation steps. (See "HF behaviour" for why the default path is not used.)
- Cadence: ``eval_steps = save_steps = 1 / (epochs * evals_per_epoch)`` of the trial's
  optimizer steps (transformers reads a value < 1 as a fraction: ``ceil(max_steps * f)``), plus
  the evaluation transformers adds at the last step; ``EarlyStoppingCallback`` with
  ``training.patience`` (strict improvement, like dnahpo with min_delta 0);
  ``load_best_model_at_end``; AdamW with no decay on biases and LayerNorm weights; clipping at
  1.0; warmup ``ceil(warmup_ratio * total optimizer steps)``; the same seed for every trial.
- Metrics: ``trainers.metrics.compute_metrics`` on softmax probabilities of the whole
  validation split; the objective is ``eval_<study.metric>``. Its ``loss`` key becomes
  ``eval_loss`` (transformers prefixes the keys after storing its own ``eval_loss``, so this
  unweighted log loss replaces the Trainer's, as dnahpo's ``val_loss``).
- Cost: ``examples_seen`` counts the labels of every training micro-batch (``training_step``),
  pruned trials included; ``seconds`` is the wall time of ``Trainer.train`` for the trial
  (model loading and the final save included).

HF behaviour that matters for the comparison (checked in transformers 5.25 / optuna 5.1)
- The value Optuna gets for a trial is the LAST evaluation's objective, not the best:
  ``_report_to_hp_search`` sets ``trainer.objective`` at every evaluation and
  ``run_hp_search_optuna`` returns it after ``train``; ``load_best_model_at_end`` restores the
  best checkpoint without re-evaluating. So TPE learns from, and ``BestRun`` is chosen by, the
  final evaluation, while the model kept is the best checkpoint. Here a trial's ``value`` is
  that best checkpoint's metric (``state.best_metric``) and ``objective`` is what Optuna got.
- Pruning: Optuna's default pruner is ``MedianPruner()`` (5 startup trials, so nothing is pruned
  before 5 trials have completed), fed ``trial.report(objective, state.global_step)``: the step
  is the optimizer step, which differs between batch sizes (and balancings); the median is taken
  only over completed trials that reported at exactly that step, so a trial is compared only
  with trials of the same steps-per-evaluation, and never pruned when none exists.
- Cadence differs from dnahpo's for down/upsampling: dnahpo's evaluation grid is in examples
  of the prepared (unbalanced) training split, shared by every trial; here "epoch" is a pass
  over the trial's balanced training set, so an upsampled trial evaluates less often per
  example seen and a downsampled one more often.
- In transformers 5 ``TrainingArguments`` has no ``warmup_ratio``: ``hp_space`` returning it
  is only warned about and ignored (``_hp_search_setup`` skips keys that are not attributes).
  The ratio goes in ``warmup_steps`` (< 1 means a fraction), and the argument must start as a
  float: ``_hp_search_setup`` casts each value to the type of the current one, and the
  default ``warmup_steps=0`` is an int, which would truncate 0.05 to 0.
- Gradient accumulation with the default loss: the BERT classifier's ``forward`` takes
  ``**kwargs``, so the Trainer treats the model as "accepting loss kwargs", counts
  ``num_items_in_batch`` and does NOT divide the loss by the accumulation steps, but the model
  ignores ``num_items_in_batch`` and returns a per-micro-batch mean: the accumulated gradient
  is ``g`` times too large (batch 64 = 2 x 32 here), which matters through gradient clipping.
  The overridden ``compute_loss`` above avoids that.
- ``EarlyStoppingCallback`` keeps its counter across trials (no reset in ``on_train_begin``),
  but the first evaluation of a trial resets it (the new ``TrainerState`` has no best metric).
- Failures: by default one failing trial aborts ``hyperparameter_search``; this arm passes
  ``catch=(Exception,)`` (an ``optimize`` argument HF forwards) so it goes on like dnahpo.
- Checkpoints: HF needs them on disk for ``load_best_model_at_end``; ``save_only_model=True``
  skips the optimizer state (HF's cheapest setting), and each trial's folder is deleted after
  the trial.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
import traceback
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
for _key, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                     "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(_key, _value)

ARM = "hf_trainer"


def _log(message: str) -> None:
    print(f"[hf_search] {message}", file=sys.stderr, flush=True)


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def run_hf_search(spec, prepared_dir: Path, n_trials: int, seed: int, out: Path) -> dict:
    """Run ``Trainer.hyperparameter_search`` (Optuna, TPE seeded with ``seed``, default
    MedianPruner) for ``n_trials`` trials on ``prepared_dir``'s train and validation splits.

    Returns {"arm", "seed", "wall_seconds", "trials": [...], "best": {...} or None}; each
    completed trial's best-checkpoint model is saved to ``out/trial-<n>/model``.
    """
    started = time.perf_counter()
    import optuna
    import torch
    import torch.nn.functional as F
    from transformers import (DataCollatorWithPadding, EarlyStoppingCallback, Trainer,
                              TrainingArguments)
    from transformers.trainer_callback import PrinterCallback, TrainerCallback

    from hpo.params import suggest_params
    from hpo.spec import BASELINE
    from trainers.balancing import balanced_indices, loss_class_weights
    from trainers.data import TokenizedSplit, load_prepared_data, tokenize
    from trainers.metrics import compute_metrics as dnahpo_metrics
    from trainers.metrics import softmax
    from trainers.modeling import load_model, load_tokenizer, plan_model
    from trainers.optimization import plan_batches
    from trainers.trial_file import ModelConfig, Params

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = out / "hf_checkpoints"
    settings = spec.training
    metric = spec.study.metric
    maximize = spec.study.resolved_direction == "maximize"
    max_device = settings.max_device_batch_size

    data = load_prepared_data(prepared_dir)  # train and validation only, never test
    n_labels = len(data.labels)
    train_labels = data.train.label_ids
    model_config = ModelConfig(name_or_path=spec.model.name_or_path,
                               revision=spec.model.revision, max_length=spec.model.max_length,
                               trust_remote_code=spec.model.trust_remote_code,
                               lora_target_modules=spec.model.lora_target_modules)
    tokenizer = load_tokenizer(model_config)
    train_encodings = tokenize(tokenizer, data.train.sequences, model_config.max_length)
    validation_set = TokenizedSplit(
        tokenize(tokenizer, data.validation.sequences, model_config.max_length),
        data.validation.label_ids)
    class_weights = loss_class_weights(train_labels, n_labels)
    plans: dict[bool, Any] = {}  # only "LoRA or not" changes the plan (the targets)

    def trial_params(trial) -> dict[str, Any]:
        """dnahpo's parameters for the trial (stored values on repeated calls); the baseline
        for the ``model_init(None)`` call in ``Trainer.__init__``."""
        return suggest_params(trial, spec.search) if trial is not None else dict(BASELINE)

    def balanced_rows(params: dict[str, Any]):
        return balanced_indices(train_labels, params["balancing"], seed)

    def model_init(trial):
        params = trial_params(trial)
        lora = params["lora_rank"] > 0
        if lora not in plans:
            plans[lora] = plan_model(model_config, data.labels, params["lora_rank"])
        return load_model(model_config, Params(**params), plans[lora], tokenizer.pad_token_id)

    def hp_space(trial) -> dict[str, Any]:
        params = trial_params(trial)
        batches = plan_batches(params["batch_size"], max_device, 1)
        evals = params["epochs"] * settings.evals_per_epoch
        every = 1.0 / evals  # a fraction of the trial's optimizer steps
        if every >= 1.0:  # at most one evaluation in training: give the exact step count,
            micro = math.ceil(len(balanced_rows(params)) / batches.device_batch_size)
            every = float(params["epochs"] * math.ceil(micro / batches.accumulation_steps))
        return {"learning_rate": params["learning_rate"],
                "lr_scheduler_type": params["scheduler"],
                "per_device_train_batch_size": batches.device_batch_size,
                "gradient_accumulation_steps": batches.accumulation_steps,
                "weight_decay": params["weight_decay"],
                "warmup_steps": float(params["warmup_ratio"]),  # < 1: ratio (no warmup_ratio)
                "num_train_epochs": float(params["epochs"]),
                "eval_steps": every, "save_steps": every}

    def hf_compute_metrics(prediction) -> dict[str, float]:
        logits = prediction.predictions
        if isinstance(logits, tuple):
            logits = logits[0]
        return dnahpo_metrics(prediction.label_ids, softmax(logits), labels=list(range(n_labels)))

    records: dict[int, dict[str, Any]] = {}

    class SearchTrainer(Trainer):
        # Our loss is a per-micro-batch mean: training_step divides it by the accumulation.
        loss_is_scaled_for_ga = False

        def train(self, resume_from_checkpoint=None, trial=None, **kwargs):
            params = trial_params(trial)  # samples in dnahpo's order, before model_init
            number = trial.number if trial is not None else -1
            self.train_dataset = TokenizedSplit(train_encodings, train_labels,
                                                balanced_rows(params))
            self._loss_weights = (class_weights if params["balancing"] == "weighted_loss"
                                  else None)
            self._examples_seen = 0
            record = {"number": number, "state": "failed", "value": None, "examples_seen": 0,
                      "seconds": 0.0, "params": params, "objective": None}
            trial_started = time.perf_counter()
            _log(f"trial {number} starts: {params}")
            try:
                output = super().train(resume_from_checkpoint=resume_from_checkpoint,
                                       trial=trial, **kwargs)
                record["value"] = _finite_or_none(self.state.best_metric)
                folder = out / f"trial-{number}" / "model"
                self.model.save_pretrained(folder)  # the best checkpoint, loaded at the end
                tokenizer.save_pretrained(folder)
                record["state"] = "completed"
                return output
            except optuna.TrialPruned:
                record["state"] = "pruned"
                raise
            except Exception:
                traceback.print_exc()
                raise
            finally:
                record["examples_seen"] = int(self._examples_seen)
                record["seconds"] = time.perf_counter() - trial_started
                record["objective"] = _finite_or_none(getattr(self, "objective", None))
                records[number] = record
                shutil.rmtree(self._get_output_dir(trial), ignore_errors=True)
                _log(f"trial {number} {record['state']}: value={record['value']} "
                     f"objective(last eval)={record['objective']} "
                     f"examples_seen={record['examples_seen']} "
                     f"seconds={record['seconds']:.1f}")

        def training_step(self, model, inputs, num_items_in_batch=None):
            self._examples_seen += int(inputs["labels"].shape[0])
            return super().training_step(model, inputs, num_items_in_batch)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            outputs = model(input_ids=inputs["input_ids"],
                            attention_mask=inputs["attention_mask"])
            logits = outputs.logits.float()
            weights = getattr(self, "_loss_weights", None)
            loss = F.cross_entropy(logits, inputs["labels"],
                                   weight=weights.to(logits.device) if weights is not None
                                   else None)
            return (loss, outputs) if return_outputs else loss

    class EvalPrinter(TrainerCallback):  # progress on stderr, stdout stays for the JSON
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            value = (metrics or {}).get(f"eval_{metric}")
            _log(f"  step {state.global_step}/{state.max_steps}: eval_{metric}={value}")

    baseline_batches = plan_batches(BASELINE["batch_size"], max_device, 1)
    args = TrainingArguments(
        output_dir=str(checkpoints),
        eval_strategy="steps", eval_steps=0.25, save_strategy="steps", save_steps=0.25,
        save_total_limit=1, save_only_model=True, load_best_model_at_end=True,
        metric_for_best_model=metric, greater_is_better=maximize,
        per_device_train_batch_size=baseline_batches.device_batch_size,
        gradient_accumulation_steps=baseline_batches.accumulation_steps,
        per_device_eval_batch_size=max_device,
        learning_rate=BASELINE["learning_rate"], weight_decay=BASELINE["weight_decay"],
        lr_scheduler_type=BASELINE["scheduler"], warmup_steps=0.0,  # float: see docstring
        num_train_epochs=float(BASELINE["epochs"]), max_grad_norm=1.0,
        logging_strategy="no", report_to=[], disable_tqdm=True, seed=seed,
        use_cpu=not torch.cuda.is_available(), dataloader_num_workers=0)
    callbacks = [EvalPrinter()]
    if settings.patience is not None:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=settings.patience,
                                               early_stopping_threshold=settings.min_delta))
    trainer = SearchTrainer(model_init=model_init, args=args,
                            train_dataset=TokenizedSplit(train_encodings, train_labels),
                            eval_dataset=validation_set,
                            data_collator=DataCollatorWithPadding(tokenizer),
                            processing_class=tokenizer, compute_metrics=hf_compute_metrics,
                            callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)

    try:
        best_run = trainer.hyperparameter_search(
            direction="maximize" if maximize else "minimize", backend="optuna",
            n_trials=n_trials, hp_space=hp_space,
            compute_objective=lambda metrics: metrics[f"eval_{metric}"],
            sampler=optuna.samplers.TPESampler(seed=seed), catch=(Exception,))
    except ValueError as exc:  # study.best_trial: no trial completed
        _log(f"no best run: {exc}")
        best_run = None
    finally:
        shutil.rmtree(checkpoints, ignore_errors=True)

    best = None
    if best_run is not None:
        number = int(best_run.run_id)
        best = {"trial": number, "validation": records[number]["value"],
                "model_dir": str(out / f"trial-{number}" / "model")}
    return {"arm": ARM, "seed": seed, "wall_seconds": time.perf_counter() - started,
            "trials": [records[n] for n in sorted(records)], "best": best}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", type=Path, default=REPO_ROOT / "studies" / "demo.yaml")
    parser.add_argument("--n-trials", type=int, default=None,
                        help="default: the study's n_trials")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prepared", type=Path, default=None,
                        help="prepared-data folder (default: hpo prepare's, made if missing)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "bench" / "hf")
    args = parser.parse_args(argv)

    from hpo.spec import load_study_spec
    spec = load_study_spec(args.study)
    prepared = args.prepared
    if prepared is None:
        from hpo.data import prepare_data
        prepared = prepare_data(spec).path
    n_trials = args.n_trials if args.n_trials is not None else spec.study.n_trials
    result = run_hf_search(spec, Path(prepared), n_trials, args.seed, args.out)
    text = json.dumps(result, indent=2)
    (Path(args.out) / "result.json").write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
