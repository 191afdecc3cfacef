"""`hpo init`: a commented starter study for a data file.

It reads the file once (labels only), infers the task (binary or multiclass) and the label
names, guesses the sequence and label columns of a table, and writes the documented defaults
with a comment on each key, so the file is both a working study and its own documentation.
"""
from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from hpo.data import DataError, detect_format, inspect_labels
from hpo.data.formats import open_text

SEQUENCE_NAMES = ("sequence", "seq", "sequences", "dna", "read", "reads", "text")
LABEL_NAMES = ("label", "labels", "class", "target", "y", "category", "species")
GROUP_NAMES = ("group", "chromosome", "chrom", "chr", "molecule", "source", "sample")
DNA = re.compile(r"^[ACGTUNacgtun]{8,}$")

TEMPLATE = """\
# Study written by `hpo init` for {data_name}: {task} classification of {records:,} reads,
# labels {label_list}.
# Check it with `hpo validate {out_name}`; every key below shows its default, so delete what you
# do not want to change. Relative paths resolve against this file's folder.
name: {name}
description: {task} classification of {data_name}
output: runs/{name}            # prepared data, trials, reports

data:
  path: {data_path}
  format: {fmt}                 # auto | csv | tsv | fasta | fastq (.gz allowed)
{columns}  # group_column: {group_hint}        # reads of one group never span two splits
  max_reads: null               # a number: a stratified sample of the cleaned reads, for a quick look
  clean:
    alphabet: ACGTN             # other characters: on_invalid (drop | error)
    on_invalid: drop
    max_n_fraction: 0.1
    min_length: 20              # after adapter trimming
    max_length: null
    adapters: [illumina]        # TruSeq/Nextera/small-RNA adapters trimmed from the 3' end
    max_dust_score: 7.0         # low complexity (DUST, 0-100); null disables
    min_mean_quality: 20.0      # FASTQ only
    deduplicate: true           # exact duplicates ...
    reverse_complement_duplicates: true   # ... and reverse complements collapsed to one
    drop_label_conflicts: true  # copies that disagree on the label are all dropped
  split: {{train: 0.8, validation: 0.1, test: 0.1, seed: 42, stratify: true}}

model:
  name_or_path: {model}
  max_length: 512               # tokens; longer reads are truncated
  trust_remote_code: false      # true for hub models with custom code (HyenaDNA, Caduceus)
  lora_target_modules: null     # null: found for BERT, ESM, ModernBERT, Llama-like models

search:                         # a range {{low, high, log}}, {{choices: [...]}}, a value, or null
  learning_rate: {{low: 1.0e-5, high: 1.0e-3, log: true}}
  scheduler: {{choices: [linear, cosine, constant_with_warmup]}}
  batch_size: {{choices: [8, 16, 32]}}       # effective batch; accumulates when it does not fit
  weight_decay: {{low: 0.0, high: 0.1}}
  balancing: {{choices: [none, downsample, upsample, weighted_loss]}}{balance_note}
  lora_rank: {{choices: [4, 8, 16]}}         # add 0 for full fine-tuning
  warmup_ratio: 0.0
  lora_alpha: null              # null: 2 x rank
  lora_dropout: 0.05
  epochs: 3

training:
  evals_per_epoch: 2            # validation evaluations per epoch (also the pruner's steps)
  patience: 3                   # evaluations without improvement before stopping; null: off
  max_device_batch_size: 32     # lower it when a batch does not fit in memory
  processes: 1                  # accelerate processes per trial (GPUs)
  mixed_precision: "no"         # "no" | fp16 | bf16
  trial_timeout: 3600           # seconds

study:
  metric: mcc                   # mcc | accuracy | f1_macro | precision_macro | recall_macro | auroc | auprc | loss
  n_trials: 20                  # completed + pruned trials, over all runs and workers
  warm_start: true              # trial 0 runs the field's default configuration
  enqueue: []                   # YAML/JSON files of configurations to run first
  enqueue_best_of: []           # earlier studies (same storage) whose best trials run first
  sampler: {{name: tpe, seed: 0}}           # tpe | random | cmaes | gp | qmc | grid
  pruner: {{name: hyperband}}               # hyperband | successive_halving | median | percentile | patient | threshold | none

storage:
  optuna: null                  # null: SQLite in the output folder; postgresql+psycopg://user@host/db for many workers
  mlflow: null                  # null: SQLite in the output folder; http://host:5000 for a tracking server

registry:
  name: null                    # null: dnahpo-{name}
"""


def guess_columns(path: Path, fmt: str) -> dict[str, str | None]:
    """The sequence, label and group columns of a table, from names first, then from values."""
    delimiter = "," if fmt == "csv" else "\t"
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        first = next(reader, [])
    lower = [h.lower() for h in header]

    def by_name(names) -> str | None:
        return next((header[lower.index(n)] for n in names if n in lower), None)

    sequence = by_name(SEQUENCE_NAMES) or next(
        (h for h, v in zip(header, first) if DNA.match(v.strip())), None)
    label = by_name(LABEL_NAMES)
    if sequence is None or label is None:
        raise DataError(f"cannot tell the sequence and label columns apart in the header "
                        f"{header}; expected names like {SEQUENCE_NAMES[0]!r} and "
                        f"{LABEL_NAMES[0]!r}", path)
    return {"sequence": sequence, "label": label, "group": by_name(GROUP_NAMES)}


def write_starter_study(data: Path, out: Path, model: str | None = None,
                        name: str | None = None, force: bool = False) -> Path:
    data = Path(data).expanduser().resolve()
    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"{out} exists; use --force to overwrite it")
    fmt = detect_format(data)
    columns = ""
    group = None
    kwargs = {}
    if fmt in ("csv", "tsv"):
        guessed = guess_columns(data, fmt)
        group = guessed["group"]
        kwargs = {"sequence_column": guessed["sequence"], "label_column": guessed["label"]}
        columns = (f"  sequence_column: {guessed['sequence']}\n"
                   f"  label_column: {guessed['label']}\n")
        if group:
            columns += f"  group_column: {group}\n"
    else:
        columns = "  header_label_key: label        # headers look like `>read1 label=X`\n"
    info = inspect_labels(data, format=fmt, **kwargs)
    labels = info["labels"]
    smallest, largest = min(labels.values()), max(labels.values())
    balance_note = (f"   # imbalanced: smallest class has {smallest / largest:.0%} of the largest"
                    if smallest / largest < 0.5 else "")
    stem = re.sub(r"\.(gz)$", "", data.name)
    stem = re.sub(r"\.[A-Za-z]+$", "", stem)
    study_name = name or re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-") or "study"
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        data_path = Path(os.path.relpath(data, out.resolve().parent))
    except ValueError:  # another drive
        data_path = data
    if model and Path(model).expanduser().is_dir():  # a local folder: relative, marked local
        model = os.path.relpath(Path(model).expanduser().resolve(), out.resolve().parent)
        model = model if model.startswith(".") else f"./{model}"
    text = TEMPLATE.format(
        data_name=data.name, task="binary" if len(labels) == 2 else "multiclass",
        records=info["records"], label_list=", ".join(f"{k} ({v:,})" for k, v in labels.items()),
        out_name=out.name, name=study_name, data_path=data_path, fmt=fmt, columns=columns,
        group_hint=group or "chromosome", model=model or "CHANGE-ME/a-hub-id-or-local-folder",
        balance_note=balance_note)
    if group:
        text = text.replace(f"  # group_column: {group}        # reads of one group never span two splits\n", "")
    out.write_text(text, encoding="utf-8")
    return out
