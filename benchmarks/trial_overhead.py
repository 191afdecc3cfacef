"""Overhead of a dnahpo trial against the same training in a bare in-process PyTorch loop.

    python benchmarks/trial_overhead.py [--study studies/demo.yaml] [--trials 3] [--epochs 2]
                                        [--out runs/bench/overhead] [--json FILE]
                                        [--one-command]

What it measures: the wall time of one trial run by dnahpo, the way a user runs it (``hpo run``
as a subprocess: Optuna storage, an MLflow run per trial, the trainer launched through
``accelerate launch``, result files, the saved model, plots and artifacts), against the same
training done by a plain PyTorch loop in this process. Target (the issue): at most 10 %
overhead on a 60-second trial.

How:
- One fixed configuration on both sides: ``hpo.spec.BASELINE`` with learning_rate 1e-3,
  lora_rank 8, lora_alpha 16, batch_size 16, scheduler linear and ``--epochs`` (default 2:
  about 60 s of bare training on a 2-core CPU for the demo study); patience off, so both sides
  train the same amount; the study's ``evals_per_epoch`` on both sides.
- dnahpo side: a copy of the study file with every search dimension fixed to those values,
  ``n_trials: N``, no warm start, no pruner, written with a fresh ``output`` folder under
  ``--out``. ``hpo prepare`` runs first and is timed on its own; then ``hpo run`` is timed as
  a subprocess, once per trial (``--n-trials k`` resumes the study for its k-th trial), or
  once for all N trials with ``--one-command``. Per trial, Optuna's start/complete times, the
  MLflow run's end time, the trainer's result.json (``train_seconds``, ``eval_seconds``,
  ``seconds_to_first_step``) and the trial folder's file times (trial.json: the launch; the
  saved model: the loop's end) split the trial's wall time into: before launch (Optuna ask,
  MLflow run, trial file), ``accelerate launch`` until the trainer process exists, trainer
  start to the training loop (imports, storage/MLflow clients, data, model, tokenising),
  training, evaluation (incl. the per-evaluation Optuna report, MLflow metrics,
  history.json), saving (best model, result files), trainer exit + plots, and MLflow
  artifacts + Optuna tell. The plots are drawn once more in a fresh process to tell them
  from the exit. ``hpo run``'s one-time cost (imports, study and MLflow set-up, the end) is
  its wall time minus the sum of its trials.
- Clocks: the bare side and the ``hpo run`` commands are timed on the monotonic clock; the
  trial timelines come from wall-clock stamps. Where the wall clock ran ahead of the trainer's
  monotonic ``train_seconds`` + ``eval_seconds`` during a training loop (seen on this VM:
  a pause, then a clock step of ~12 s), that jump is removed from the trial and said so.
- Bare side: in this process, N times: read the prepared splits, build the identical model
  (``trainers.modeling``), tokenise, then a plain loop (AdamW from ``build_optimizer``, linear
  schedule, gradient clipping 1.0), evaluating at the same cadence (``EvalGrid``) with
  ``trainers.metrics.compute_metrics`` and keeping the best evaluation's trainable weights in
  memory (as the trainer does). Timed from reading the data to the end of the last
  evaluation; imports are done (and timed) once beforehand, as a long-lived process would.
- Threads: the trials get ``--num_cpu_threads_per_process`` from ``accelerate_command`` (the
  usable cores, or OMP_NUM_THREADS); the bare loop sets ``torch.set_num_threads`` to the same.
- Order: ABBA (bare, dnahpo, dnahpo, bare, ...), so that a change of machine load hits both
  sides and each dnahpo trial has a bare partner run next to it (pairwise ratios, and their
  median, are printed besides the ratio of means); with ``--one-command``: half of the bare
  trials, the ``hpo run`` of N trials, the other half. The load average is recorded at the
  start of each. Both sides' best validation MCC is printed, to show they did the same work.
  Nothing is asserted.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(key, value)

import yaml  # noqa: E402

from hpo.spec import BASELINE  # noqa: E402

CONFIG = {**BASELINE, "learning_rate": 1e-3, "lora_rank": 8, "lora_alpha": 16,
          "batch_size": 16, "scheduler": "linear"}
TARGET = 0.10  # at most 10 % overhead on a 60-second trial
CLOCK_JUMP_S = 1.0  # wall clock ahead of the monotonic one by more than this: a jump


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the study file ---------------------------------------------------------------------------
def write_study(source: Path, dest: Path, output: Path, trials: int, epochs: int) -> dict:
    """A copy of ``source`` with every dimension fixed, no pruning, no patience, and its own
    output folder; relative paths are made absolute, since the copy lives elsewhere."""
    raw = yaml.safe_load(source.read_text(encoding="utf-8"))
    base = source.resolve().parent

    def absolute(value: str) -> str:
        candidate = (base / Path(value).expanduser()).resolve()
        return str(candidate) if value.startswith((".", "/", "~")) or candidate.exists() else value

    raw["name"] = f"{raw['name']}-overhead"
    raw["output"] = str(output)
    raw["data"]["path"] = absolute(raw["data"]["path"])
    raw["model"]["name_or_path"] = absolute(raw["model"]["name_or_path"])
    raw["search"] = {**CONFIG, "epochs": epochs}
    raw.setdefault("training", {})["patience"] = None
    study = raw.setdefault("study", {})
    study.update(n_trials=trials, warm_start=False, pruner={"name": "none"})
    study.pop("timeout", None)
    study["enqueue"] = [absolute(p) for p in study.get("enqueue", [])]
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return raw


def hpo_command() -> list[str]:
    script = Path(sys.executable).parent / "hpo"
    return [str(script)] if script.exists() else [sys.executable, "-c",
                                                  "import sys; from hpo.cli import main; "
                                                  "sys.exit(main())"]


def run_hpo(args: list[str], log_path: Path) -> float:
    """Wall seconds of ``hpo ARGS``, run from the repository root as a user would."""
    started = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as out:
        done = subprocess.run([*hpo_command(), *args], cwd=REPO_ROOT, stdout=out,
                              stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-40:])
        raise SystemExit(f"hpo {' '.join(args)} failed ({done.returncode}):\n{tail}")
    return seconds


# --- the dnahpo side --------------------------------------------------------------------------
def dnahpo_trials(study_file: Path, commands: list[dict]) -> tuple[list[dict], list[dict]]:
    """Per-trial timelines from Optuna, MLflow, result.json and file times; and per ``hpo run``
    command (``commands``: its ``spawned`` and ``ended`` times) the part outside its trials."""
    import optuna
    from mlflow.tracking import MlflowClient

    from hpo.spec import load_study_spec
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = load_study_spec(study_file)
    study = optuna.load_study(study_name=spec.name, storage=spec.optuna_storage_url)
    client = MlflowClient(tracking_uri=spec.mlflow_tracking_uri)
    rows = []
    for trial in sorted(study.trials, key=lambda t: t.number):
        folder = Path(trial.user_attrs.get("trial_dir") or spec.trials_dir / f"{trial.number:05d}")
        result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
        if result.get("status") != "completed":
            raise SystemExit(f"trial {trial.number} did not complete: {result.get('status')} "
                             f"{result.get('reason')} {result.get('message')}")
        t_ask = trial.datetime_start.timestamp()
        t_tell = trial.datetime_complete.timestamp()
        t_launch = (folder / "trial.json").stat().st_mtime  # written just before the launch
        first_step = result["first_step_unix_time"]
        trainer_born = first_step - result["seconds_to_first_step"]  # the trainer process
        train, evals = result["train_seconds"], result["eval_seconds"]
        # The loop ends where the best model's save begins (its first file); result.json and
        # the other outputs follow, validation_predictions.json last.
        saved = [p.stat().st_mtime for p in (folder / "model").glob("*")]
        outputs = [p.stat().st_mtime for p in folder.glob("*.json") if p.name != "trial.json"]
        t_outputs = max(outputs)
        loop_end = min(saved) if saved else t_outputs
        # train + eval are the trainer's monotonic clock, the rest is the wall clock: a wall
        # clock that ran ahead during the loop (seen here: the VM paused, the clock stepped)
        # shows as loop wall time beyond train + eval. It is no work of dnahpo's: removed.
        gap = (loop_end - first_step) - (train + evals)  # normally minus the first step
        jump = gap if gap > CLOCK_JUMP_S else 0.0
        loop_start = loop_end - jump - train - evals
        plots = [p.stat().st_mtime for p in folder.glob("*.png")]
        t_plots = max(plots) if plots else t_outputs
        run_id = trial.user_attrs.get("mlflow_run_id")
        t_run_end = client.get_run(run_id).info.end_time / 1000 if run_id else t_tell
        rows.append({
            "trial": trial.number, "wall": t_tell - t_ask - jump, "clock_jump": jump,
            "folder": str(folder), "t_ask": t_ask, "t_tell": t_tell,
            "mcc": result["value"], "examples_seen": result["examples_seen"],
            "n_evaluations": result["n_evaluations"],
            "launch_to_first_step": first_step - t_launch,  # before any jump in the loop
            "seconds_to_first_step": result["seconds_to_first_step"],
            "parts": {
                "before_launch": t_launch - t_ask,
                "accelerate_launch": trainer_born - t_launch,
                "start_to_loop": loop_start - trainer_born,
                "train": train, "eval": evals,
                "save_outputs": t_outputs - loop_end,
                "exit_and_plots": t_plots - t_outputs,
                "mlflow_artifacts_and_tell": t_tell - t_plots,
            },
            "mlflow_artifacts_and_close": t_run_end - t_plots,
        })
    one_time = []
    for command in commands:
        spawned, ended = command["spawned"], command["ended"]
        mine = [r for r in rows if spawned <= r["t_ask"] <= ended]
        total = command["ended_mono"] - command["spawned_mono"]
        before = min(r["t_ask"] for r in mine) - spawned
        after = ended - max(r["t_tell"] for r in mine)
        outside = total - sum(r["wall"] for r in mine)
        # The wall clock's lead over the monotonic one during the command, minus what the
        # trials' loops explain: a jump elsewhere, which the figures of this command include.
        drift = (ended - spawned) - total
        unexplained = drift - sum(r["clock_jump"] for r in mine)
        one_time.append({"total": total, "trials": len(mine), "outside_trials": outside,
                         "before_first_trial": before, "after_last_trial": after,
                         "between_trials": outside - before - after, "clock_drift": drift,
                         "clock_jump_unexplained": unexplained})
    return rows, one_time


def plots_alone(trial_folder: Path) -> float | None:
    """Seconds to draw one trial's plots in a fresh process (matplotlib import included), as
    the orchestrator does once per trial: the part of "trainer exit + plots" that is plots."""
    import shutil
    import tempfile
    source = trial_folder / "validation_predictions.json"
    if not source.exists():
        return None
    code = ("import sys, time; from pathlib import Path; t = time.perf_counter(); "
            "from hpo.trial_plots import make_trial_plots; make_trial_plots(Path(sys.argv[1])); "
            "print(time.perf_counter() - t)")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(source, tmp)
        done = subprocess.run([sys.executable, "-c", code, tmp], cwd=REPO_ROOT,
                              capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1]) if done.returncode == 0 else None


# --- the bare side ----------------------------------------------------------------------------
def bare_imports() -> float:
    started = time.perf_counter()
    import peft  # noqa: F401 - trainers.modeling imports it lazily
    import sklearn.metrics  # noqa: F401
    import torch  # noqa: F401
    import transformers  # noqa: F401

    import trainers.data  # noqa: F401
    import trainers.modeling  # noqa: F401
    import trainers.optimization  # noqa: F401
    transformers.utils.logging.set_verbosity_error()  # no load report per trial
    transformers.utils.logging.disable_progress_bar()
    return time.perf_counter() - started


def bare_trial(study_file: Path, prepared: Path, epochs: int, evals_per_epoch: float,
               eval_batch: int, seed: int) -> dict:
    import numpy as np
    import torch
    from torch import nn
    from transformers import set_seed

    from hpo.spec import load_study_spec
    from trainers.data import load_prepared_data, make_loaders
    from trainers.evaluation import EvalGrid
    from trainers.metrics import compute_metrics, softmax
    from trainers.modeling import load_model, load_tokenizer, plan_model
    from trainers.optimization import build_optimizer, build_scheduler
    from trainers.trial_file import ModelConfig, Params

    spec = load_study_spec(study_file)
    model_config = ModelConfig(name_or_path=spec.model.name_or_path, revision=spec.model.revision,
                               max_length=spec.model.max_length,
                               trust_remote_code=spec.model.trust_remote_code,
                               lora_target_modules=spec.model.lora_target_modules)
    params = Params(**{**CONFIG, "epochs": epochs})

    started = time.perf_counter()
    data = load_prepared_data(prepared)
    tokenizer = load_tokenizer(model_config)
    plan = plan_model(model_config, data.labels, params.lora_rank)
    set_seed(seed)  # as the trainer: seeded before the model (the new head) is built
    model = load_model(model_config, params, plan, tokenizer.pad_token_id)
    _, train_loader, val_loader = make_loaders(
        tokenizer, data, np.arange(len(data.train)), model_config.max_length, params.batch_size,
        eval_batch, seed)
    optimizer = build_optimizer(model, params.learning_rate, params.weight_decay)
    scheduler = build_scheduler(params.scheduler, optimizer, epochs * len(train_loader),
                                params.warmup_ratio)
    loss_fn = nn.CrossEntropyLoss()
    grid = EvalGrid(len(data.train), evals_per_epoch)
    best = {"mcc": -math.inf, "weights": None, "evaluations": 0}
    eval_seconds = 0.0

    @torch.no_grad()
    def validate() -> None:
        nonlocal eval_seconds
        t0 = time.perf_counter()
        model.eval()
        logits, labels = [], []
        for batch in val_loader:
            logits.append(model(input_ids=batch["input_ids"],
                                attention_mask=batch["attention_mask"]).logits.float().numpy())
            labels.append(batch["labels"].numpy())
        model.train()
        mcc = compute_metrics(np.concatenate(labels), softmax(np.concatenate(logits)))["mcc"]
        best["evaluations"] += 1
        if mcc > best["mcc"]:
            best["mcc"] = mcc
            best["weights"] = {n: p.detach().to("cpu", copy=True)
                               for n, p in model.named_parameters() if p.requires_grad}
        eval_seconds += time.perf_counter() - t0

    loop_start = time.perf_counter()
    model.train()
    seen = seen_at_last_eval = 0
    first_step = None
    for _epoch in range(epochs):
        for batch in train_loader:
            logits = model(input_ids=batch["input_ids"],
                           attention_mask=batch["attention_mask"]).logits
            loss = loss_fn(logits.float(), batch["labels"])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            first_step = first_step or time.perf_counter()
            seen += batch["labels"].shape[0]
            if grid.due(seen) is not None:
                validate()
                seen_at_last_eval = seen
    if seen > seen_at_last_eval:  # the trainer evaluates the tail too
        validate()
    ended = time.perf_counter()
    figures = {"wall": ended - started, "mcc": best["mcc"], "examples_seen": seen,
               "n_evaluations": best["evaluations"], "launch_to_first_step": first_step - started,
               "parts": {"start_to_loop": loop_start - started,
                         "train": ended - loop_start - eval_seconds, "eval": eval_seconds}}
    del model, optimizer, scheduler, best
    gc.collect()
    return figures


# --- reporting --------------------------------------------------------------------------------
PART_LABELS = {
    "before_launch": "before launch (Optuna ask, MLflow run, trial file)",
    "accelerate_launch": "`accelerate launch` until the trainer process exists",
    "start_to_loop": "trainer start to training loop (imports, data, model, tokenise)",
    "train": "training",
    "eval": "evaluation (+ Optuna report, MLflow metrics, history.json)",
    "save_outputs": "saving (best model, result files)",
    "exit_and_plots": "trainer exit + trial plots",
    "mlflow_artifacts_and_tell": "MLflow artifacts, close run, Optuna tell",
}


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def median(values) -> float:
    values = sorted(values)
    if not values:
        return math.nan
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def summarise(dnahpo: list[dict], bare: list[dict], one_time: list[dict], prepare_s: float,
              bare_import_s: float, threads: int, args, loads: dict,
              plots_s: float | None) -> dict:
    d_wall, b_wall = mean(r["wall"] for r in dnahpo), mean(r["wall"] for r in bare)
    parts = {k: {"dnahpo": mean(r["parts"][k] for r in dnahpo),
                 "bare": mean(r["parts"].get(k, 0.0) for r in bare)} for k in PART_LABELS}
    n = len(dnahpo)
    pairs = [d["wall"] / b["wall"] for d, b in zip(dnahpo, bare)]
    pair_overheads = [d["wall"] - b["wall"] for d, b in zip(dnahpo, bare)]
    command_one_time = mean(c["outside_trials"] for c in one_time)
    amortised = d_wall + command_one_time / n  # one `hpo run` of n trials
    return {
        "trials": n, "epochs": args.epochs, "threads": threads, "study": str(args.study),
        "schedule": "one hpo run" if args.one_command else "interleaved",
        "config": {**CONFIG, "epochs": args.epochs},
        "dnahpo_trial_wall_s": d_wall, "bare_trial_wall_s": b_wall,
        "ratio": d_wall / b_wall, "overhead_per_trial_s": d_wall - b_wall,
        "overhead_fraction": d_wall / b_wall - 1,
        "pairwise_ratios": pairs, "pairwise_ratio_median": median(pairs),
        "pairwise_overheads_s": pair_overheads,
        "pairwise_overhead_median_s": median(pair_overheads),
        "hpo_run_commands": one_time, "hpo_run_one_time_mean_s": command_one_time,
        "amortised_dnahpo_trial_wall_s": amortised, "amortised_ratio": amortised / b_wall,
        "hpo_prepare_s": prepare_s, "bare_imports_s": bare_import_s,
        "launch_to_first_step_s": {"dnahpo": mean(r["launch_to_first_step"] for r in dnahpo),
                                   "bare": mean(r["launch_to_first_step"] for r in bare)},
        "trainer_seconds_to_first_step_s": mean(r["seconds_to_first_step"] for r in dnahpo),
        "plots_alone_s": plots_s,
        "parts_mean_s": parts,
        "mcc": {"dnahpo": [r["mcc"] for r in dnahpo], "bare": [r["mcc"] for r in bare]},
        "examples_seen": {"dnahpo": [r["examples_seen"] for r in dnahpo],
                          "bare": [r["examples_seen"] for r in bare]},
        "evaluations": {"dnahpo": [r["n_evaluations"] for r in dnahpo],
                        "bare": [r["n_evaluations"] for r in bare]},
        "per_trial_wall_s": {"dnahpo": [r["wall"] for r in dnahpo],
                             "bare": [r["wall"] for r in bare]},
        "clock_jumps_removed_s": [r["clock_jump"] for r in dnahpo],
        "bare_clock_drift_s": [r["clock_drift"] for r in bare],
        "load_average": loads, "target_overhead_fraction": TARGET,
    }


def print_report(f: dict) -> None:
    c = f["config"]
    print(f"\nconfiguration: lr {c['learning_rate']:g}, {c['scheduler']}, batch {c['batch_size']}, "
          f"LoRA r{c['lora_rank']} alpha {c['lora_alpha']}, {c['epochs']} epoch(s), patience "
          f"off; {f['trials']} trial(s) per side; torch threads {f['threads']} on both sides "
          f"(the trials get --num_cpu_threads_per_process {f['threads']})")
    print(f"validation MCC (best): dnahpo {', '.join(f'{m:.4f}' for m in f['mcc']['dnahpo'])}; "
          f"bare {', '.join(f'{m:.4f}' for m in f['mcc']['bare'])}")
    print(f"examples seen / evaluations: dnahpo {f['examples_seen']['dnahpo']} / "
          f"{f['evaluations']['dnahpo']}; bare {f['examples_seen']['bare']} / "
          f"{f['evaluations']['bare']}")
    walls = f["per_trial_wall_s"]
    print(f"per-trial wall (s): dnahpo {', '.join(f'{w:.1f}' for w in walls['dnahpo'])}; "
          f"bare {', '.join(f'{w:.1f}' for w in walls['bare'])}")
    print("load average (1, 5, 15 min) at the start of each: " + "; ".join(
        f"{k}: {v}" for k, v in f["load_average"].items()))
    print(f"one-time: `hpo prepare` {f['hpo_prepare_s']:.1f} s (not in any figure below); bare "
          f"imports {f['bare_imports_s']:.1f} s (done once, not in the bare trial)")

    print("\n| per trial (mean, s) | dnahpo | bare | dnahpo - bare |")
    print("|---|---:|---:|---:|")
    for key, label in PART_LABELS.items():
        p = f["parts_mean_s"][key]
        print(f"| {label} | {p['dnahpo']:.2f} | {p['bare']:.2f} | {p['dnahpo'] - p['bare']:+.2f} |")
    print(f"| **trial wall time** | **{f['dnahpo_trial_wall_s']:.2f}** | "
          f"**{f['bare_trial_wall_s']:.2f}** | **{f['overhead_per_trial_s']:+.2f}** |")

    for i, jump in enumerate(f["clock_jumps_removed_s"]):
        if jump:
            print(f"note: dnahpo trial {i}: the wall clock ran {jump:.1f} s ahead of the trainer's "
                  f"monotonic clock during its training loop (VM paused?); removed from its time")
    for i, c in enumerate(f["hpo_run_commands"]):
        if abs(c["clock_jump_unexplained"]) > CLOCK_JUMP_S:
            print(f"warning: `hpo run` #{i + 1}: the wall clock moved "
                  f"{c['clock_jump_unexplained']:.1f} s against the monotonic one outside the "
                  f"training loops; its trial figures include that")
    for i, drift in enumerate(f["bare_clock_drift_s"]):
        if abs(drift) > CLOCK_JUMP_S:
            print(f"note: bare trial {i + 1}: the wall clock moved {drift:.1f} s against the "
                  f"monotonic clock (not counted: the bare side is timed on the monotonic clock)")
    first = f["launch_to_first_step_s"]
    plots = f["plots_alone_s"]
    print(f"\nlaunch to first optimizer step: dnahpo {first['dnahpo']:.1f} s (result.json's "
          f"seconds_to_first_step, from the trainer process's start: "
          f"{f['trainer_seconds_to_first_step_s']:.1f} s); bare {first['bare']:.1f} s")
    if plots is not None:
        print(f"trial plots alone, drawn again in a fresh process: {plots:.1f} s (part of "
              f"'trainer exit + trial plots')")

    print("\n| figure | value |")
    print("|---|---:|")
    print(f"| wall-time ratio dnahpo / bare, per trial | {f['ratio']:.3f} |")
    print(f"| overhead per trial | {f['overhead_per_trial_s']:.1f} s "
          f"({100 * f['overhead_fraction']:.1f} %; target <= {100 * TARGET:.0f} %) |")
    ratios = ", ".join(f"{r:.3f}" for r in f["pairwise_ratios"])
    print(f"| median of the pairwise ratios (dnahpo trial i / bare trial i) | "
          f"{f['pairwise_ratio_median']:.3f} ({ratios}) |")
    print(f"| median pairwise overhead | {f['pairwise_overhead_median_s']:.1f} s |")
    commands = f["hpo_run_commands"]
    for i, c in enumerate(commands):
        print(f"| `hpo run` #{i + 1} ({c['trials']} trial(s)): wall / outside its trials (before "
              f"first / between / after last) | {c['total']:.1f} s / {c['outside_trials']:.1f} s "
              f"({c['before_first_trial']:.1f} / {c['between_trials']:.1f} / "
              f"{c['after_last_trial']:.1f}) |")
    print(f"| ratio with one `hpo run`'s one-time cost spread over {f['trials']} trials | "
          f"{f['amortised_ratio']:.3f} ({f['amortised_dnahpo_trial_wall_s']:.1f} s per trial) |")

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", type=Path, default=REPO_ROOT / "studies" / "demo.yaml")
    parser.add_argument("--trials", type=int, default=3, help="trials per side")
    parser.add_argument("--epochs", type=int, default=2,
                        help="epochs per trial (2: about 60 s of bare training for the demo)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "runs" / "bench" / "overhead")
    parser.add_argument("--one-command", action="store_true",
                        help="all dnahpo trials in one `hpo run` between the two halves of the "
                             "bare trials (default: one `hpo run --n-trials k` per trial, "
                             "interleaved with the bare trials, so that load drift hits both)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    import torch

    from trainers.launch import accelerate_command
    command = accelerate_command("trial.json")
    threads = int(command[command.index("--num_cpu_threads_per_process") + 1])
    torch.set_num_threads(threads)

    folder = args.out.resolve() / datetime.now().strftime("%Y%m%d-%H%M%S")
    study_file = folder / "study.yaml"
    raw = write_study(args.study, study_file, folder / "output", args.trials, args.epochs)
    evals_per_epoch = float(raw.get("training", {}).get("evals_per_epoch", 2.0))
    eval_batch = int(raw.get("training", {}).get("max_device_batch_size", 32))
    seed = int(raw.get("training", {}).get("seed", 0))
    log(f"study file {study_file}; load average {load_average()}")

    prepare_s = run_hpo(["prepare", str(study_file)], folder / "prepare.log")
    prepared = next((folder / "output" / "prepared").glob("*/manifest.json")).parent
    log(f"hpo prepare: {prepare_s:.1f} s -> {prepared}")
    bare_import_s = bare_imports()

    loads, bare, commands = {"start": load_average()}, [], []

    def run_bare() -> None:
        log(f"bare trial {len(bare) + 1}/{args.trials}; load average {load_average()}")
        loads[f"bare {len(bare) + 1}"] = load_average()
        wall, mono = time.time(), time.monotonic()
        bare.append(bare_trial(study_file, prepared, args.epochs, evals_per_epoch, eval_batch,
                               seed))
        # The bare side is timed on the monotonic clock; a wall-clock jump is noted only.
        bare[-1]["clock_drift"] = (time.time() - wall) - (time.monotonic() - mono)
        log(f"bare trial {len(bare)}: {bare[-1]['wall']:.1f} s, mcc {bare[-1]['mcc']:.4f}")

    def run_dnahpo(budget: int) -> None:
        log(f"hpo run --n-trials {budget}; load average {load_average()}")
        loads[f"hpo run {len(commands) + 1}"] = load_average()
        spawned, spawned_mono = time.time(), time.monotonic()
        run_hpo(["run", str(study_file), "--n-trials", str(budget)],
                folder / f"run-{len(commands) + 1}.log")
        commands.append({"spawned": spawned, "spawned_mono": spawned_mono,
                         "ended": time.time(), "ended_mono": time.monotonic()})
        log(f"hpo run: {commands[-1]['ended_mono'] - spawned_mono:.1f} s")

    if args.one_command:  # bare, one `hpo run` of all trials, bare
        for _ in range((args.trials + 1) // 2):
            run_bare()
        run_dnahpo(args.trials)
        while len(bare) < args.trials:
            run_bare()
    else:  # ABBA: bare, dnahpo, dnahpo, bare, ...; each `hpo run` resumes for one more trial
        for i in range(args.trials):
            if i % 2 == 0:
                run_bare()
                run_dnahpo(i + 1)
            else:
                run_dnahpo(i + 1)
                run_bare()
    loads["end"] = load_average()

    dnahpo, one_time = dnahpo_trials(study_file, commands)
    plots_s = plots_alone(Path(dnahpo[0]["folder"]))
    figures = summarise(dnahpo, bare, one_time, prepare_s, bare_import_s, threads, args, loads,
                        plots_s)
    figures["folder"] = str(folder)
    print_report(figures)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
