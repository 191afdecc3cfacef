"""Study files: strict parsing, all errors at once, paths resolved against the file's folder."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from hpo.cli import main
from hpo.spec import Dimension, SpecError, load_study_spec, spec_to_dict

VALID = """\
name: toy
data:
  path: data/reads.tsv
model:
  name_or_path: ./model
"""


@pytest.fixture
def study_dir(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "reads.tsv").write_text("sequence\tlabel\nACGTACGT\ta\n")
    (tmp_path / "model").mkdir()
    return tmp_path


def write(study_dir: Path, text: str, name: str = "study.yaml") -> Path:
    path = study_dir / name
    path.write_text(textwrap.dedent(text))
    return path


def with_section(extra: str) -> str:
    return VALID + textwrap.dedent(extra)


def test_minimal_study_fills_documented_defaults(study_dir):
    spec = load_study_spec(write(study_dir, VALID))
    assert spec.data.path == (study_dir / "data" / "reads.tsv").resolve()
    assert spec.model.name_or_path == str((study_dir / "model").resolve())
    assert spec.output_dir == study_dir.resolve() / "runs" / "toy"
    assert spec.study.sampler.name == "tpe" and spec.study.pruner.name == "hyperband"
    assert spec.study.resolved_direction == "maximize"
    assert spec.optuna_storage_url.startswith("sqlite:///") and spec.registry_name == "dnahpo-toy"
    assert spec.search.learning_rate == Dimension.range(1e-5, 1e-3, log=True)


def test_relative_paths_resolve_against_study_folder_not_cwd(study_dir, monkeypatch, tmp_path_factory):
    path = write(study_dir, with_section("output: out/here\n"))
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    spec = load_study_spec(path)
    assert spec.output_dir == (study_dir / "out" / "here").resolve()
    assert spec.data.path.is_file()


def test_hub_id_is_kept_as_is(study_dir):
    spec = load_study_spec(write(study_dir, VALID.replace("./model", "InstaDeepAI/nt-50m")))
    assert spec.model.name_or_path == "InstaDeepAI/nt-50m"


def test_search_dimensions_fixed_removed_and_yaml_floats(study_dir):
    spec = load_study_spec(write(study_dir, with_section("""\
        search:
          learning_rate: {low: 1e-5, high: 1e-3, log: true}   # YAML 1.1 reads 1e-5 as a string
          scheduler: cosine
          batch_size: {choices: [8, 16]}
          warmup_ratio: null
          lora_rank: {choices: [0, 8]}
        """)))
    assert spec.search.learning_rate.low == pytest.approx(1e-5)
    assert spec.search.scheduler == Dimension.fixed("cosine")
    assert spec.search.batch_size.choices == (8, 16)
    assert spec.search.warmup_ratio is None


def test_resolved_spec_round_trips_through_yaml(study_dir):
    spec = load_study_spec(write(study_dir, VALID))
    dumped = yaml.safe_dump(spec_to_dict(spec))
    again = yaml.safe_load(dumped)
    assert again["search"]["learning_rate"] == {"low": 1e-5, "high": 1e-3, "log": True}
    assert again["study"]["direction"] == "maximize"
    # The resolved spec is itself a valid study file.
    (study_dir / "resolved.yaml").write_text(dumped)
    assert load_study_spec(study_dir / "resolved.yaml").search == spec.search


INVALID = [
    # (study text, expected fragments of the message)
    ("unknown top-level key", with_section("serach: {}\n"),
     ["serach: unknown key; did you mean 'search'?"]),
    ("unknown nested key", with_section("data_extra: 1\n").replace("data_extra: 1\n", "")
     .replace("  path: data/reads.tsv\n", "  path: data/reads.tsv\n  clean: {max_n_fracton: 0.1}\n"),
     ["data.clean.max_n_fracton: unknown key; did you mean 'max_n_fraction'?"]),
    ("range low >= high", with_section("search:\n  learning_rate: {low: 0.01, high: 0.001}\n"),
     ["search.learning_rate: low must be < high, got low=0.01 high=0.001"]),
    ("wrong type", with_section("training:\n  patience: three\n"),
     ["training.patience: expected", "'three'"]),
    ("out of range", with_section("data_x: 0\n").replace("data_x: 0\n", "")
     .replace("  path: data/reads.tsv\n", "  path: data/reads.tsv\n  clean: {max_n_fraction: 1.5}\n"),
     ["data.clean.max_n_fraction: must be <= 1, got 1.5"]),
    ("unknown scheduler", with_section("search:\n  scheduler: {choices: [linear, cosin]}\n"),
     ["search.scheduler.choices[1]: expected one of", "got 'cosin'", "did you mean 'cosine'?"]),
    ("negative lora rank", with_section("search:\n  lora_rank: {choices: [-1, 8]}\n"),
     ["search.lora_rank.choices[0]: must be >= 0, got -1"]),
    ("split fractions", with_section("x: 0\n").replace("x: 0\n", "")
     .replace("  path: data/reads.tsv\n", "  path: data/reads.tsv\n  split: {train: 0.8, validation: 0.2, test: 0.2}\n"),
     ["data.split: train + validation + test must be 1"]),
    ("missing data file", VALID.replace("data/reads.tsv", "data/missing.tsv"),
     ["data.path: file not found", "missing.tsv"]),
    ("missing model folder", VALID.replace("./model", "./no-model"),
     ["model.name_or_path: model folder not found"]),
    ("missing required section", "name: toy\ndata: {path: data/reads.tsv}\n",
     ["model: missing required key"]),
    ("unknown sampler", with_section("study:\n  sampler: {name: tpee}\n"),
     ["study.sampler.name: expected one of", "did you mean 'tpe'?"]),
    ("pruner option typo", with_section("study:\n  pruner: {name: hyperband, options: {min_resorce: 2}}\n"),
     ["study.pruner.options: unknown option 'min_resorce' for HyperbandPruner; did you mean 'min_resource'?"]),
    ("password in storage URL", with_section("storage:\n  optuna: postgresql+psycopg://bob:secret@db/hpo\n"),
     ["storage.optuna: a password in a study file"]),
    ("no budget", with_section("study:\n  n_trials: null\n"), ["study.n_trials: set n_trials or timeout"]),
    ("bare list for a choice", with_section("search:\n  batch_size: [8, 16]\n"),
     ["search.batch_size: write a choice as {choices: [8, 16]}"]),
    ("bad study name", VALID.replace("name: toy", "name: my study!"), ["name: use letters, digits"]),
    ("section is not a mapping", with_section("training: 5\n"), ["training: expected a mapping"]),
]


@pytest.mark.parametrize("text,fragments", [(t, f) for _, t, f in INVALID],
                         ids=[name for name, _, _ in INVALID])
def test_invalid_study_files_name_key_value_and_expectation(study_dir, text, fragments):
    with pytest.raises(SpecError) as info:
        load_study_spec(write(study_dir, text))
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_every_problem_is_reported_not_only_the_first(study_dir):
    path = write(study_dir, with_section("""\
        serach: {}
        search:
          learning_rate: {low: 0.1, high: 0.01}
        training:
          patience: 0
        """).replace("./model", "./nope"))
    with pytest.raises(SpecError) as info:
        load_study_spec(path)
    paths = {issue.path for issue in info.value.issues}
    assert {"serach", "search.learning_rate", "training.patience", "model.name_or_path"} <= paths


def test_yaml_syntax_error_names_the_line(study_dir):
    path = write(study_dir, VALID + "search:\n  learning_rate: {low: 1\n")
    with pytest.raises(SpecError, match=r"line \d+, column \d+: not valid YAML"):
        load_study_spec(path)


def test_empty_file(study_dir):
    with pytest.raises(SpecError, match="the study file is empty"):
        load_study_spec(write(study_dir, ""))


def test_cli_validate_prints_resolved_spec(study_dir, capsys):
    assert main(["validate", str(write(study_dir, VALID))]) == 0
    printed = capsys.readouterr().out
    assert "valid" in printed
    resolved = yaml.safe_load(printed)
    assert resolved["data"]["path"] == str((study_dir / "data" / "reads.tsv").resolve())


def test_cli_validate_lists_all_errors_and_exits_non_zero(study_dir):
    path = write(study_dir, with_section("serach: {}\ntraining: {patience: -1}\n"))
    done = subprocess.run([sys.executable, "-m", "hpo.cli", "validate", str(path)],
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "2 problems" in done.stderr
    assert "serach: unknown key" in done.stderr and "training.patience: must be >= 1" in done.stderr


def test_shipped_studies_are_valid():
    studies = sorted(Path(__file__).resolve().parents[2].joinpath("studies").glob("*.yaml"))
    assert studies, "no study files shipped"
    for path in studies:
        spec = load_study_spec(path)
        assert spec.name


@pytest.mark.parametrize("study_section, noted", [
    ("study: {n_trials: 8}", True),  # TPE's default: 10 random start-up trials
    ("study: {n_trials: 10, sampler: {name: gp}}", True),
    ("study: {n_trials: 11}", False),
    ("study: {n_trials: 8, sampler: {name: tpe, options: {n_startup_trials: 10}}}", False),
    ("study: {n_trials: 8, sampler: {name: random}}", False),
    ("study: {n_trials: null, timeout: 600}", False),
])
def test_validate_notes_a_budget_that_ends_in_the_samplers_random_start_up(
        study_dir, capsys, study_section, noted):
    assert main(["validate", str(write(study_dir, with_section(study_section + "\n")))]) == 0
    printed = capsys.readouterr().out
    assert ("this study is a random search" in printed) == noted
    yaml.safe_load(printed)  # the note is a comment: the output is still the resolved YAML
