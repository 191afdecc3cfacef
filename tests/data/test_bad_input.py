"""Every kind of bad input: a DataError naming the file and the line or record, nothing written."""
from __future__ import annotations

import gzip

import pytest

from hpo.data import DataError, inspect_labels, prepare_data
from hpo.spec.schema import SplitSpec

PROTEIN = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"


def assert_rejected(make, path, *fragments, **data_settings):
    """prepare_data raises DataError naming ``path`` and every fragment; nothing is written."""
    spec = make.study(make.data(path, **data_settings))
    with pytest.raises(DataError) as caught:
        prepare_data(spec)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message, message
    assert not spec.output_dir.exists()
    return message


def test_empty_file(make):
    assert_rejected(make, make.text("reads.tsv", ""), "empty")


def test_header_without_rows(make):
    assert_rejected(make, make.text("reads.csv", "sequence,label\n\n"), "no data rows")


def test_empty_gzip(make):
    assert_rejected(make, make.text("reads.fa.gz", ""), "no FASTA records")


def test_missing_column_names_the_columns_found(make):
    path = make.table("reads.csv", [{"seq": "ACGT", "class": "a"}])
    assert_rejected(make, path, "missing column 'sequence'", "data.sequence_column",
                    "columns: seq, class", "line 1")


def test_missing_label_column_suggests_a_close_name(make):
    path = make.table("reads.tsv", [{"sequence": "ACGT", "labels": "a"}])
    assert_rejected(make, path, "missing column 'label'", "did you mean 'labels'")


def test_short_row(make):
    path = make.text("reads.tsv", "sequence\tlabel\nACGT\ta\nACGT\n")
    assert_rejected(make, path, "line 3", "expected at least 2 TSV fields, found 1")


def test_blank_labels_name_the_rows(make):
    rows = make.rows(30)
    rows[4]["label"] = ""
    rows[17]["label"] = "  "
    path = make.table("reads.tsv", rows)
    assert_rejected(make, path, "2 row(s) with a blank label", "line 6, line 19")


def test_fasta_without_label_names_the_record(make):
    path = make.fasta("reads.fa", [("r1 label=a", "ACGT"), ("r2", "ACGT"), ("r3 label=", "AC")])
    assert_rejected(make, path, "2 record(s) without 'label='", "record 2 (id 'r2')",
                    "record 3 (id 'r3')", ">r2 label=X")


def test_one_class_only(make):
    path = make.table("reads.tsv", make.rows(50, labels="a"))
    assert_rejected(make, path, "only one class in the file", "'a' (50 reads)")


def test_class_too_small_to_stratify(make):
    rows = make.rows(60, labels="a")
    rows += [{"id": f"b{i}", "sequence": s, "label": "b"}
             for i, s in enumerate(make.dna(7, seed=99))]
    path = make.table("reads.tsv", rows)
    assert_rejected(make, path, "class too small to stratify", "'b' has 7",
                    "at least 10 reads per class")


def test_class_emptied_by_cleaning(make):
    rows = make.rows(40, labels="a")
    rows += [{"id": f"b{i}", "sequence": "ACGT" * 3, "label": "b"} for i in range(20)]
    path = make.table("reads.tsv", rows)
    assert_rejected(make, path, "only one class after cleaning")


def test_truncated_fastq(make):
    text = "@r1 label=a\nACGT\n+\nIIII\n@r2 label=b\nACGT\n+\nII"
    assert_rejected(make, make.text("reads.fastq", text), "malformed FASTQ", "line 8",
                    "four lines per record")
    text = "@r1 label=a\nACGT\n+\nIIII\n@r2 label=b\nACGT\n"
    assert_rejected(make, make.text("cut.fq", text), "malformed FASTQ", "line 7",
                    "Premature end of file")


def test_truncated_gzip(make, tmp_path):
    whole = make.table("whole.tsv", make.rows(500)).read_bytes()
    path = tmp_path / "reads.tsv.gz"
    compressed = gzip.compress(whole)
    path.write_bytes(compressed[: len(compressed) // 2])
    assert_rejected(make, path, "not a readable text file")


def test_protein_fasta_is_not_dna(make):
    records = [(f"p{i} label={'ab'[i % 2]}", PROTEIN[i:] + PROTEIN[:i]) for i in range(30)]
    assert_rejected(make, make.fasta("proteins.fa", records), "does not look like DNA",
                    "30 of 30 reads", "record 1 (id 'p0')", "MKTAYIAK")


def test_binary_file(make, tmp_path):
    path = tmp_path / "reads.fa"
    path.write_bytes(bytes(range(256)) * 20)
    assert_rejected(make, path, "not a readable text file", "binary")
    table = tmp_path / "reads.csv"
    table.write_bytes(b"sequence,label\n\x00\x01,\xff\xfe\n")
    assert_rejected(make, table, "not a readable text file")


def test_tab_inside_a_label(make):
    path = make.text("reads.csv", 'sequence,label\nACGT,"a\tb"\nACGT,c\n')
    assert_rejected(make, path, "contains a tab or line break", "line 2")


def test_id_starting_with_a_quote(make):
    path = make.fasta("reads.fa", [("r1 label=a", "ACGT"), ('"r2" label=b', "ACGT")])
    assert_rejected(make, path, "starts with a double quote", "record 2")


def test_too_few_groups(make):
    rows = make.rows(40)
    for i, row in enumerate(rows):
        row["g"] = "g1" if i < 20 else "g2"
    path = make.table("reads.tsv", rows)
    assert_rejected(make, path, "2 group(s) in the file", "at least 3", group_column="g")


def test_unstratified_split_of_too_few_reads(make):
    path = make.table("reads.tsv", make.rows(6))
    assert_rejected(make, path, "6 reads in the file", "at least 10",
                    split=SplitSpec(seed=0, stratify=False))


def test_inspect_labels_rejects_the_same_inputs(make):
    with pytest.raises(DataError, match=r"reads\.tsv.*empty"):
        inspect_labels(make.text("reads.tsv", ""))
    path = make.table("one.csv", make.rows(5, labels="a"))
    with pytest.raises(DataError, match=r"one\.csv.*only one class"):
        inspect_labels(path)
