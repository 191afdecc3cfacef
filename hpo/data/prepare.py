"""``prepare_data``: load, clean, split and write a study's data once, reused while unchanged.

The folder ``OUTPUT/prepared/<digest>/`` (docs/architecture.md) appears whole or not at all:
files are written under temporary names in a temporary sibling folder, which is renamed into
place last. A crash leaves at most a hidden ``.<digest>.*.tmp`` folder, never half a split, and
two workers preparing the same data at once end up sharing the first one's folder.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, IO

import numpy as np

from hpo.data.checks import check_splittable
from hpo.data.cleaning import clean_reads
from hpo.data.digest import FORMAT_VERSION, data_digest, file_sha256
from hpo.data.errors import DataError
from hpo.data.formats import detect_format
from hpo.data.loaders import load_reads
from hpo.data.records import ReadTable, sort_label_names
from hpo.data.report import build_report, format_report
from hpo.data.subsample import stratified_subsample
from hpo.data.splitting import SPLITS, remove_cross_split_copies, split_reads
from hpo.spec.schema import DataSpec, StudySpec
from hpo.spec.strict import to_plain

logger = logging.getLogger("hpo.data")

SPLIT_COLUMNS = ("id", "sequence", "label", "group")
MANIFEST = "manifest.json"
REPORT_JSON = "report.json"
REPORT_TEXT = "report.txt"
_ROWS_PER_WRITE = 100_000


@dataclass(frozen=True)
class PreparedData:
    path: Path  # OUTPUT/prepared/<digest>
    manifest: dict
    report: dict
    reused: bool  # True when an earlier run's folder was found complete and returned as is

    @property
    def digest(self) -> str:
        return self.manifest["digest"]

    @property
    def labels(self) -> list[str]:
        """Label names; a label's index here is its class id."""
        return list(self.manifest["labels"])

    def split_path(self, name: str) -> Path:
        if name not in self.manifest["files"]:
            known = ", ".join(self.manifest["files"])
            raise KeyError(f"no split {name!r}; expected one of {known}")
        return self.path / self.manifest["files"][name]


def prepare_data(spec: StudySpec, force: bool = False) -> PreparedData:
    """Prepare ``spec.data`` under ``spec.output_dir / "prepared"`` (see ``prepare_into``)."""
    return prepare_into(spec.data, Path(spec.output_dir) / "prepared", force=force)


def prepare_into(data: DataSpec, prepared_root: Path, force: bool = False) -> PreparedData:
    """Load, clean and split ``data`` into ``prepared_root/<digest>/``, or reuse that folder.

    ``force`` rebuilds even when a complete folder exists. Raises ``DataError`` (nothing
    written) for bad input.
    """
    path = Path(data.path)
    if not path.is_file():
        raise DataError("file not found", path)
    fmt = detect_format(path, data.format)
    content_sha256 = file_sha256(path)
    digest = data_digest(data, content_sha256)
    target = Path(prepared_root) / digest
    if not force:
        existing = load_prepared(target, digest)
        if existing is not None:
            logger.info("reusing prepared data %s", target)
            return existing

    started = time.perf_counter()
    table = load_reads(data)
    check_splittable(table, data.split, "in the file")
    cleaning = clean_reads(table, data.clean)
    rows_in = len(table)
    del table  # the reads that cleaning removed need not stay in memory while writing
    cleaned = cleaning.table
    check_splittable(cleaned, data.split, "after cleaning", _removal_summary(cleaning.removed))
    keys, subsampled = cleaning.canonical_keys, 0
    if data.max_reads is not None and len(cleaned) > data.max_reads:
        kept = stratified_subsample(cleaned, data.max_reads, data.split.seed)
        subsampled = len(cleaned) - len(kept)
        cleaned = cleaned.take(kept)
        keys = [keys[i] for i in kept.tolist()] if keys is not None else None
        check_splittable(cleaned, data.split, f"after subsampling to max_reads={data.max_reads}")
    parts = split_reads(cleaned, data.split)
    parts, cross_split = remove_cross_split_copies(
        cleaned, parts, deduplicated=(data.clean.deduplicate
                                      and data.clean.reverse_complement_duplicates),
        keys=keys)

    labels = sort_label_names(set(cleaned.labels))
    counts = {name: _class_counts(cleaned, parts[name], labels) for name in SPLITS}
    for name in SPLITS:  # possible with groups, which are split whole
        missing = [label for label, n in counts[name].items() if n == 0]
        if missing:
            logger.warning("the %s split has no reads of class(es) %s", name,
                           ", ".join(map(repr, missing)))
    report = build_report(digest=digest, source=str(path), fmt=fmt, rows_in=rows_in,
                          cleaning=cleaning, cross_split_removed=cross_split,
                          subsampled=subsampled, labels=labels,
                          counts=counts)
    manifest = {
        "digest": digest,
        "labels": labels,
        "files": {name: f"{name}.tsv" for name in SPLITS},
        "counts": counts,
        "source": str(path),
        "spec": to_plain(data),
        "format": fmt,
        "input_sha256": content_sha256,
        "format_version": FORMAT_VERSION,
    }
    files: dict[str, Callable[[IO[str]], None]] = {
        f"{name}.tsv": _split_writer(cleaned, parts[name]) for name in SPLITS}
    files[REPORT_JSON] = _json_writer(report)
    files[REPORT_TEXT] = lambda handle: handle.write(format_report(report))
    files[MANIFEST] = _json_writer(manifest)  # last: its presence marks a complete folder
    published = _publish_folder(target, digest, files, replace_existing=force)
    if published is not None:  # another worker finished the same data first
        return published
    sizes = ", ".join(f"{report['splits'][name]['rows']} {name}" for name in SPLITS)
    logger.info("prepared %s: %d reads in, %d out (%s) in %.1f s", target, rows_in,
                report["rows_out"], sizes, time.perf_counter() - started)
    return PreparedData(path=target, manifest=manifest, report=report, reused=False)


def load_prepared(folder: Path, digest: str | None = None) -> PreparedData | None:
    """The prepared data in ``folder`` if it is complete (and has ``digest``), else None."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        report = json.loads((folder / REPORT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or (digest is not None and manifest.get("digest") != digest):
        return None
    files = manifest.get("files")
    if (not isinstance(files, dict) or set(files) != set(SPLITS) or not manifest.get("labels")
            or not all((folder / name).is_file() for name in [*files.values(), REPORT_TEXT])):
        return None
    return PreparedData(path=folder, manifest=manifest, report=report, reused=True)


def read_split(folder: str | Path, name: str) -> dict[str, list[str]]:
    """One split of a prepared folder as columns ``id``, ``sequence``, ``label``, ``group``.

    The files are plain tab-separated lines without quoting (fields never hold tabs or line
    breaks), so ``line.split("\\t")`` is the whole parser.
    """
    if name not in SPLITS:
        raise KeyError(f"no split {name!r}; expected one of {', '.join(SPLITS)}")
    path = Path(folder) / f"{name}.tsv"
    with open(path, encoding="utf-8", newline="\n") as handle:
        header = handle.readline().rstrip("\n").split("\t")
        if tuple(header) != SPLIT_COLUMNS:
            raise DataError(f"expected header {chr(9).join(SPLIT_COLUMNS)!r}, found "
                            f"{chr(9).join(header)!r}", path, "line 1")
        rows = [line.rstrip("\n").split("\t") for line in handle]
    columns = list(zip(*rows)) if rows else [(), (), (), ()]
    return {column: list(values) for column, values in zip(SPLIT_COLUMNS, columns)}


def _removal_summary(removed: dict[str, int]) -> str:
    """' (cleaning removed 30: 20 too_short, 10 low_complexity)', for messages."""
    causes = sorted(((n, reason) for reason, n in removed.items() if n), reverse=True)
    if not causes:
        return ""
    listed = ", ".join(f"{n} {reason}" for n, reason in causes)
    return f" (cleaning removed {sum(n for n, _ in causes)}: {listed})"


def _class_counts(table: ReadTable, indices: np.ndarray, labels: list[str]) -> dict[str, int]:
    class_id = {name: k for k, name in enumerate(labels)}
    ids = np.fromiter((class_id[table.labels[i]] for i in indices.tolist()), dtype=np.int64,
                      count=indices.size)
    per_class = np.bincount(ids, minlength=len(labels))
    return {name: int(per_class[k]) for k, name in enumerate(labels)}


def _split_writer(table: ReadTable, indices: np.ndarray) -> Callable[[IO[str]], None]:
    def write(handle: IO[str]) -> None:
        handle.write("\t".join(SPLIT_COLUMNS) + "\n")
        ids, sequences, labels = table.ids, table.sequences, table.labels
        groups = table.groups
        positions = indices.tolist()
        for begin in range(0, len(positions), _ROWS_PER_WRITE):
            chunk = positions[begin:begin + _ROWS_PER_WRITE]
            if groups is None:
                lines = [f"{ids[i]}\t{sequences[i]}\t{labels[i]}\t\n" for i in chunk]
            else:
                lines = [f"{ids[i]}\t{sequences[i]}\t{labels[i]}\t{groups[i]}\n" for i in chunk]
            handle.write("".join(lines))
    return write


def _json_writer(payload: dict) -> Callable[[IO[str]], None]:
    return lambda handle: handle.write(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def _write_file(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Write under a temporary name and rename: a reader never sees a half-written file."""
    partial = path.with_name(path.name + ".part")
    with open(partial, "w", encoding="utf-8", newline="\n") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _publish_folder(target: Path, digest: str, files: dict[str, Callable[[IO[str]], None]],
                    replace_existing: bool) -> PreparedData | None:
    """Build ``files`` in a temporary sibling of ``target``, then rename it to ``target``.

    Returns None when this call's folder was published, or another worker's complete folder
    for the same digest when that one won the race.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.parent / f".{digest}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    building.mkdir()  # mkdir, not mkdtemp: the folder keeps the umask's permissions
    retired: Path | None = None
    try:
        for name, write in files.items():
            _write_file(building / name, write)
        if target.exists() and (replace_existing or load_prepared(target, digest) is None):
            # A stale or incomplete folder (or --force): move it aside, then swap ours in.
            retired = target.parent / f".{digest}.{os.getpid()}.{secrets.token_hex(4)}.old"
            os.rename(target, retired)
        try:
            os.rename(building, target)
        except OSError:
            winner = load_prepared(target, digest)
            if winner is None:
                raise
            shutil.rmtree(building, ignore_errors=True)
            return winner
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        if retired is not None and not target.exists():
            os.rename(retired, target)  # put the previous folder back rather than lose it
            retired = None
        raise
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    return None
