"""Data preparation: load CSV/TSV/FASTA/FASTQ, clean, split, write ``OUTPUT/prepared/<digest>``.

- ``prepare_data(spec, force=False) -> PreparedData``: the entry point (``prepare``).
- ``inspect_labels(data_or_path, ...) -> dict``: a quick look at the labels, for ``hpo init``.
- ``read_split(folder, name) -> dict[str, list[str]]``: a prepared split read back.

Where each convention is documented: header labels and groups (``>id label=X group=G``) in
``loaders``; the order of the cleaning rules in ``cleaning``; the DUST formula in
``complexity``; how splits are stratified, how groups are kept whole and what happens to
cross-split copies in ``splitting``; the folder's digest in ``digest``; atomic writing and
reuse in ``prepare``. Every problem with the input raises ``DataError`` naming the file and the
line or record, before anything is written.
"""
from hpo.data.checks import check_splittable
from hpo.data.cleaning import REMOVAL_REASONS, CleaningResult, clean_reads
from hpo.data.complexity import dust_scores
from hpo.data.digest import data_digest
from hpo.data.errors import DataError
from hpo.data.formats import detect_format
from hpo.data.inspection import inspect_labels
from hpo.data.loaders import load_reads
from hpo.data.prepare import PreparedData, load_prepared, prepare_data, prepare_into, read_split
from hpo.data.records import ReadTable, sort_label_names
from hpo.data.report import format_report
from hpo.data.splitting import SPLITS, remove_cross_split_copies, split_reads

__all__ = [
    "REMOVAL_REASONS", "SPLITS", "CleaningResult", "DataError", "PreparedData", "ReadTable",
    "check_splittable", "clean_reads", "data_digest", "detect_format", "dust_scores",
    "format_report", "inspect_labels", "load_prepared", "load_reads", "prepare_data",
    "prepare_into", "read_split", "remove_cross_split_copies", "sort_label_names", "split_reads",
]
