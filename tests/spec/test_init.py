"""`hpo init`: a starter study inferred from a data file, valid as written."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest
import yaml

from hpo.cli import main
from hpo.spec import load_study_spec


def test_init_from_csv_guesses_columns_and_task(tmp_path, capsys):
    data = tmp_path / "promoters.csv"
    rows = ["name,dna,class,chrom"] + [f"r{i},{'ACGT' * 10},{'yes' if i % 4 else 'no'},chr{i % 3}"
                                       for i in range(40)]
    data.write_text("\n".join(rows) + "\n")
    (tmp_path / "model").mkdir()
    out = tmp_path / "studies" / "promoters.yaml"
    assert main(["init", "--data", str(data), "--model", str(tmp_path / "model"),
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "binary classification of 40 reads" in text and "no (10), yes (30)" in text
    spec = load_study_spec(out)
    assert spec.name == "promoters"
    assert (spec.data.sequence_column, spec.data.label_column, spec.data.group_column) == (
        "dna", "class", "chrom")
    assert spec.data.path == data.resolve()
    assert spec.model.name_or_path == str((tmp_path / "model").resolve())


def test_init_from_gzipped_fasta_multiclass_and_imbalance_note(tmp_path):
    data = tmp_path / "reads.fa.gz"
    labels = ["a"] * 30 + ["b"] * 8 + ["c"] * 2
    with gzip.open(data, "wt") as handle:
        for i, label in enumerate(labels):
            handle.write(f">r{i} label={label}\n{'ACGTTGCA' * 5}\n")
    out = tmp_path / "study.yaml"
    assert main(["init", "--data", str(data), "--model", "org/model", "--out", str(out)]) == 0
    text = out.read_text()
    assert "multiclass classification" in text and "imbalanced" in text
    spec = load_study_spec(out)
    assert spec.data.format == "fasta" and spec.model.name_or_path == "org/model"


def test_init_refuses_to_overwrite_and_rejects_one_class(tmp_path, capsys):
    data = tmp_path / "one.tsv"
    data.write_text("sequence\tlabel\n" + "ACGTACGTAC\tx\n" * 5)
    out = tmp_path / "s.yaml"
    assert main(["init", "--data", str(data), "--out", str(out)]) == 2
    assert "only one class" in capsys.readouterr().err and not out.exists()
    out.write_text("keep me")
    two = tmp_path / "two.tsv"
    two.write_text("sequence\tlabel\nACGTACGTAC\tx\nTTGGCCAATT\ty\n")
    assert main(["init", "--data", str(two), "--out", str(out)]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "keep me"
