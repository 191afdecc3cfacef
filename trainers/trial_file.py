"""The trial file: parsed and checked whole into a ``TrialFile`` before anything heavy happens.

Format: docs/architecture.md ("Trial file"). Parsing reuses the study file's strict parser
(``hpo.spec.strict``): every key shown in the documented format is required, so a bug in the
writer fails here instead of silently training with a default, and unknown keys are rejected,
so a typo cannot change an experiment. Optional keys the trainer adds (all with defaults):

  metric, direction        the objective when ``optuna`` is null (default mcc; direction
                           maximize, or minimize for loss); must agree with ``optuna`` if both
  training.max_grad_norm   gradient clipping norm (default 1.0, as transformers' Trainer;
                           null: no clipping)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hpo.spec.errors import IssueCollector
from hpo.spec.schema import METRICS, PrunerSpec
from hpo.spec.search_space import BALANCING, SCHEDULERS
from hpo.spec.strict import ParseContext, bounds, parse_dataclass, to_plain
from trainers.errors import InvalidTrialError

Metric = Literal[METRICS]
Direction = Literal["maximize", "minimize"]


@dataclass(frozen=True)
class OptunaLink:
    storage: str
    trial_id: int = field(metadata=bounds(ge=0))
    pruner: PrunerSpec  # rebuilt in the child: Optuna does not store the pruner
    metric: Metric
    direction: Direction

    @property
    def pruner_plain(self) -> dict[str, Any]:
        return to_plain(self.pruner)


@dataclass(frozen=True)
class MlflowLink:
    tracking_uri: str
    run_id: str


@dataclass(frozen=True)
class ModelConfig:
    name_or_path: str
    revision: str | None
    max_length: int = field(metadata=bounds(ge=8))
    trust_remote_code: bool
    lora_target_modules: list[str] | None  # null: found from the model's family

    def check(self) -> list[tuple[str, str]]:
        if self.lora_target_modules is not None and not self.lora_target_modules:
            return [("lora_target_modules", "expected null or a non-empty list of module names")]
        return []


@dataclass(frozen=True)
class Params:
    learning_rate: float = field(metadata=bounds(gt=0))
    scheduler: Literal[SCHEDULERS]
    batch_size: int = field(metadata=bounds(ge=1))  # effective: all processes x accumulation
    weight_decay: float = field(metadata=bounds(ge=0))
    balancing: Literal[BALANCING]
    lora_rank: int = field(metadata=bounds(ge=0))  # 0 = full fine-tuning
    lora_alpha: float | None = field(metadata=bounds(gt=0))  # null = 2 x rank
    lora_dropout: float | None = field(metadata=bounds(ge=0, lt=1))  # null only when rank is 0
    warmup_ratio: float = field(metadata=bounds(ge=0, lt=1))
    epochs: int = field(metadata=bounds(ge=1))

    def check(self) -> list[tuple[str, str]]:
        # The orchestrator writes null alpha and dropout for full fine-tuning (they mean nothing
        # there); under LoRA a dropout must be given.
        if self.lora_rank > 0 and self.lora_dropout is None:
            return [("lora_dropout", f"expected a number when lora_rank > 0 "
                                     f"(lora_rank={self.lora_rank}), got null")]
        return []

    @property
    def resolved_lora_alpha(self) -> float:
        return float(self.lora_alpha) if self.lora_alpha is not None else 2.0 * self.lora_rank


@dataclass(frozen=True)
class TrainingConfig:
    evals_per_epoch: float = field(metadata=bounds(gt=0))
    patience: int | None = field(metadata=bounds(ge=1))  # evaluations; null: off
    min_delta: float = field(metadata=bounds(ge=0))
    max_device_batch_size: int = field(metadata=bounds(ge=1))
    mixed_precision: Literal["no", "fp16", "bf16"]
    seed: int
    max_grad_norm: float | None = field(default=1.0, metadata=bounds(gt=0))


@dataclass(frozen=True)
class TrialFile:
    version: Literal[1]
    study_name: str
    trial_number: int = field(metadata=bounds(ge=0))
    optuna: OptunaLink | None
    mlflow: MlflowLink | None
    data_dir: Path
    output_dir: Path
    model: ModelConfig
    params: Params
    training: TrainingConfig
    metric: Metric | None = None
    direction: Direction | None = None
    source: Path | None = field(default=None, init=False, compare=False)

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if self.optuna is not None:
            for key in ("metric", "direction"):
                ours, theirs = getattr(self, key), getattr(self.optuna, key)
                if ours is not None and ours != theirs:
                    problems.append((key, f"{ours!r} disagrees with optuna.{key} {theirs!r}"))
        return problems

    # The objective, in one place: the study's when there is one, else the top-level keys.
    @property
    def objective_metric(self) -> str:
        return self.optuna.metric if self.optuna else (self.metric or "mcc")

    @property
    def objective_direction(self) -> str:
        if self.optuna:
            return self.optuna.direction
        return self.direction or ("minimize" if self.objective_metric == "loss" else "maximize")


def parse_trial_file(raw: Any, base_dir: Path, source: Path | None = None) -> TrialFile:
    """A ``TrialFile`` from decoded JSON; raises ``InvalidTrialError`` listing every problem."""
    out = IssueCollector()
    trial = parse_dataclass(TrialFile, raw, "", out, ParseContext(base_dir=base_dir))
    if out.issues or trial is None:
        raise InvalidTrialError([str(issue) for issue in out.issues] or ["the trial file is empty"],
                                source=str(source) if source else None)
    object.__setattr__(trial, "source", source)
    return trial


def load_trial_file(path: str | Path) -> TrialFile:
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidTrialError([f"trial file not found: {path}"]) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidTrialError([f"not readable as JSON: {exc}"], source=str(path)) from None
    return parse_trial_file(raw, base_dir=path.resolve().parent, source=path)


def output_dir_of(path: str | Path) -> Path | None:
    """Best effort, for a trial file too broken to parse: where its result.json belongs."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8")).get("output_dir")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(value, str) or not value.strip():
        return None
    return (Path(path).resolve().parent / Path(value).expanduser()).resolve()
