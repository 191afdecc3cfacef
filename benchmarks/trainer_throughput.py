"""Training throughput of ``trainers.finetune`` against a plain transformers ``Trainer``, and
the launch overhead from process start to the first optimizer step.

    python benchmarks/trainer_throughput.py [--train 512] [--length 200] [--repeats 2]

Both trainers get the same model (a small BERT with LoRA rank 8, built by
``trainers.modeling`` so the modules are identical), the same tokenised data, batch size,
learning rate, clipping and one epoch, in this process with the same thread count; each is run
``--repeats`` times alternately and the fastest run counts (a shared machine is noisy).
Throughput is training examples per second of the training loop, evaluations excluded.
Launch overhead: wall time from spawning the command to the trainer's first optimizer step
(result.json's ``first_step_unix_time``), for ``python -m`` and ``accelerate launch``.
Target: ratio >= 1.0 (the trial trainer is not slower than the Trainer it replaces).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                   "TOKENIZERS_PARALLELISM": "false"}.items():
    os.environ.setdefault(key, value)

import torch  # noqa: E402

from tests.helpers.tiny_data import write_prepared_data  # noqa: E402
from tests.helpers.tiny_model import make_dna_tokenizer  # noqa: E402
from tests.helpers.trainer_runs import read_json, run_in_process, subprocess_env  # noqa: E402
from tests.helpers.trial_file import write_trial_file  # noqa: E402

BATCH, LEARNING_RATE, LORA_RANK = 16, 1e-3, 8


def make_model(dest: Path) -> Path:
    """A small BERT (4 layers, hidden 128): big enough that the model, not Python, dominates."""
    from transformers import BertConfig, BertForMaskedLM
    tokenizer = make_dna_tokenizer()
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=128, num_hidden_layers=4,
                        num_attention_heads=4, intermediate_size=512,
                        max_position_embeddings=512, pad_token_id=tokenizer.pad_token_id)
    BertForMaskedLM(config).save_pretrained(dest)
    tokenizer.save_pretrained(dest)
    return dest


def trial_file(root: Path, name: str, model: Path, data: Path) -> Path:
    # evals_per_epoch 0.01: no evaluation inside the epoch, only the one at the end.
    return write_trial_file(root / f"{name}.json", data_dir=str(data),
                            output_dir=str(root / name), model={"name_or_path": str(model),
                                                                "max_length": 512},
                            params={"batch_size": BATCH, "learning_rate": LEARNING_RATE,
                                    "lora_rank": LORA_RANK, "epochs": 1},
                            training={"evals_per_epoch": 0.01, "max_device_batch_size": BATCH})


def run_ours(trial: Path) -> tuple[float, int]:
    code, result = run_in_process(trial)
    if code != 0:
        raise SystemExit(f"trainers.finetune failed ({code}): {result}")
    return result["train_seconds"], result["examples_seen"]


def run_hf_trainer(trial: Path, work: Path) -> tuple[float, int]:
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from trainers.data import TokenizedSplit, load_prepared_data, tokenize
    from trainers.modeling import load_model, load_tokenizer, plan_model
    from trainers.trial_file import load_trial_file
    spec = load_trial_file(trial)
    data = load_prepared_data(spec.data_dir)
    tokenizer = load_tokenizer(spec.model)
    plan = plan_model(spec.model, data.labels, spec.params.lora_rank)
    torch.manual_seed(0)
    model = load_model(spec.model, spec.params, plan, tokenizer.pad_token_id)
    train_set = TokenizedSplit(tokenize(tokenizer, data.train.sequences, spec.model.max_length),
                               data.train.label_ids)
    args = TrainingArguments(output_dir=str(work / "hf"), per_device_train_batch_size=BATCH,
                             learning_rate=LEARNING_RATE, num_train_epochs=1,
                             weight_decay=spec.params.weight_decay, lr_scheduler_type="linear",
                             optim="adamw_torch", max_grad_norm=1.0, eval_strategy="no",
                             save_strategy="no", logging_strategy="no", report_to=[],
                             dataloader_num_workers=0, use_cpu=not torch.cuda.is_available(),
                             seed=0, disable_tqdm=True)
    trainer = Trainer(model=model, args=args, train_dataset=train_set,
                      data_collator=DataCollatorWithPadding(tokenizer))
    metrics = trainer.train().metrics
    return metrics["train_runtime"], len(train_set)


def launch_overhead(command: list[str], trial: Path) -> float:
    started = time.time()
    done = subprocess.run(command, cwd=REPO_ROOT, env=subprocess_env(), capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    result = read_json(Path(read_json(trial)["output_dir"]) / "result.json")
    return result["first_step_unix_time"] - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", type=int, default=512, help="training examples")
    parser.add_argument("--length", type=int, default=200, help="bases per sequence")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", 1)))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = make_model(root / "model")
        data = write_prepared_data(root / "data", n_train=args.train, n_val=64, n_test=16,
                                   length=args.length)
        ours, hf = [], []
        for i in range(args.repeats):  # alternate, so load changes hit both alike
            seconds, examples = run_ours(trial_file(root, f"ours{i}", model, data))
            ours.append(examples / seconds)
            seconds, examples = run_hf_trainer(trial_file(root, f"hf{i}", model, data), root)
            hf.append(examples / seconds)
        overhead_trial = trial_file(root, "launch", model, data)
        python_m = launch_overhead([sys.executable, "-m", "trainers.finetune",
                                    str(overhead_trial)], overhead_trial)
        accelerate = launch_overhead(
            [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1",
             "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
             "-m", "trainers.finetune", str(overhead_trial)], overhead_trial)

    figures = {"ours_samples_per_s": max(ours), "hf_trainer_samples_per_s": max(hf),
               "ratio": max(ours) / max(hf), "launch_python_m_s": python_m,
               "launch_accelerate_s": accelerate, "train_examples": args.train,
               "bases": args.length, "batch": BATCH, "threads": args.threads,
               "repeats": args.repeats, "device": "cuda" if torch.cuda.is_available() else "cpu"}
    print(f"\nmodel: BERT 4x128 + LoRA r{LORA_RANK}; {args.train} x {args.length} bases; "
          f"batch {BATCH}; {args.threads} thread(s); {figures['device']}; best of {args.repeats}")
    print(f"{'trainer':<34}{'samples/s':>12}")
    print(f"{'trainers.finetune':<34}{figures['ours_samples_per_s']:>12.1f}")
    print(f"{'transformers.Trainer':<34}{figures['hf_trainer_samples_per_s']:>12.1f}")
    print(f"{'ratio (target >= 1.0)':<34}{figures['ratio']:>12.2f}")
    print(f"\n{'launch':<34}{'s to 1st step':>12}")
    print(f"{'python -m trainers.finetune':<34}{python_m:>12.1f}")
    print(f"{'accelerate launch -m ...':<34}{accelerate:>12.1f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
