"""Which format a data file is in, and opening it as text whether or not it is gzipped."""
from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import IO

from hpo.data.errors import DataError

# Suffix (after removing .gz) -> format. `.txt` is a table whose delimiter is read from the
# header line, since both tab- and comma-separated text files are called .txt in the wild.
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv", ".tab": "tsv", ".txt": "table",
    ".fa": "fasta", ".fasta": "fasta", ".fna": "fasta", ".fas": "fasta",
    ".fq": "fastq", ".fastq": "fastq",
}
FORMATS = ("csv", "tsv", "fasta", "fastq")
GZIP_MAGIC = b"\x1f\x8b"


def is_gzipped(path: Path) -> bool:
    """Judged by content, not name: a gzipped file without .gz still opens."""
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def detect_format(path: Path, declared: str = "auto") -> str:
    """``declared`` unless it is ``auto``; else the format its suffix names (``.gz`` ignored)."""
    if declared != "auto":
        if declared not in FORMATS:
            raise DataError(f"unknown format {declared!r}; expected one of auto, "
                            f"{', '.join(FORMATS)}", path)
        return declared
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".gzip"):
        suffixes.pop()
    found = SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None
    if found is None:
        known = " ".join(sorted(SUFFIX_FORMATS))
        raise DataError(f"cannot tell the format from the file name; expected a suffix among "
                        f"{known} (optionally + .gz), or set data.format", path)
    if found == "table":
        found = _sniff_delimiter(path)
    return found


def _sniff_delimiter(path: Path) -> str:
    with open_text(path) as handle:
        try:
            header = handle.readline()
        except UnicodeDecodeError as exc:
            raise not_text_error(path, exc) from None
    return "tsv" if "\t" in header or "," not in header else "csv"


def open_text(path: Path) -> IO[str]:
    """A text handle on ``path``, gunzipping when the content is gzip; newline='' for csv."""
    if is_gzipped(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def not_text_error(path: Path, exc: Exception) -> DataError:
    """The message for a file that is not UTF-8 text (binary, or a corrupt gzip)."""
    if isinstance(exc, UnicodeDecodeError):
        detail = f"found byte 0x{exc.object[exc.start]:02x}, which is not UTF-8 text"
    else:
        detail = str(exc)
    return DataError(f"not a readable text file ({detail}); expected plain or gzipped text "
                     f"in CSV, TSV, FASTA or FASTQ format, not a binary file", path)
