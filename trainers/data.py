"""Prepared splits in, tokenised datasets out.

Format (docs/architecture.md, "Prepared data"): ``manifest.json`` names the labels (sorted; the
index is the class id) and the split files; each TSV has the header ``id sequence label group``
with the label *name*. The trainer reads train and validation only: the test split belongs to
promotion. Every problem found here is a bad input (exit 2), reported before the model loads.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from trainers.errors import InvalidTrialError

TRAINER_SPLITS = ("train", "validation")
REQUIRED_COLUMNS = ("sequence", "label")
_MAX_SHOWN = 5


@dataclass(frozen=True)
class Split:
    name: str
    sequences: list[str]
    label_ids: np.ndarray  # int64 class ids, index into PreparedData.labels

    def __len__(self) -> int:
        return len(self.sequences)


@dataclass(frozen=True)
class PreparedData:
    folder: Path
    labels: list[str]
    train: Split
    validation: Split
    digest: str | None


def _read_manifest(folder: Path) -> dict:
    if not folder.is_dir():
        raise InvalidTrialError([f"data_dir: folder not found: {folder}"])
    path = folder / "manifest.json"
    if not path.is_file():
        raise InvalidTrialError([f"data_dir: {folder} has no manifest.json; is it a prepared-data "
                                 f"folder written by `hpo prepare`?"])
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidTrialError([f"data_dir: cannot read {path}: {exc}"]) from None
    labels = manifest.get("labels") if isinstance(manifest, dict) else None
    well_formed = (isinstance(labels, list) and len(labels) >= 2 and len(set(labels)) == len(labels)
                   and all(isinstance(x, str) and x for x in labels))
    if not well_formed:
        raise InvalidTrialError([f"data_dir: {path} must list at least two distinct label "
                                 f"names under 'labels', got {labels!r}"])
    return manifest


def _read_split(folder: Path, manifest: dict, name: str, label_ids: dict[str, int],
                problems: list[str]) -> Split | None:
    file_name = (manifest.get("files") or {}).get(name, f"{name}.tsv")
    path = folder / file_name
    if not path.is_file():
        problems.append(f"data_dir: the {name} split file is missing: {path}")
        return None
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            problems.append(f"data_dir: {path} lacks the column(s) {', '.join(missing)} "
                            f"(header: {reader.fieldnames})")
            return None
        sequences, ids, unknown = [], [], {}
        for line, row in enumerate(reader, start=2):
            label = row["label"]
            if label not in label_ids:
                unknown.setdefault(label, line)
                continue
            sequences.append(row["sequence"])
            ids.append(label_ids[label])
    if unknown:
        shown = ", ".join(f"{k!r} (line {v})" for k, v in list(unknown.items())[:_MAX_SHOWN])
        problems.append(f"data_dir: {path} has labels the manifest does not list: {shown}; "
                        f"manifest labels: {sorted(label_ids)}")
        return None
    if not sequences:
        problems.append(f"data_dir: the {name} split is empty ({path})")
        return None
    return Split(name, sequences, np.asarray(ids, dtype=np.int64))


def load_prepared_data(folder: str | Path) -> PreparedData:
    """Train and validation splits with label ids; raises ``InvalidTrialError`` on bad data."""
    folder = Path(folder)
    manifest = _read_manifest(folder)
    labels = list(manifest["labels"])
    label_ids = {name: i for i, name in enumerate(labels)}
    problems: list[str] = []
    splits = {name: _read_split(folder, manifest, name, label_ids, problems)
              for name in TRAINER_SPLITS}
    if problems:
        raise InvalidTrialError(problems)
    return PreparedData(folder, labels, splits["train"], splits["validation"],
                        manifest.get("digest"))


class TokenizedSplit(Dataset):
    """Token ids of a split, tokenised once; ``indices`` picks (and may repeat) rows, so that
    upsampling costs an index array rather than copies of the encodings. Batches are padded
    by transformers' ``DataCollatorWithPadding`` (honours the tokenizer's padding side)."""

    def __init__(self, encodings: Mapping[str, list], label_ids: np.ndarray,
                 indices: np.ndarray | None = None):
        self.encodings = encodings
        self.label_ids = label_ids
        self.indices = np.arange(len(label_ids)) if indices is None else np.asarray(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict:
        row = int(self.indices[i])
        item = {key: values[row] for key, values in self.encodings.items()}
        item["labels"] = int(self.label_ids[row])
        return item


def tokenize(tokenizer, sequences: Sequence[str], max_length: int) -> dict[str, list]:
    # No token_type_ids: one segment, and decoder models (Llama, Mistral) reject the argument.
    encoded = tokenizer(list(sequences), truncation=True, max_length=max_length,
                        return_token_type_ids=False)
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}


def make_loaders(tokenizer, data: PreparedData, train_rows: np.ndarray, max_length: int,
                 train_batch_size: int, eval_batch_size: int, seed: int):
    """(train set, train loader, validation loader); the train loader shuffles with its own
    seeded generator, so the order depends on the trial's seed only."""
    from transformers import DataCollatorWithPadding
    collate = DataCollatorWithPadding(tokenizer)
    train_set = TokenizedSplit(tokenize(tokenizer, data.train.sequences, max_length),
                               data.train.label_ids, train_rows)
    val_set = TokenizedSplit(tokenize(tokenizer, data.validation.sequences, max_length),
                             data.validation.label_ids)
    train_loader = DataLoader(train_set, batch_size=train_batch_size, shuffle=True,
                              collate_fn=collate, generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(val_set, batch_size=eval_batch_size, collate_fn=collate)
    return train_set, train_loader, val_loader
