"""The study file's schema: one dataclass per section, checked whole before any work starts.

Field comments are the user documentation of each key (``hpo init`` copies them into the
starter file), so keep them short and say what the value means and why the default is what it is.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hpo.spec.search_space import SearchSpec
from hpo.spec.strict import bounds
from storage.urls import url_password

METRICS = ("mcc", "accuracy", "f1_macro", "precision_macro", "recall_macro", "auroc", "auprc",
           "loss")
SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc", "grid")
PRUNERS = ("hyperband", "successive_halving", "median", "percentile", "patient", "threshold",
           "none")
# Standard Illumina adapter sequences, used when `data.clean.adapters` names a preset.
ADAPTER_PRESETS: dict[str, tuple[str, ...]] = {
    "illumina": (
        "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA",  # TruSeq read 1 3' adapter
        "AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT",  # TruSeq read 2 3' adapter
        "CTGTCTCTTATACACATCT",  # Nextera transposase
        "TGGAATTCTCGGGTGCCAAGG",  # TruSeq small RNA
    ),
}


@dataclass(frozen=True)
class CleanSpec:
    normalize: bool = True  # uppercase and U -> T before every other rule
    alphabet: str = "ACGTN"  # allowed characters after normalising
    on_invalid: Literal["drop", "error"] = "drop"  # a read with other characters
    max_n_fraction: float = field(default=0.1, metadata=bounds(ge=0, le=1))
    min_length: int = field(default=20, metadata=bounds(ge=1))  # after adapter trimming
    max_length: int | None = field(default=None, metadata=bounds(ge=1))
    # Adapter sequences trimmed from the 3' end (cutadapt); names of presets or sequences.
    adapters: list[str] = field(default_factory=lambda: ["illumina"])
    adapter_min_overlap: int = field(default=5, metadata=bounds(ge=1))
    adapter_max_error_rate: float = field(default=0.1, metadata=bounds(ge=0, lt=1))
    # Low complexity: reads whose DUST score (prinseq scale 0-100) is above this are dropped.
    max_dust_score: float | None = field(default=7.0, metadata=bounds(ge=0))
    min_mean_quality: float | None = field(default=20.0, metadata=bounds(ge=0))  # FASTQ only
    deduplicate: bool = True  # collapse exact duplicates to one
    reverse_complement_duplicates: bool = True  # ... and reverse-complement duplicates
    # Copies of one sequence that disagree on the label: all copies are dropped.
    drop_label_conflicts: bool = True

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if self.max_length is not None and self.max_length < self.min_length:
            problems.append(("max_length", f"must be >= min_length, got max_length="
                                           f"{self.max_length} min_length={self.min_length}"))
        if not self.alphabet.isalpha() or self.alphabet != self.alphabet.upper():
            problems.append(("alphabet", f"expected uppercase letters, got {self.alphabet!r}"))
        for i, adapter in enumerate(self.adapters):
            if adapter not in ADAPTER_PRESETS and not set(adapter.upper()) <= set("ACGTN"):
                problems.append((f"adapters[{i}]", f"expected a preset "
                                 f"({', '.join(ADAPTER_PRESETS)}) or a DNA sequence, got {adapter!r}"))
        return problems

    def adapter_sequences(self) -> list[str]:
        sequences: list[str] = []
        for adapter in self.adapters:
            sequences.extend(ADAPTER_PRESETS.get(adapter, (adapter.upper(),)))
        return sequences


@dataclass(frozen=True)
class SplitSpec:
    train: float = field(default=0.8, metadata=bounds(gt=0, lt=1))
    validation: float = field(default=0.1, metadata=bounds(gt=0, lt=1))
    test: float = field(default=0.1, metadata=bounds(gt=0, lt=1))
    seed: int = 42
    stratify: bool = True

    def check(self) -> list[tuple[str, str]]:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-6:
            return [("", f"train + validation + test must be 1, got {self.train} + "
                         f"{self.validation} + {self.test} = {total:g}")]
        return []


@dataclass(frozen=True)
class DataSpec:
    path: Path = field(metadata={"path_must_exist": True})  # CSV/TSV/FASTA/FASTQ, .gz allowed
    format: Literal["auto", "csv", "tsv", "fasta", "fastq"] = "auto"  # auto: from the suffix
    sequence_column: str = "sequence"  # CSV/TSV
    label_column: str = "label"  # CSV/TSV
    id_column: str | None = None  # CSV/TSV; row numbers when absent
    # Reads of one group (source molecule, chromosome, patient) never span two splits.
    group_column: str | None = None
    # FASTA/FASTQ headers carry the label as `>id label=X` (key configurable here).
    header_label_key: str = "label"
    # Keep at most this many cleaned reads (a stratified, seeded sample) for quick studies.
    max_reads: int | None = field(default=None, metadata=bounds(ge=10))
    clean: CleanSpec = field(default_factory=CleanSpec)
    split: SplitSpec = field(default_factory=SplitSpec)


@dataclass(frozen=True)
class ModelSpec:
    # A hub id or a local folder; a value that exists as a path relative to the study file's
    # folder (or starts with ./ ../ /) is a local folder, anything else a hub id.
    name_or_path: str
    revision: str | None = None
    max_length: int = field(default=512, metadata=bounds(ge=8))  # tokens; longer reads truncate
    trust_remote_code: bool = False  # needed by some hub models (e.g. HyenaDNA, Caduceus)
    # LoRA target modules; null finds them for known families (BERT, ESM, ModernBERT, Llama...).
    lora_target_modules: list[str] | None = None


@dataclass(frozen=True)
class TrainingSpec:
    evals_per_epoch: float = field(default=2.0, metadata=bounds(gt=0))  # validation cadence
    patience: int | None = field(default=3, metadata=bounds(ge=1))  # evaluations; null: off
    min_delta: float = field(default=0.0, metadata=bounds(ge=0))  # smallest improvement
    max_device_batch_size: int = field(default=32, metadata=bounds(ge=1))  # larger: accumulate
    processes: int = field(default=1, metadata=bounds(ge=1))  # accelerate processes per trial
    mixed_precision: Literal["no", "fp16", "bf16"] = "no"
    trial_timeout: float | None = field(default=3600.0, metadata=bounds(gt=0))  # seconds
    seed: int = 0


@dataclass(frozen=True)
class SamplerSpec:
    name: Literal["tpe", "random", "cmaes", "gp", "qmc", "grid"] = "tpe"
    seed: int | None = 0
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the sampler

    def check(self) -> list[tuple[str, str]]:
        from hpo.optuna_factory import check_sampler_options
        return [("options", m) for m in check_sampler_options(self.name, self.options)]


@dataclass(frozen=True)
class PrunerSpec:
    name: Literal["hyperband", "successive_halving", "median", "percentile", "patient",
                  "threshold", "none"] = "hyperband"
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of the pruner
    wrapped: PrunerSpec | None = None  # for `patient`: the pruner it delays

    def check(self) -> list[tuple[str, str]]:
        from hpo.optuna_factory import check_pruner_options
        problems = [("options", m) for m in check_pruner_options(self.name, self.options)]
        if self.name != "patient" and self.wrapped is not None:
            problems.append(("wrapped", f"only the `patient` pruner wraps another, got "
                                        f"name={self.name!r}"))
        return problems


@dataclass(frozen=True)
class StudySettings:
    metric: Literal["mcc", "accuracy", "f1_macro", "precision_macro", "recall_macro", "auroc",
                    "auprc", "loss"] = "mcc"
    direction: Literal["maximize", "minimize"] | None = None  # null: minimize loss, else maximize
    n_trials: int | None = field(default=20, metadata=bounds(ge=1))  # total, over all workers
    timeout: float | None = field(default=None, metadata=bounds(gt=0))  # seconds, per `hpo run`
    warm_start: bool = True  # trial 0 runs the baseline configuration
    # Stop (with an error) after this many failed trials in a row: something is broken.
    max_consecutive_failures: int = field(default=5, metadata=bounds(ge=1))
    # YAML/JSON files, each a list of configurations to run first (after the baseline).
    enqueue: list[Path] = field(default_factory=list, metadata={"path_must_exist": True})
    # Earlier studies in the same Optuna storage whose best trials run first (a warm start
    # from what an earlier search learned); enqueue_best_k trials of each.
    enqueue_best_of: list[str] = field(default_factory=list)
    enqueue_best_k: int = field(default=3, metadata=bounds(ge=1))
    sampler: SamplerSpec = field(default_factory=SamplerSpec)
    pruner: PrunerSpec = field(default_factory=PrunerSpec)

    @property
    def resolved_direction(self) -> str:
        return self.direction or ("minimize" if self.metric == "loss" else "maximize")

    def check(self) -> list[tuple[str, str]]:
        if self.n_trials is None and self.timeout is None:
            return [("n_trials", "set n_trials or timeout, or the study never ends")]
        return []


@dataclass(frozen=True)
class StorageSpec:
    # Optuna storage URL; null: a SQLite file in the output folder (one machine, one worker).
    optuna: str | None = None
    # MLflow tracking URI; null: a SQLite store in the output folder (MLflow 3's own default).
    mlflow: str | None = None
    heartbeat_interval: int | None = field(default=60, metadata=bounds(ge=1))  # seconds
    grace_period: int | None = field(default=180, metadata=bounds(ge=1))  # seconds
    failed_trial_retries: int = field(default=1, metadata=bounds(ge=0))

    def check(self) -> list[tuple[str, str]]:
        problems = []
        for key in ("optuna", "mlflow"):
            url = getattr(self, key)
            if url and url_password(url):
                problems.append((key, "a password in a study file would be logged and shared; "
                                      "give it in PGPASSWORD or ~/.pgpass instead"))
        if (self.heartbeat_interval and self.grace_period
                and self.grace_period <= self.heartbeat_interval):
            problems.append(("grace_period", f"must be > heartbeat_interval, got grace_period="
                                             f"{self.grace_period} heartbeat_interval="
                                             f"{self.heartbeat_interval}"))
        return problems


@dataclass(frozen=True)
class RegistrySpec:
    name: str | None = None  # registered model name; null: dnahpo-<study name>
    alias: str = "champion"  # moved only when a new model beats it on the test split
    challenger_alias: str = "challenger"


@dataclass(frozen=True)
class StudySpec:
    name: str  # Optuna study name and MLflow experiment name
    data: DataSpec
    model: ModelSpec
    description: str | None = None
    output: Path | None = None  # prepared data, trials, reports; null: runs/<name> beside the file
    search: SearchSpec = field(default_factory=SearchSpec)
    training: TrainingSpec = field(default_factory=TrainingSpec)
    study: StudySettings = field(default_factory=StudySettings)
    storage: StorageSpec = field(default_factory=StorageSpec)
    registry: RegistrySpec = field(default_factory=RegistrySpec)
    source: Path | None = field(default=None, init=False, compare=False)  # the YAML file

    def check(self) -> list[tuple[str, str]]:
        problems = []
        if not all(c.isalnum() or c in "-_." for c in self.name):
            problems.append(("name", f"use letters, digits, '-', '_' or '.', got {self.name!r}"))
        if (self.search.lora_rank is not None and self.search.lora_rank.kind == "fixed"
                and self.search.lora_rank.value == 0 and self.search.lora_alpha is not None
                and self.search.lora_alpha.searched):
            problems.append(("search.lora_alpha", "lora_rank is fixed to 0 (full fine-tuning), "
                                                  "so lora_alpha has nothing to tune"))
        return problems

    def replace(self, **changes: Any) -> "StudySpec":
        """A copy with ``changes`` (dataclasses.replace) that still names its study file, which
        relative paths in messages and `hpo ... FILE` hints refer to."""
        new = dataclasses.replace(self, **changes)
        object.__setattr__(new, "source", self.source)
        return new

    # Paths derived from the spec, in one place so every command agrees on them.
    @property
    def output_dir(self) -> Path:
        return self.output if self.output is not None else (
            (self.source.parent if self.source else Path.cwd()) / "runs" / self.name)

    @property
    def trials_dir(self) -> Path:  # by study name: studies may share an output folder
        return self.output_dir / "trials" / self.name

    @property
    def report_dir(self) -> Path:
        return self.output_dir / "reports" / self.name

    @property
    def optuna_storage_url(self) -> str:
        return self.storage.optuna or f"sqlite:///{self.output_dir / 'optuna.db'}"

    @property
    def mlflow_tracking_uri(self) -> str:
        return self.storage.mlflow or f"sqlite:///{self.output_dir / 'mlflow.db'}"

    @property
    def registry_name(self) -> str:
        return self.registry.name or f"dnahpo-{self.name}"
