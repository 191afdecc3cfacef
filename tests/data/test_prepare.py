"""prepare_data end to end: the folder format, determinism, reuse, digests, atomic writes."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hpo.data import SPLITS, prepare_data, read_split
from hpo.spec import load_study_spec
from hpo.spec.schema import SplitSpec

REPO = Path(__file__).resolve().parents[2]


def folder_bytes(path):
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


def test_writes_the_documented_folder(make):
    path = make.table("reads.tsv", make.rows(100))
    spec = make.study(make.data(path, id_column="id"))
    prepared = prepare_data(spec)
    assert prepared.path.parent == spec.output_dir / "prepared"
    assert prepared.path.name == prepared.manifest["digest"]
    assert sorted(p.name for p in prepared.path.iterdir()) == [
        "manifest.json", "report.json", "report.txt", "test.tsv", "train.tsv", "validation.tsv"]
    manifest = json.loads((prepared.path / "manifest.json").read_text())
    assert manifest == prepared.manifest
    assert manifest["labels"] == ["a", "b"]
    assert manifest["files"] == {name: f"{name}.tsv" for name in SPLITS}
    assert manifest["counts"] == {"train": {"a": 40, "b": 40}, "validation": {"a": 5, "b": 5},
                                  "test": {"a": 5, "b": 5}}
    assert manifest["source"] == str(path)
    assert manifest["spec"]["split"]["seed"] == 7
    for name in SPLITS:
        lines = prepared.split_path(name).read_text().splitlines()
        assert lines[0] == "id\tsequence\tlabel\tgroup"
        rows = [line.split("\t") for line in lines[1:]]
        assert all(len(row) == 4 and row[3] == "" for row in rows)
        assert len(rows) == sum(manifest["counts"][name].values())
    report = json.loads((prepared.path / "report.json").read_text())
    assert report["rows_in"] == 100 and report["rows_out"] == 100
    assert report["removed"]["cross_split_duplicate"] == 0
    text = (prepared.path / "report.txt").read_text()
    assert "rows in" in text and "duplicate" in text and "validation" in text
    assert prepared.reused is False


def test_split_files_read_back(make):
    rows = make.rows(60)
    for i, row in enumerate(rows):
        row["patient"] = f"p{i // 3}"
    path = make.table("reads.tsv", rows)
    prepared = prepare_data(make.study(make.data(path, id_column="id", group_column="patient")))
    seen = {}
    for name in SPLITS:
        columns = read_split(prepared.path, name)
        assert set(columns) == {"id", "sequence", "label", "group"}
        for read_id, group in zip(columns["id"], columns["group"]):
            seen[read_id] = group
    assert seen == {row["id"]: row["patient"] for row in rows}


def test_same_input_and_seed_give_byte_identical_splits(make, tmp_path):
    path = make.table("reads.tsv", make.rows(200, labels="abc"))
    data = make.data(path, id_column="id")
    first = prepare_data(make.study(data, tmp_path / "one"))
    second = prepare_data(make.study(data, tmp_path / "two"))
    assert first.path.name == second.path.name
    assert folder_bytes(first.path) == folder_bytes(second.path)


def test_unchanged_input_reuses_the_folder(make):
    path = make.table("reads.tsv", make.rows(100))
    spec = make.study(make.data(path))
    first = prepare_data(spec)
    stamps = {p.name: p.stat().st_mtime_ns for p in first.path.iterdir()}
    second = prepare_data(spec)
    assert second.reused is True and second.path == first.path
    assert second.manifest == first.manifest and second.report == first.report
    assert {p.name: p.stat().st_mtime_ns for p in second.path.iterdir()} == stamps
    forced = prepare_data(spec, force=True)
    assert forced.reused is False and forced.path == first.path


def test_moving_the_input_keeps_the_digest(make, tmp_path):
    path = make.table("reads.tsv", make.rows(100))
    first = prepare_data(make.study(make.data(path)))
    moved = shutil.copy(path, tmp_path / "renamed.tsv")
    again = prepare_data(make.study(make.data(moved)))
    assert again.path == first.path and again.reused


def test_changed_config_or_content_gives_a_new_digest(make):
    path = make.table("reads.tsv", make.rows(100))
    base = prepare_data(make.study(make.data(path)))
    other_seed = prepare_data(make.study(make.data(path, split=SplitSpec(seed=8))))
    other_rule = prepare_data(make.study(make.data(path, clean=make.clean(min_length=5))))
    make.table("reads.tsv", make.rows(100, seed=1))
    other_content = prepare_data(make.study(make.data(path)))
    names = {base.path.name, other_seed.path.name, other_rule.path.name, other_content.path.name}
    assert len(names) == 4
    assert not any(p.reused for p in (other_seed, other_rule, other_content))


def test_a_crash_mid_write_leaves_nothing_and_the_next_run_succeeds(make, monkeypatch):
    path = make.table("reads.tsv", make.rows(100))
    spec = make.study(make.data(path))
    calls = []

    def crash_on_second(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("disk full (simulated)")
        return real_replace(source, target)

    real_replace = os.replace
    monkeypatch.setattr(os, "replace", crash_on_second)
    with pytest.raises(OSError, match="simulated"):
        prepare_data(spec)
    prepared_root = spec.output_dir / "prepared"
    assert list(prepared_root.iterdir()) == []  # no half folder, no temporary left behind
    monkeypatch.setattr(os, "replace", real_replace)
    prepared = prepare_data(spec)
    assert prepared.reused is False
    assert sum(1 for _ in prepared.split_path("train").open()) == 81


def test_an_incomplete_folder_is_rebuilt(make):
    path = make.table("reads.tsv", make.rows(100))
    spec = make.study(make.data(path))
    first = prepare_data(spec)
    first.split_path("test").unlink()
    again = prepare_data(spec)
    assert again.reused is False and again.split_path("test").is_file()


def test_cross_split_copies_are_counted_when_deduplication_is_off(make):
    rows = make.rows(100)
    rows += [dict(row, id=f"copy{i}") for i, row in enumerate(rows[:40])]
    path = make.table("reads.tsv", rows)
    prepared = prepare_data(make.study(make.data(path, id_column="id", clean=make.clean())))
    dropped = prepared.report["removed"]["cross_split_duplicate"]
    assert dropped > 0
    keys = {}
    for name in SPLITS:
        for sequence in read_split(prepared.path, name)["sequence"]:
            assert keys.setdefault(sequence, name) == name
    assert prepared.report["rows_out"] == 140 - dropped


def test_numeric_labels_sort_as_numbers(make):
    path = make.table("reads.tsv", make.rows(400, labels=["0", "1", "2", "10"]))
    prepared = prepare_data(make.study(make.data(path)))
    assert prepared.labels == ["0", "1", "2", "10"]


def test_study_file_to_prepared_data(make, tmp_path, caplog):
    make.table("reads.csv", make.rows(100))
    study_file = tmp_path / "study.yaml"
    study_file.write_text("name: demo\n"
                          "model: {name_or_path: some/hub-model}\n"
                          "data:\n  path: reads.csv\n  clean: {min_length: 30}\n"
                          "  split: {train: 0.7, validation: 0.2, test: 0.1, seed: 1}\n")
    spec = load_study_spec(study_file)
    with caplog.at_level(logging.INFO, logger="hpo.data"):
        prepared = prepare_data(spec)
    assert prepared.path.parent == tmp_path / "runs" / "demo" / "prepared"
    assert [sum(prepared.manifest["counts"][n].values()) for n in SPLITS] == [70, 20, 10]
    assert any("loaded 100 reads" in r.getMessage() for r in caplog.records)


def test_splits_do_not_depend_on_the_process_hash_seed(make, tmp_path):
    """Sets and dicts of strings iterate in a per-process order; the output must not."""
    path = make.table("reads.tsv", make.rows(120, labels="abc"))
    script = ("import sys; from pathlib import Path; from hpo.data import prepare_into; "
              "from hpo.spec.schema import DataSpec; "
              "print(prepare_into(DataSpec(path=Path(sys.argv[1])), Path(sys.argv[2])).path)")
    outputs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        done = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / seed)],
                              env=env, cwd=REPO, capture_output=True, text=True, check=True)
        outputs.append(folder_bytes(Path(done.stdout.strip())))
    assert outputs[0] == outputs[1]


def test_fastq_gz_end_to_end_with_default_rules(make):
    adapter = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"
    inserts = make.dna(120, 70, seed=21)
    records = []
    for i, insert in enumerate(inserts):
        label, sequence, quality = "ab"[i % 2], insert, "I" * 70
        if i % 10 == 1:
            sequence = insert[:50] + adapter[:20]  # trimmed back to 50 bases
        if i % 10 == 2:
            quality = "+" * 70  # phred 10: below the default 20
        records.append((f"r{i} label={label}", sequence, quality))
    path = make.fastq("reads.fastq.gz", records)
    prepared = prepare_data(make.study(make.data(path)))
    report = prepared.report
    assert report["format"] == "fastq" and report["rows_in"] == 120
    assert report["modified"]["adapter_trimmed"] >= 12
    assert report["removed"]["low_quality"] == 12
    assert report["rows_out"] == 108
    trimmed = {row_id: seq for name in SPLITS for row_id, seq in
               zip(*(read_split(prepared.path, name)[c] for c in ("id", "sequence")))}
    assert trimmed["r1"] == inserts[1][:50]
    assert "r2" not in trimmed
    text = (prepared.path / "report.txt").read_text()
    assert "low_quality" in text


def test_splits_read_the_same_with_csv_dictreader(make):
    """The trainer and promotion read splits with csv.DictReader: same values as split('\\t')."""
    import csv

    records = [(f'r{i}"x label={"ab"[i % 2]} patient=p{i // 4}', s)
               for i, s in enumerate(make.dna(60, seed=30))]
    path = make.fasta("reads.fa", records)
    prepared = prepare_data(make.study(make.data(path, group_column="patient")))
    for name in SPLITS:
        with prepared.split_path(name).open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        columns = read_split(prepared.path, name)
        assert [r["id"] for r in rows] == columns["id"]
        assert [r["group"] for r in rows] == columns["group"]
        assert all('"' in read_id for read_id in columns["id"])
