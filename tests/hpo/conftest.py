"""Fixtures for whole-study tests: a learnable raw data file, a tiny model, a study file."""
from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.helpers.tiny_model import make_tiny_model

def write_raw_reads(path: Path, n: int = 240, seed: int = 0, minority: float = 0.3) -> Path:
    """A TSV of random 60-80 bp reads: 'pos' reads are AT-rich, 'neg' reads GC-rich, a signal
    a tiny random model picks up within one short epoch (the tests are about the machinery)."""
    rng = random.Random(seed)
    lines = ["id\tsequence\tlabel\tgroup"]
    for i in range(n):
        length = rng.randint(60, 80)
        label = "pos" if rng.random() < minority else "neg"
        rich, poor = ("AT", "GC") if label == "pos" else ("GC", "AT")
        seq = "".join(rng.choice(rich) if rng.random() < 0.75 else rng.choice(poor)
                      for _ in range(length))
        lines.append(f"r{i}\t{seq}\t{label}\tg{i // 2}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> Path:
    return make_tiny_model(tmp_path_factory.mktemp("models") / "tiny-bert", family="bert")


def write_study(folder: Path, model: Path, **sections) -> Path:
    """A study file for the tiny model; keyword arguments replace whole top-level sections."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "reads.tsv"
    if not data.exists():
        write_raw_reads(data)
    study = {
        "name": "toy",
        "output": "out",
        "data": {"path": "reads.tsv", "group_column": "group",
                 "clean": {"min_length": 30, "max_dust_score": None},
                 "split": {"train": 0.7, "validation": 0.15, "test": 0.15, "seed": 1}},
        "model": {"name_or_path": str(model), "max_length": 96},
        "search": {"learning_rate": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
                   "scheduler": {"choices": ["linear", "constant"]},
                   "batch_size": {"choices": [16, 32]},
                   "weight_decay": 0.0, "balancing": {"choices": ["none", "weighted_loss"]},
                   "lora_rank": {"choices": [4, 8]}, "epochs": 1},
        "training": {"evals_per_epoch": 2, "patience": None, "trial_timeout": 300},
        "study": {"metric": "mcc", "n_trials": 3, "sampler": {"name": "random", "seed": 0}},
        "storage": {"heartbeat_interval": 2, "grace_period": 5},
    }
    study.update(sections)
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path
