"""A quick look at a data file's labels, for ``hpo init``: no cleaning, no splitting."""
from __future__ import annotations

from pathlib import Path

from hpo.data.errors import DataError
from hpo.data.formats import detect_format
from hpo.data.loaders import load_reads
from hpo.spec.schema import DataSpec


def inspect_labels(data: DataSpec | str | Path, *, format: str = "auto",
                   sequence_column: str = "sequence", label_column: str = "label",
                   header_label_key: str = "label") -> dict:
    """Format, record count and label counts of a data file, read without cleaning.

    ``data`` is a ``DataSpec`` (its settings win over the keyword arguments) or a path.
    Returns ``{"path", "format", "records", "labels": {name: count}}``, labels in class-id
    order. Raises ``DataError`` for a file that ``prepare_data`` would reject while loading,
    and for a file with a single class.
    """
    if not isinstance(data, DataSpec):
        data = DataSpec(path=Path(data).expanduser().resolve(), format=format,
                        sequence_column=sequence_column, label_column=label_column,
                        header_label_key=header_label_key)
    table = load_reads(data, with_sequences=False)
    counts = table.label_counts()
    if len(counts) < 2:
        only = ", ".join(f"{name!r} ({n} read{'s' if n != 1 else ''})"
                         for name, n in counts.items())
        raise DataError(f"only one class in the file: {only}; expected at least two labels "
                        f"to learn from", data.path)
    return {"path": str(data.path), "format": detect_format(Path(data.path), data.format),
            "records": len(table), "labels": counts}
