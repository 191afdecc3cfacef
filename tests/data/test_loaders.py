"""Each input format, plain and gzipped, and format detection from the file name."""
from __future__ import annotations

import gzip

import pytest

from hpo.data import DataError, detect_format, load_reads


def test_tsv_reads_columns_by_name(make):
    path = make.table("reads.tsv", [{"label": "x", "name": "s1", "sequence": "ACGT", "g": "p1"},
                                    {"label": "y", "name": "s2", "sequence": "GGCC", "g": "p2"}])
    table = load_reads(make.data(path, id_column="name", group_column="g"))
    assert table.format == "tsv"
    assert table.ids == ["s1", "s2"]
    assert table.sequences == ["ACGT", "GGCC"]
    assert table.labels == ["x", "y"]
    assert table.groups == ["p1", "p2"]
    assert table.qualities is None


def test_csv_handles_quotes_and_defaults_ids_to_row_numbers(make):
    path = make.text("reads.csv", 'sequence,label,note\nACGT,a,"x, y"\n" ggcc ",b,z\n\n')
    table = load_reads(make.data(path))
    assert table.ids == ["1", "2"]
    assert table.sequences == ["ACGT", "ggcc"]  # stripped; case is the cleaner's job
    assert table.labels == ["a", "b"]
    assert table.groups is None


def test_csv_custom_column_names(make):
    path = make.table("reads.csv", [{"seq": "ACGT", "y": "1"}, {"seq": "TTTT", "y": "0"}])
    table = load_reads(make.data(path, sequence_column="seq", label_column="y"))
    assert table.sequences == ["ACGT", "TTTT"] and table.labels == ["1", "0"]


def test_fasta_label_and_group_from_header(make):
    path = make.fasta("reads.fa", [("r1 label=pos patient=P1 extra", "ACGT"),
                                   ("r2\tpatient=P2 label=neg", "GGCC")])
    table = load_reads(make.data(path, group_column="patient"))
    assert table.format == "fasta"
    assert table.ids == ["r1", "r2"]
    assert table.labels == ["pos", "neg"]
    assert table.groups == ["P1", "P2"]


def test_fasta_multiline_and_custom_label_key(make):
    path = make.text("reads.fasta", ">r1 class=1\nACGT\nAC\n>r2 class=0\nGG\n")
    table = load_reads(make.data(path, header_label_key="class"))
    assert table.sequences == ["ACGTAC", "GG"]
    assert table.labels == ["1", "0"]


def test_fastq_keeps_qualities(make):
    path = make.fastq("reads.fq", [("r1 label=a", "ACGT", "IIII"), ("r2 label=b", "GG", "#5")])
    table = load_reads(make.data(path))
    assert table.format == "fastq"
    assert table.qualities == ["IIII", "#5"]
    assert table.where(1) == "line 5 (id 'r2')"


@pytest.mark.parametrize("name", ["reads.tsv.gz", "reads.csv.gz", "reads.fa.gz", "reads.fastq.gz"])
def test_gzipped_inputs(make, name):
    if ".fa" in name or ".fastq" in name:
        body = "".join(f"{'@' if 'fastq' in name else '>'}r{i} label={'ab'[i % 2]}\nACGTAC\n"
                       + ("+\nIIIIII\n" if "fastq" in name else "") for i in range(4))
    else:
        sep = "," if ".csv" in name else "\t"
        body = f"sequence{sep}label\n" + "".join(f"ACGTAC{sep}{'ab'[i % 2]}\n" for i in range(4))
    path = make.text(name, body)
    table = load_reads(make.data(path))
    assert len(table) == 4 and table.labels == ["a", "b", "a", "b"]


def test_gzip_is_detected_by_content_not_name(make, tmp_path):
    path = tmp_path / "reads.tsv"
    path.write_bytes(gzip.compress(b"sequence\tlabel\nACGT\ta\nGGCC\tb\n"))
    assert load_reads(make.data(path)).labels == ["a", "b"]


@pytest.mark.parametrize("name, expected", [
    ("x.csv", "csv"), ("x.tsv", "tsv"), ("x.tab", "tsv"), ("x.fa", "fasta"),
    ("x.fasta", "fasta"), ("x.fna", "fasta"), ("x.fq", "fastq"), ("x.fastq", "fastq"),
    ("x.FASTQ.GZ", "fastq"), ("x.v2.fa.gz", "fasta"), ("x.csv.gz", "csv"),
])
def test_format_from_suffix(tmp_path, name, expected):
    assert detect_format(tmp_path / name) == expected


def test_txt_delimiter_is_sniffed(make):
    assert detect_format(make.text("a.txt", "sequence,label\nACGT,a\n")) == "csv"
    assert detect_format(make.text("b.txt", "sequence\tlabel\nACGT\ta\n")) == "tsv"


def test_declared_format_wins_over_suffix(make):
    path = make.text("reads.dat", ">r1 label=a\nACGT\n>r2 label=b\nGG\n")
    assert load_reads(make.data(path, format="fasta")).labels == ["a", "b"]


def test_unknown_suffix_asks_for_format(make):
    path = make.text("reads.dat", "x")
    with pytest.raises(DataError, match=r"reads\.dat.*cannot tell the format.*data\.format"):
        load_reads(make.data(path))


def test_labels_only_skips_sequences(make):
    path = make.table("reads.tsv", [{"sequence": "ACGT", "label": "a"}])
    table = load_reads(make.data(path), with_sequences=False)
    assert table.labels == ["a"] and table.sequences == [""]


def test_table_cells_longer_than_the_csv_default_limit(make):
    long = "ACGT" * 50_000  # 200 kB, above csv's 128 kB default field limit
    path = make.table("reads.csv", [{"sequence": long, "label": "a"}])
    assert load_reads(make.data(path)).sequences == [long]


def test_crlf_line_endings(make):
    path = make.text("reads.tsv", "sequence\tlabel\r\nACGT\ta\r\nGGCC\tb\r\n")
    assert load_reads(make.data(path)).labels == ["a", "b"]
    fasta = make.text("reads.fa", ">r1 label=a\r\nACGT\r\n>r2 label=b\r\nGG\r\n")
    table = load_reads(make.data(fasta))
    assert table.sequences == ["ACGT", "GG"] and table.labels == ["a", "b"]
