"""`data.max_reads`: a stratified, seeded subsample of the cleaned reads before splitting."""
from __future__ import annotations

import dataclasses

from hpo.data import prepare_data


def test_max_reads_keeps_class_shares_and_is_reported(make):
    rows = [dict(r, label="a" if i % 5 else "b") for i, r in enumerate(make.rows(400, seed=3))]
    data = dataclasses.replace(make.data(make.table("reads.tsv", rows)), max_reads=100)
    prepared = prepare_data(make.study(data))
    totals = {label: sum(prepared.manifest["counts"][s][label] for s in ("train", "validation",
                                                                          "test"))
              for label in ("a", "b")}
    assert sum(totals.values()) == 100
    assert totals == {"a": 80, "b": 20}  # the file's 4:1 share, exactly
    assert prepared.report["removed"]["subsampled (max_reads)"] == 300

    again = prepare_data(make.study(data, output=make.root / "again"))
    for split in ("train", "validation", "test"):
        assert prepared.split_path(split).read_bytes() == again.split_path(split).read_bytes()

    everything = prepare_data(make.study(dataclasses.replace(data, max_reads=None)))
    assert everything.digest != prepared.digest
