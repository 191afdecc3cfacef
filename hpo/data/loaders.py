"""Read CSV/TSV tables (csv module) and FASTA/FASTQ files (dnaio), plain or gzipped.

Conventions:
- Tables: a header row names the columns; ``sequence_column`` and ``label_column`` are required,
  ``id_column`` and ``group_column`` when set. Without an id column a read's id is its data row
  number (1 = first row after the header). Values are stripped of surrounding whitespace.
- FASTA/FASTQ: the label is a ``key=value`` word of the header, ``>id label=X`` by default
  (the key is ``header_label_key``). With ``group_column`` set, the group is the header word
  keyed by that name, e.g. ``group_column: patient`` reads ``>r1 label=X patient=P7``.
  A read's id is the header up to the first whitespace.
"""
from __future__ import annotations

import csv
import gzip
import logging
import re
import zlib
from array import array
from pathlib import Path

import dnaio
import numpy as np

from hpo.data.errors import DataError, list_places
from hpo.data.formats import detect_format, not_text_error, open_text
from hpo.data.records import ReadTable
from hpo.spec.schema import DataSpec
from hpo.spec.errors import suggest

logger = logging.getLogger("hpo.data")
PROGRESS_EVERY = 1_000_000  # log a line per million reads so a long load shows it is alive
# Errors of a file that is not what its name says: binary, corrupt or truncated gzip.
_UNREADABLE = (UnicodeDecodeError, gzip.BadGzipFile, EOFError, zlib.error)


def load_reads(data: DataSpec, with_sequences: bool = True) -> ReadTable:
    """Every record of ``data.path`` with its label (and group, quality); nothing cleaned.

    ``with_sequences=False`` keeps the sequence column empty, for a quick look at the labels.
    Raises ``DataError`` for an empty, unreadable or malformed file, a missing column, or a
    record without a label.
    """
    path = Path(data.path)
    if not path.is_file():
        raise DataError("file not found", path)
    if path.stat().st_size == 0:
        raise DataError("the file is empty; expected a header line and data rows, or FASTA/"
                        "FASTQ records", path)
    fmt = detect_format(path, data.format)
    try:
        if fmt in ("csv", "tsv"):
            table = _read_table(path, fmt, data, with_sequences)
        else:
            table = _read_sequence_file(path, fmt, data, with_sequences)
    except _UNREADABLE as exc:
        raise not_text_error(path, exc) from None
    if len(table) == 0:
        what = "data rows after the header" if fmt in ("csv", "tsv") else f"{fmt.upper()} records"
        raise DataError(f"no {what}; expected at least one read", path)
    _reject_separators_in_fields(table)
    logger.info("loaded %d reads from %s (%s)", len(table), path, fmt)
    return table


def _read_table(path: Path, fmt: str, data: DataSpec, with_sequences: bool) -> ReadTable:
    delimiter = "," if fmt == "csv" else "\t"
    with open_text(path) as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next((row for row in reader if any(cell.strip() for cell in row)), None)
            if header is None:
                raise DataError("the file has no header line; expected a first line naming "
                                "the columns", path)
            columns = _column_indices(path, fmt, [name.strip().lstrip("\ufeff") for name in header],
                                      data, reader.line_num)
            return _read_rows(path, fmt, reader, columns, with_sequences)
        except csv.Error as exc:
            raise DataError(f"not a readable {fmt.upper()} table ({exc})", path,
                            f"line {reader.line_num}") from None


def _column_indices(path: Path, fmt: str, header: list[str], data: DataSpec,
                    header_line: int) -> dict[str, int]:
    wanted = {"sequence": ("sequence_column", data.sequence_column),
              "label": ("label_column", data.label_column)}
    if data.id_column:
        wanted["id"] = ("id_column", data.id_column)
    if data.group_column:
        wanted["group"] = ("group_column", data.group_column)
    found = {name: i for i, name in reversed(list(enumerate(header)))}  # first of duplicates
    indices = {}
    for role, (key, name) in wanted.items():
        if name not in found:
            hint = suggest(name, found)
            raise DataError(f"missing column {name!r} (data.{key}){hint}; the header has "
                            f"columns: {', '.join(header)}", path, f"line {header_line}")
        indices[role] = found[name]
    return indices


def _read_rows(path: Path, fmt: str, reader, columns: dict[str, int],
               with_sequences: bool) -> ReadTable:
    seq_at, label_at = columns["sequence"], columns["label"]
    id_at, group_at = columns.get("id"), columns.get("group")
    width = max(columns.values()) + 1
    sequences: list[str] = []
    labels: list[str] = []
    ids: list[str] = []
    groups: list[str] = []
    lines = array("q")
    names: dict[str, str] = {}  # one string object per distinct label or group
    blank_labels: list[int] = []
    blank_groups: list[int] = []
    previous_line = reader.line_num
    for row in reader:
        start, previous_line = previous_line + 1, reader.line_num
        if len(row) < width:
            if not any(cell.strip() for cell in row):
                continue  # a blank line, e.g. at the end of the file
            raise DataError(f"expected at least {width} {fmt.upper()} fields, found {len(row)}: "
                            f"{row!r}", path, f"line {start}")
        label = row[label_at].strip()
        if not label:
            blank_labels.append(start)
        labels.append(names.setdefault(label, label))
        if with_sequences:
            sequences.append(row[seq_at].strip())
        if id_at is not None:
            ids.append(row[id_at].strip())
        if group_at is not None:
            group = row[group_at].strip()
            if not group:
                blank_groups.append(start)
            groups.append(names.setdefault(group, group))
        lines.append(start)
        if len(lines) % PROGRESS_EVERY == 0:
            logger.info("read %d rows of %s", len(lines), path)
    for blanks, what in ((blank_labels, "label"), (blank_groups, "group")):
        if blanks:
            raise DataError(f"{len(blanks)} row(s) with a blank {what}: "
                            f"{list_places([f'line {n}' for n in blanks])}; expected every row "
                            f"to have one", path)
    count = len(lines)
    return ReadTable(
        source=path, format=fmt,
        ids=ids if id_at is not None else [str(n) for n in range(1, count + 1)],
        sequences=sequences if with_sequences else [""] * count,
        labels=labels, groups=groups if group_at is not None else None,
        first_lines=np.frombuffer(lines, dtype=np.int64) if count else np.zeros(0, np.int64))


def _read_sequence_file(path: Path, fmt: str, data: DataSpec, with_sequences: bool) -> ReadTable:
    label_key = data.header_label_key
    find_label = _header_value_finder(label_key)
    find_group = _header_value_finder(data.group_column) if data.group_column else None
    ids: list[str] = []
    sequences: list[str] = []
    qualities: list[str] = []
    labels: list[str] = []
    groups: list[str] = []
    names: dict[str, str] = {}
    unlabelled: list[int] = []
    ungrouped: list[int] = []
    try:
        with dnaio.open(path, fileformat=fmt) as reader:
            for number, record in enumerate(reader):
                header = record.name
                ids.append(record.id)
                found = find_label(header)
                label = found.group(1) if found else ""
                if not label:
                    unlabelled.append(number)
                labels.append(names.setdefault(label, label))
                if find_group is not None:
                    found = find_group(header)
                    group = found.group(1) if found else ""
                    if not group:
                        ungrouped.append(number)
                    groups.append(names.setdefault(group, group))
                if with_sequences:
                    sequences.append(record.sequence)
                    if fmt == "fastq":
                        qualities.append(record.qualities)
                if (number + 1) % PROGRESS_EVERY == 0:
                    logger.info("read %d records of %s", number + 1, path)
    except dnaio.exceptions.FileFormatError as exc:
        expected = ("four lines per record: @id, sequence, +, qualities" if fmt == "fastq"
                    else "records of a '>id label=X' header line and sequence lines")
        where = f"line {exc.line + 1}" if exc.line is not None else None
        raise DataError(f"malformed {fmt.upper()}: {exc.message}; expected {expected}",
                        path, where) from None
    table = ReadTable(source=path, format=fmt, ids=ids,
                      sequences=sequences if with_sequences else [""] * len(ids), labels=labels,
                      groups=groups if find_group is not None else None,
                      qualities=qualities if (with_sequences and fmt == "fastq") else None)
    for missing, key, what in ((unlabelled, label_key, "data.header_label_key"),
                               (ungrouped, data.group_column, "data.group_column")):
        if missing:
            places = list_places([table.where(i) for i in missing])
            raise DataError(f"{len(missing)} record(s) without '{key}=' in the header: {places};"
                            f" expected headers like '>{ids[missing[0]]} {key}=X' ({what} names"
                            f" the key)", path)
    return table


def _header_value_finder(key: str):
    """``finder(header)`` matches the value of the ``key=value`` word in a FASTA/FASTQ header."""
    return re.compile(rf"(?:^|\s){re.escape(key)}=(\S*)").search


def _reject_separators_in_fields(table: ReadTable) -> None:
    """Prepared splits are plain tab-separated lines: a tab or newline inside a field breaks them."""
    for column, what in ((table.ids, "id"), (table.labels, "label"), (table.groups, "group")):
        if column is None:
            continue
        joined = "\x00".join(column)
        if "\t" not in joined and "\n" not in joined and "\r" not in joined:
            continue
        bad = [i for i, value in enumerate(column) if any(c in value for c in "\t\n\r")]
        raise DataError(f"the {what} {column[bad[0]]!r} contains a tab or line break; expected "
                        f"single-line values without tabs", table.source, table.where(bad[0]))
