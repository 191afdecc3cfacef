"""inspect_labels: the cheap look at a file for `hpo init`."""
from __future__ import annotations

from hpo.data import inspect_labels


def test_table_by_path_and_columns(make):
    path = make.table("reads.csv", [{"s": "ACGT", "y": "10"}, {"s": "AC", "y": "2"},
                                    {"s": "GG", "y": "2"}])
    found = inspect_labels(path, sequence_column="s", label_column="y")
    assert found == {"path": str(path), "format": "csv", "records": 3,
                     "labels": {"2": 2, "10": 1}}


def test_fastq_gz_by_data_spec(make):
    records = [(f"r{i} kind={'xy'[i % 3 == 0]}", "ACGT", "IIII") for i in range(9)]
    path = make.text("reads.fq.gz", "".join(f"@{h}\n{s}\n+\n{q}\n" for h, s, q in records))
    found = inspect_labels(make.data(path, header_label_key="kind"))
    assert found["format"] == "fastq" and found["records"] == 9
    assert found["labels"] == {"x": 6, "y": 3}
