"""Does pretraining help? Fine-tune the bundled model and the same architecture from random
initialisation with the same settings on the demo task, and compare validation MCC.

    python assets/model/compare_finetuning.py [--study studies/demo.yaml] [--seeds 0 1 2]
        [--max-reads all|N] [--settings baseline ...] [--out runs/pretraining-check]

Both runs go through the code paths a study uses: `hpo prepare`'s splits and the trainer
(`accelerate launch -m trainers.finetune`) with a stand-alone trial file. The data are the study
file's, cleaned and split by it, but by default on every clean read of the domain task
(``--max-reads all``): the demo study samples 4,000 reads to be laptop-sized, which at the field's
default learning rate is about 600 optimizer steps, too few for either model to leave the
majority class. ``--max-reads 4000`` reproduces the demo-sized comparison. The random model is
the bundled config with fresh weights, saved as an ordinary model folder next to the bundled
tokenizer. Three settings are compared: the field's default (BASELINE: learning rate 2e-5, LoRA
rank 8, 3 epochs), and learning rate 1e-3 with full fine-tuning and with LoRA rank 8, since a
small model moves little at 2e-5.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

SETTINGS = {
    "baseline": {},  # hpo.spec.BASELINE as it is
    "full-ft-lr1e-3": {"lora_rank": 0, "lora_alpha": None, "lora_dropout": None,
                       "learning_rate": 1e-3},
    "lora8-lr1e-3": {"learning_rate": 1e-3},
}


def max_reads_arg(text: str) -> int | None:
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 10:
        raise argparse.ArgumentTypeError(f"expected 'all' or a number of reads >= 10, got {text!r}")
    return int(text)


def random_init_copy(pretrained: Path, dest: Path, seed: int) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForMaskedLM, AutoTokenizer

    torch.manual_seed(seed)
    model = AutoModelForMaskedLM.from_config(AutoConfig.from_pretrained(pretrained))
    model.save_pretrained(dest)
    AutoTokenizer.from_pretrained(pretrained).save_pretrained(dest)
    return dest


def run_trial(spec, data_dir: Path, model_dir: Path, params: dict, out: Path, seed: int) -> dict:
    from hpo.launcher import accelerate_command, launch_trial
    from hpo.objective import interpret
    from hpo.trial_files import build_trial_file, write_json_atomic

    payload = build_trial_file(spec, trial_number=0, trial_id=-1, storage_url="", pruner={},
                               data_dir=data_dir, output_dir=out, params=params,
                               tracking_uri=None, mlflow_run_id=None)
    payload["optuna"] = None
    payload["model"]["name_or_path"] = str(model_dir)
    payload["training"]["patience"] = None  # the same amount of training for both models
    payload["training"]["seed"] = seed
    trial_file = write_json_atomic(out / "trial.json", payload)
    launched = launch_trial(accelerate_command(trial_file), out / "trainer.log")
    outcome = interpret(launched, out, params["epochs"])
    if outcome.state != "completed":
        raise RuntimeError(f"{out}: {outcome.state}: {outcome.reason}")
    return json.loads((out / "result.json").read_text())


def summary_table(rows: list[dict]) -> str:
    """Mean ± sd of validation MCC over seeds, one line per setting and model."""
    import statistics

    lines = ["| setting | model | validation MCC, mean ± sd | per seed |", "|---|---|---|---|"]
    for setting in dict.fromkeys(r["setting"] for r in rows):
        for model in ("pretrained", "random init"):
            mccs = [r["val_mcc"] for r in rows if r["setting"] == setting and r["model"] == model]
            sd = statistics.stdev(mccs) if len(mccs) > 1 else 0.0
            lines.append(f"| {setting} | {model} | {statistics.mean(mccs):.3f} ± {sd:.3f} | "
                         + ", ".join(f"{m:.3f}" for m in mccs) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", type=Path, default=ROOT / "studies" / "demo.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "pretraining-check")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="each seed sets the random initialisation and the training order")
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--max-reads", type=max_reads_arg, default=None, metavar="all|N",
                        help="clean reads to sample before splitting (default: all of them; the "
                             "demo study's own setting is 4000)")
    args = parser.parse_args()
    args.out = args.out.resolve()  # the trial file's paths must not depend on where it lies

    from hpo.data import prepare_data
    from hpo.spec import BASELINE, load_study_spec

    spec = load_study_spec(args.study)
    spec = spec.replace(data=dataclasses.replace(spec.data, max_reads=args.max_reads))
    prepared = prepare_data(spec)
    pretrained = Path(spec.model.name_or_path)
    rows = []
    for seed in args.seeds:
        random_model = random_init_copy(pretrained, args.out / f"random-init-model-seed{seed}", seed)
        for setting in args.settings:
            params = {**BASELINE, "lora_alpha": 2 * BASELINE["lora_rank"], **SETTINGS[setting]}
            for name, model in (("pretrained", pretrained), ("random init", random_model)):
                result = run_trial(spec, prepared.path, model, params,
                                   args.out / f"seed{seed}" / setting / name.replace(" ", "-"), seed)
                rows.append({"setting": setting, "model": name, "seed": seed,
                             "n_train": result["n_train_prepared"],
                             "val_mcc": result["best_metrics"]["mcc"],
                             "val_accuracy": result["best_metrics"]["accuracy"],
                             "train_seconds": round(result["train_seconds"], 1)})
                print(json.dumps(rows[-1]), flush=True)
    (args.out / "comparison.json").write_text(json.dumps(rows, indent=2))
    print(summary_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
