"""One test per cleaning rule: the count in the result AND which reads remain."""
from __future__ import annotations

import pytest

from hpo.data import REMOVAL_REASONS, DataError, clean_reads, load_reads
from hpo.spec.schema import CleanSpec

ADAPTER = "AGATCGGAAGAGCACACGTCTGAACTCCAGTCA"  # TruSeq read 1, in the "illumina" preset


def run(make, rows, clean, name="reads.tsv"):
    path = make.table(name, rows)
    return clean_reads(load_reads(make.data(path, id_column="id")), clean)


def rows_of(sequences, labels="ab"):
    return [{"id": f"r{i}", "sequence": s, "label": labels[i % len(labels)]}
            for i, s in enumerate(sequences)]


def only_removed(result, **expected):
    """Every reason not named has a zero count."""
    assert result.removed == {reason: expected.get(reason, 0) for reason in REMOVAL_REASONS}


def test_normalise_uppercases_and_turns_u_into_t(make):
    base = make.dna(3, 30)
    rna = base[1].replace("T", "U").lower()
    result = run(make, rows_of([base[0], rna, base[2].lower()]), make.clean())
    assert result.table.sequences == [base[0], base[1], base[2]]
    assert result.modified["normalized"] == 2
    only_removed(result)


def test_without_normalise_lowercase_is_outside_the_alphabet(make):
    base = make.dna(4, 30)
    result = run(make, rows_of([base[0], base[1].lower(), base[2], base[3]]),
                 make.clean(normalize=False))
    assert result.table.ids == ["r0", "r2", "r3"]
    only_removed(result, invalid_characters=1)


def test_characters_outside_the_alphabet_are_dropped(make):
    base = make.dna(5, 30)
    sequences = [base[0], base[1][:10] + "X" + base[1][11:], base[2], base[3] + "-", base[4]]
    result = run(make, rows_of(sequences), make.clean())
    assert result.table.ids == ["r0", "r2", "r4"]
    only_removed(result, invalid_characters=2)


def test_characters_outside_the_alphabet_can_be_an_error(make):
    base = make.dna(4, 30)
    rows = rows_of([base[0], base[1], base[2] + "R", base[3]])
    with pytest.raises(DataError) as caught:
        run(make, rows, make.clean(on_invalid="error"))
    message = str(caught.value)
    assert "reads.tsv" in message and "line 4 (id 'r2')" in message and "'R'" in message


def test_custom_alphabet_drops_n(make):
    base = make.dna(3, 30)
    result = run(make, rows_of([base[0], "N" + base[1], base[2]]), make.clean(alphabet="ACGT"))
    assert result.table.ids == ["r0", "r2"]
    only_removed(result, invalid_characters=1)


def test_adapter_read_through_is_trimmed_and_counted(make):
    insert = make.dna(4, 40, seed=3)
    sequences = [insert[0] + ADAPTER[:20],  # read-through: trimmed to the insert
                 insert[1],  # no adapter
                 insert[2][:10] + ADAPTER,  # trimmed to 10 bases: too short after trimming
                 insert[3][:10]]  # short without any adapter: plain too short
    result = run(make, rows_of(sequences), make.clean(adapters=["illumina"], min_length=20))
    assert result.table.ids == ["r0", "r1"]
    assert result.table.sequences == [insert[0], insert[1]]
    assert result.modified["adapter_trimmed"] == 2
    only_removed(result, too_short_after_trimming=1, too_short=1)


def test_adapter_trimming_trims_fastq_qualities_too(make):
    insert = make.dna(2, 40, seed=4)
    records = [("r0 label=a", insert[0] + ADAPTER[:12], "I" * 40 + "#" * 12),
               ("r1 label=b", insert[1], "I" * 40)]
    path = make.fastq("reads.fq", records)
    result = clean_reads(load_reads(make.data(path)), make.clean(adapters=[ADAPTER]))
    assert result.table.sequences == insert
    assert result.table.qualities == ["I" * 40, "I" * 40]


def test_adapter_min_overlap_is_respected(make):
    insert = make.dna(2, 40, seed=5)
    sequences = [insert[0] + ADAPTER[:4], insert[1] + ADAPTER[:8]]
    result = run(make, rows_of(sequences), make.clean(adapters=[ADAPTER], adapter_min_overlap=6))
    assert result.table.sequences == [insert[0] + ADAPTER[:4], insert[1]]
    assert result.modified["adapter_trimmed"] == 1


def test_length_bounds(make):
    base = make.dna(4, 50, seed=6)
    sequences = [base[0][:19], base[1][:20], base[2][:40], base[3][:41]]
    result = run(make, rows_of(sequences), make.clean(min_length=20, max_length=40))
    assert result.table.ids == ["r1", "r2"]
    only_removed(result, too_short=1, too_long=1)


def test_n_fraction_above_maximum(make):
    base = make.dna(3, 50, seed=7)
    sequences = [base[0], "N" * 5 + base[1][5:],  # 10%: at the limit, kept
                 "N" * 6 + base[2][6:]]  # 12%: above it
    result = run(make, rows_of(sequences), make.clean(max_n_fraction=0.1))
    assert result.table.ids == ["r0", "r1"]
    only_removed(result, too_many_n=1)


def test_low_complexity_by_dust(make):
    base = make.dna(2, 60, seed=8)
    sequences = [base[0], "A" * 60, "CA" * 30, base[1], "ACGTTGCA" * 8]
    result = run(make, rows_of(sequences), make.clean(max_dust_score=7))
    assert result.table.ids == ["r0", "r3"]
    only_removed(result, low_complexity=3)


def test_low_mean_quality_fastq(make):
    base = make.dna(3, 20, seed=9)
    records = [("r0 label=a", base[0], "5" * 20),  # phred 20: at the limit, kept
               ("r1 label=b", base[1], "4" * 20),  # phred 19
               ("r2 label=a", base[2], "I" * 10 + "#" * 10)]  # mean (40 + 2) / 2 = 21
    path = make.fastq("reads.fastq", records)
    result = clean_reads(load_reads(make.data(path)), make.clean(min_mean_quality=20))
    assert result.table.ids == ["r0", "r2"]
    only_removed(result, low_quality=1)


def test_quality_rule_is_skipped_without_qualities(make):
    result = run(make, make.rows(4), make.clean(min_mean_quality=30))
    assert len(result.table) == 4
    assert "low_quality" in result.skipped


def test_exact_duplicates_keep_the_first(make):
    base = make.dna(3, 30, seed=10)
    rows = rows_of([base[0], base[1], base[0], base[2], base[0]], labels="a")
    result = run(make, rows, make.clean(deduplicate=True))
    assert result.table.ids == ["r0", "r1", "r3"]
    only_removed(result, duplicate=2)


def test_reverse_complement_duplicates(make):
    base = make.dna(3, 30, seed=11)
    sequences = [base[0], base[1], make.revcomp(base[0]), base[2], base[1]]
    rows = rows_of(sequences, labels="a")
    result = run(make, rows, make.clean(deduplicate=True, reverse_complement_duplicates=True))
    assert result.table.ids == ["r0", "r1", "r3"]
    only_removed(result, duplicate=1, reverse_complement_duplicate=1)
    # Without the reverse-complement rule the other strand is a different read.
    result = run(make, rows, make.clean(deduplicate=True), name="again.tsv")
    assert result.table.ids == ["r0", "r1", "r2", "r3"]
    only_removed(result, duplicate=1)


def test_label_conflicts_drop_every_copy(make):
    base = make.dna(3, 30, seed=12)
    rows = [{"id": "r0", "sequence": base[0], "label": "a"},
            {"id": "r1", "sequence": base[1], "label": "a"},
            {"id": "r2", "sequence": make.revcomp(base[0]), "label": "b"},  # conflicts with r0
            {"id": "r3", "sequence": base[1], "label": "a"},  # agreeing copy of r1
            {"id": "r4", "sequence": base[2], "label": "b"},
            {"id": "r5", "sequence": base[0], "label": "a"}]
    clean = make.clean(deduplicate=True, reverse_complement_duplicates=True,
                       drop_label_conflicts=True)
    result = run(make, rows, clean)
    assert result.table.ids == ["r1", "r4"]
    only_removed(result, duplicate=1, label_conflict=3)


def test_conflicts_kept_when_the_rule_is_off(make):
    base = make.dna(2, 30, seed=13)
    rows = [{"id": "r0", "sequence": base[0], "label": "a"},
            {"id": "r1", "sequence": base[0], "label": "b"},
            {"id": "r2", "sequence": base[1], "label": "b"}]
    result = run(make, rows, make.clean(deduplicate=True))
    assert result.table.ids == ["r0", "r2"] and result.table.labels == ["a", "b"]
    only_removed(result, duplicate=1)


def test_conflicts_without_deduplication_keep_agreeing_copies(make):
    base = make.dna(2, 30, seed=14)
    rows = [{"id": "r0", "sequence": base[0], "label": "a"},
            {"id": "r1", "sequence": base[0], "label": "b"},
            {"id": "r2", "sequence": base[1], "label": "b"},
            {"id": "r3", "sequence": base[1], "label": "b"}]
    result = run(make, rows, make.clean(drop_label_conflicts=True))
    assert result.table.ids == ["r2", "r3"]
    only_removed(result, label_conflict=2)


def test_a_read_counts_once_under_the_first_rule_that_drops_it(make):
    base = make.dna(2, 40, seed=15)
    sequences = [base[0], "A" * 10, "A" * 40, "A" * 40, base[1]]  # short + low complexity; dup
    result = run(make, rows_of(sequences, labels="a"),
                 make.clean(min_length=20, max_dust_score=7, deduplicate=True))
    assert result.table.ids == ["r0", "r4"]
    only_removed(result, too_short=1, low_complexity=2)


def test_default_rules_together_on_a_clean_file(make):
    result = run(make, make.rows(50), CleanSpec())
    assert len(result.table) == 50
    only_removed(result)
