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
import itertools
import logging
import operator
import re
import zlib
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
ROWS_PER_BLOCK = 100_000
MAX_FIELD = 1 << 30  # characters in one table cell
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
    # csv refuses fields over 128 kB by default; a table of whole genes or contigs has them.
    previous_limit = csv.field_size_limit(MAX_FIELD)
    try:
        return _parse_table(path, fmt, delimiter, data, with_sequences)
    finally:
        csv.field_size_limit(previous_limit)


def _parse_table(path: Path, fmt: str, delimiter: str, data: DataSpec,
                 with_sequences: bool) -> ReadTable:
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
    # Columns are pulled out a block of rows at a time with map/itemgetter (C loops): a Python
    # loop body per row would cost more than the csv parsing itself.
    wanted = {role: operator.itemgetter(at) for role, at in columns.items()}
    width = max(columns.values()) + 1
    values: dict[str, list[str]] = {role: [] for role in wanted}
    if not with_sequences:
        del wanted["sequence"]
    line_blocks: list[np.ndarray] | None = []
    while True:
        before = reader.line_num
        rows = list(itertools.islice(reader, ROWS_PER_BLOCK))
        if not rows:
            break
        # One physical line per row (no line breaks inside quoted fields): line numbers are
        # exact. Otherwise reads are named by data row instead.
        lines = (np.arange(before + 1, reader.line_num + 1, dtype=np.int64)
                 if reader.line_num - before == len(rows) else None)
        if min(map(len, rows)) < width:
            rows, lines = _without_blank_rows(path, fmt, rows, lines, width, before)
        for role, column in wanted.items():
            values[role].extend(map(str.strip, map(column, rows)))
        if line_blocks is not None and lines is not None:
            line_blocks.append(lines)
        else:
            line_blocks = None
        done = len(values["label"])
        if done // PROGRESS_EVERY > (done - len(rows)) // PROGRESS_EVERY:
            logger.info("read %d rows of %s", done, path)
    count = len(values["label"])
    names: dict[str, str] = {}  # one string object per distinct label or group
    for role in ("label", "group"):
        if role in values:
            values[role] = list(map(names.setdefault, values[role], values[role]))
    table = ReadTable(
        source=path, format=fmt,
        ids=values["id"] if "id" in columns else list(map(str, range(1, count + 1))),
        sequences=values["sequence"] if with_sequences else [""] * count,
        labels=values["label"], groups=values.get("group"),
        first_lines=np.concatenate(line_blocks) if line_blocks else None)
    for role in ("label", "group"):
        if role in values and "" in names:
            blanks = [i for i, value in enumerate(values[role]) if not value]
            if blanks:
                raise DataError(f"{len(blanks)} row(s) with a blank {role}: "
                                f"{list_places([table.where(i, with_id=False) for i in blanks])}; "
                                f"expected every row to have one", path)
    return table


def _without_blank_rows(path: Path, fmt: str, rows: list[list[str]], lines: np.ndarray | None,
                        width: int, before: int) -> tuple[list[list[str]], np.ndarray | None]:
    """Drop blank lines (e.g. at the end of the file); a short row that is not blank is an error."""
    keep = []
    for i, row in enumerate(rows):
        if len(row) >= width:
            keep.append(i)
        elif any(cell.strip() for cell in row):
            where = f"line {lines[i]}" if lines is not None else f"data row after line {before}"
            raise DataError(f"expected at least {width} {fmt.upper()} fields, found {len(row)}: "
                            f"{row!r}", path, where)
    return [rows[i] for i in keep], (lines[keep] if lines is not None else None)


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
            marker = "@" if fmt == "fastq" else ">"
            raise DataError(f"{len(missing)} record(s) without '{key}=' in the header: {places};"
                            f" expected headers like '{marker}{ids[missing[0]]} {key}=X' ({what}"
                            f" names the key)", path)
    return table


def _header_value_finder(key: str):
    """``finder(header)`` matches the value of the ``key=value`` word in a FASTA/FASTQ header."""
    return re.compile(rf"(?:^|\s){re.escape(key)}=(\S*)").search


def _reject_separators_in_fields(table: ReadTable) -> None:
    """Prepared splits are plain tab-separated lines, read by ``line.split("\t")`` and by
    ``csv.DictReader(delimiter="\t")`` alike. That holds only while no field has a tab or a
    line break, and none starts with a double quote (csv would take it for a quoted field)."""
    for column, what in ((table.ids, "id"), (table.labels, "label"), (table.groups, "group")):
        if column is None:
            continue
        joined = "\n".join(column)
        if ("\t" not in joined and "\r" not in joined and '"' not in joined
                and joined.count("\n") == len(column) - 1):
            continue
        bad = [i for i, value in enumerate(column)
               if value.startswith('"') or any(c in value for c in "\t\n\r")]
        if bad:
            raise DataError(f"the {what} {column[bad[0]]!r} contains a tab or line break, or "
                            f"starts with a double quote; expected single-line values without "
                            f"tabs or a leading quote", table.source, table.where(bad[0]))
