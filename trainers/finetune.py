"""Fine-tune one trial of a study: a DNA language model + classification head (+ LoRA).

    python -m trainers.finetune TRIAL.json
    accelerate launch [--multi_gpu --num_processes N] -m trainers.finetune TRIAL.json

The trial file (docs/architecture.md) holds every parameter; nothing is sampled here. Exit
codes: 0 completed, 1 failed, 2 bad trial file or data (before the model loads), 75 pruned.
``accelerate launch`` turns every non-zero child exit into 1, so a parent that launches through
it reads result.json's status instead (or uses ``python -m trainers.launch``, which does).
Steps are TRAINING EXAMPLES SEEN; the effective batch rule is in ``trainers.optimization``;
outputs in ``trainers.outputs``; more in trainers/README.md.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import torch
from torch import nn

from trainers.balancing import balanced_indices, class_counts, loss_class_weights
from trainers.data import load_prepared_data, make_loaders
from trainers.early_stopping import BestEvaluation, EarlyStopping
from trainers.errors import (EXIT_COMPLETED, EXIT_FAILED, EXIT_INVALID, EXIT_PRUNED,
                             REASON_EXCEPTION, REASON_INVALID, REASON_METRIC_UNDEFINED,
                             REASON_NAN_LOSS, REASON_OOM, InvalidTrialError, TrialFailed)
from trainers.evaluation import EvalGrid, Evaluation, evaluate
from trainers.modeling import count_parameters, load_model, load_tokenizer, plan_model
from trainers.optimization import build_optimizer, build_scheduler, plan_batches
from trainers.outputs import (clear_stale_result, save_model, write_history, write_result,
                              write_trial_outputs)
from trainers.progress import LossWindow, Outcome, Progress
from trainers.pruning import OptunaReporter, share_from_main
from trainers.tracking import MlflowMetricLogger
from trainers.trial_file import load_trial_file, output_dir_of


def train(trial, data, tokenizer, plan, accelerator, batches, progress: Progress) -> Outcome:
    metric, direction = trial.objective_metric, trial.objective_direction
    params, settings, main = trial.params, trial.training, accelerator.is_main_process
    # Storage and tracking first: a wrong URL fails before minutes of model loading.
    reporter = OptunaReporter(trial.optuna, trial.study_name, main)
    tracker = MlflowMetricLogger(trial.mlflow, main)

    model = load_model(trial.model, params, plan, tokenizer.pad_token_id)
    train_rows = balanced_indices(data.train.label_ids, params.balancing, settings.seed)
    weights = (loss_class_weights(data.train.label_ids, len(data.labels))
               if params.balancing == "weighted_loss" else None)
    train_set, train_loader, val_loader = make_loaders(
        tokenizer, data, train_rows, trial.model.max_length, batches.device_batch_size,
        settings.max_device_batch_size, settings.seed)
    optimizer = build_optimizer(model, params.learning_rate, params.weight_decay)
    model, optimizer, train_loader, val_loader = accelerator.prepare(
        model, optimizer, train_loader, val_loader)
    # Not prepared: accelerate's wrapper would step it once per process; ours counts optimizer
    # steps of the sharded loader, so one scheduler step per optimizer step is exact.
    total_steps = params.epochs * math.ceil(len(train_loader) / batches.accumulation_steps)
    scheduler = build_scheduler(params.scheduler, optimizer.optimizer, total_steps,
                                params.warmup_ratio)
    loss_fn = nn.CrossEntropyLoss(weight=weights.to(accelerator.device) if weights is not None
                                  else None)

    grid = EvalGrid(len(data.train), settings.evals_per_epoch)
    stopper = EarlyStopping(direction, settings.patience, settings.min_delta)
    best = BestEvaluation(metric, direction)
    window = LossWindow(accelerator.device)
    trainable, total = count_parameters(model)
    progress.facts.update(
        n_params_trainable=trainable, n_params_total=total, n_train_prepared=len(data.train),
        n_train_balanced=len(train_set), n_validation=len(data.validation),
        train_class_counts=class_counts(data.train.label_ids[train_rows], len(data.labels)),
        eval_interval_examples=grid.interval, total_optimizer_steps=total_steps,
        lora_target_modules=plan.lora_target_modules)

    def validate(step: int, report_to_optuna: bool) -> dict:
        """Evaluate on every rank; rank 0 records, reports and decides; all get the decision."""
        started = time.perf_counter()
        evaluation: Evaluation = evaluate(model, val_loader, accelerator, step)
        train_loss = window.pop_mean(accelerator)
        decision = {"prune": False, "stop": False}
        if main:
            value = evaluation.metrics[metric]
            best.offer(evaluation, accelerator.unwrap_model(model))
            entry = {"step": step, "examples_seen": progress.examples_seen,
                     "optimizer_steps": progress.optimizer_steps,
                     "epoch": progress.examples_seen / len(train_set),
                     "train_loss": train_loss, "learning_rate": scheduler.get_last_lr()[0],
                     **{f"val_{k}": v for k, v in evaluation.metrics.items()}}
            progress.history.append(entry)
            write_history(trial.output_dir, progress.history)
            tracker.log({k: v for k, v in entry.items() if k != "step"}, step)
            decision["prune"] = report_to_optuna and reporter.report_and_should_prune(value, step)
            decision["stop"] = stopper.update(value)
        progress.examples_at_last_eval = progress.examples_seen
        progress.stop_step = step
        progress.eval_seconds += time.perf_counter() - started
        return share_from_main(accelerator, decision)

    outcome, loop_started = None, time.perf_counter()
    progress.best = best  # result.json reports the best so far, whatever the ending
    try:
        outcome = _train_loop(model, train_loader, loss_fn, optimizer, scheduler, window, grid,
                              validate, accelerator, params.epochs, settings.max_grad_norm,
                              progress)
        if outcome is None:
            # The last examples fell between grid points: evaluate them too, at their own
            # step. Not reported to Optuna (off the shared grid), but it may be the best model.
            if progress.examples_seen > progress.examples_at_last_eval:
                validate(progress.examples_seen, report_to_optuna=False)
            outcome = Outcome("completed", EXIT_COMPLETED)
    finally:
        progress.train_seconds = time.perf_counter() - loop_started - progress.eval_seconds

    # Only rank 0 keeps the best evaluation; every rank must end with the same status.
    if outcome.status == "completed" and not share_from_main(accelerator,
                                                             best.evaluation is not None):
        return Outcome("failed", EXIT_FAILED, REASON_METRIC_UNDEFINED,
                       f"the objective metric {metric!r} was NaN at every evaluation")
    if outcome.status == "completed" and main:
        unwrapped = accelerator.unwrap_model(model)
        best.restore_into(unwrapped)  # the best evaluation's weights, not the last
        save_model(trial.output_dir, unwrapped, tokenizer)
    return outcome


def _train_loop(model, train_loader, loss_fn, optimizer, scheduler, window: LossWindow,
                grid: EvalGrid, validate, accelerator, epochs: int, max_grad_norm: float | None,
                progress: Progress) -> Outcome | None:
    """Train until the epochs run out (None) or a validation decides to stop (an Outcome)."""
    model.train()
    for _epoch in range(epochs):
        for batch in train_loader:
            with accelerator.accumulate(model):
                logits = model(input_ids=batch["input_ids"],
                               attention_mask=batch["attention_mask"]).logits
                loss = loss_fn(logits.float(), batch["labels"])
                window.add(loss)
                accelerator.backward(loss)
                if accelerator.sync_gradients:
                    if window.any_nonfinite(accelerator):  # before the step spoils the weights
                        raise TrialFailed(REASON_NAN_LOSS, f"non-finite training loss in "
                                          f"optimizer step {progress.optimizer_steps + 1}")
                    if max_grad_norm:
                        accelerator.clip_grad_norm_(model.parameters(), max_grad_norm)
                    optimizer.step()
                    if not optimizer.step_was_skipped:  # fp16 overflow skips a step
                        scheduler.step()
                    optimizer.zero_grad()
            progress.examples_seen += batch["labels"].shape[0] * accelerator.num_processes
            progress.stop_step = progress.examples_seen  # until an evaluation names the step
            if not accelerator.sync_gradients:
                continue
            progress.optimizer_steps += 1
            if progress.first_step_unix_time is None:
                progress.first_step_unix_time = time.time()
                progress.seconds_to_first_step = time.time() - _process_start_time()
            step = grid.due(progress.examples_seen)
            if step is None:
                continue
            decision = validate(step, report_to_optuna=True)
            if decision["prune"]:
                return Outcome("pruned", EXIT_PRUNED, pruned_at_step=step)
            if decision["stop"]:
                return Outcome("completed", EXIT_COMPLETED, stopped_early=True)
    return None


def _process_start_time() -> float:
    import psutil
    return psutil.Process(os.getpid()).create_time()


def _invalid(exc: InvalidTrialError, trial_path: str, output_dir, is_main: bool) -> int:
    if is_main:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        output_dir = output_dir or output_dir_of(trial_path)
        if output_dir is not None:
            try:
                write_result(output_dir, "failed", reason=REASON_INVALID, message=str(exc))
            except OSError:
                pass  # the message on stderr is what matters
    return EXIT_INVALID


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trainers.finetune", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trial_file", help="the trial's JSON file")
    trial_path = parser.parse_args(argv).trial_file

    from accelerate import Accelerator, PartialState
    from accelerate.utils import set_seed
    # On a CPU-only machine `--multi_gpu` must still form one gloo group: accelerate needs
    # cpu=True for that, or every process silently trains alone as "rank 0 of 1".
    use_cpu = not torch.accelerator.is_available()
    state = PartialState(cpu=use_cpu)
    _quiet_libraries(state.is_main_process)
    if int(os.environ.get("WORLD_SIZE", "1")) != state.num_processes:
        print(f"error: launched as {os.environ['WORLD_SIZE']} processes but accelerate formed a "
              f"group of {state.num_processes}", file=sys.stderr)
        return EXIT_FAILED

    early_output_dir = output_dir_of(trial_path)
    if state.is_main_process and early_output_dir is not None:
        clear_stale_result(early_output_dir)  # first: a crash below must not leave an old one
    trial = None
    try:  # everything that can be wrong with the inputs, before any weights are read
        trial = load_trial_file(trial_path)
        data = load_prepared_data(trial.data_dir)
        tokenizer = load_tokenizer(trial.model)
        plan = plan_model(trial.model, data.labels, trial.params.lora_rank)
    except InvalidTrialError as exc:
        return _invalid(exc, trial_path, trial.output_dir if trial else None,
                        state.is_main_process)
    if state.is_main_process:
        clear_stale_result(trial.output_dir)  # in case the early guess named another folder

    batches = plan_batches(trial.params.batch_size, trial.training.max_device_batch_size,
                           state.num_processes)
    accelerator = Accelerator(cpu=use_cpu,
                              mixed_precision=trial.training.mixed_precision,
                              gradient_accumulation_steps=batches.accumulation_steps)
    set_seed(trial.training.seed)
    progress = Progress()
    synced_ending = True  # False when one rank may have failed alone: no barrier then
    try:
        outcome = train(trial, data, tokenizer, plan, accelerator, batches, progress)
    except TrialFailed as exc:  # raised on every rank at the same step
        outcome = Outcome("failed", EXIT_FAILED, exc.reason, str(exc))
    except (torch.OutOfMemoryError, MemoryError) as exc:
        outcome, synced_ending = Outcome("failed", EXIT_FAILED, REASON_OOM, str(exc)), False
    except Exception as exc:  # noqa: BLE001 - any other failure still gets its result.json
        import traceback
        traceback.print_exc()
        outcome = Outcome("failed", EXIT_FAILED, REASON_EXCEPTION, f"{type(exc).__name__}: {exc}")
        synced_ending = False
    if accelerator.is_main_process:
        write_trial_outputs(trial, data.labels, batches, progress, outcome)
        if outcome.status == "failed":
            print(f"error: trial failed ({outcome.reason}): {outcome.message}", file=sys.stderr)
    print(f"rank {accelerator.process_index} stopped at step {progress.stop_step} "
          f"({outcome.status})", file=sys.stderr, flush=True)
    if synced_ending:
        accelerator.wait_for_everyone()  # no rank exits while rank 0 still writes
    state.destroy_process_group()
    return outcome.exit_code


def _quiet_libraries(is_main_process: bool) -> None:
    import transformers
    transformers.utils.logging.disable_progress_bar()
    if not is_main_process:  # one copy of each load report is enough
        transformers.utils.logging.set_verbosity_error()


if __name__ == "__main__":
    sys.exit(main())
