"""Study files: YAML in, one validated ``StudySpec`` out (or every problem at once)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from hpo.spec.errors import IssueCollector, SpecError, SpecIssue
from hpo.spec.schema import (CleanSpec, DataSpec, ModelSpec, PrunerSpec, RegistrySpec,
                             SamplerSpec, SplitSpec, StorageSpec, StudySettings, StudySpec,
                             TrainingSpec)
from hpo.spec.search_space import BASELINE, Dimension, SearchSpec
from hpo.spec.strict import ParseContext, parse_dataclass, to_plain

__all__ = [
    "BASELINE", "CleanSpec", "DataSpec", "Dimension", "ModelSpec", "PrunerSpec", "RegistrySpec",
    "SamplerSpec", "SearchSpec", "SpecError", "SpecIssue", "SplitSpec", "StorageSpec",
    "StudySettings", "StudySpec", "TrainingSpec", "load_study_spec", "parse_study_spec",
    "spec_to_dict",
]


def load_study_spec(path: str | Path) -> StudySpec:
    """Read and validate a study file; raises ``SpecError`` listing every problem."""
    path = Path(path)
    if not path.is_file():
        raise SpecError([SpecIssue("", f"study file not found: {path}")], source=str(path))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecIssue("", f"{where}not valid YAML: {problem}")], source=str(path))
    return parse_study_spec(raw, base_dir=path.resolve().parent, source=path)


def parse_study_spec(raw: Any, base_dir: Path, source: Path | None = None) -> StudySpec:
    out = IssueCollector()
    if raw is None:
        out.error("", "the study file is empty")
    spec = parse_dataclass(StudySpec, raw, "", out, ParseContext(base_dir=base_dir)) if raw else None
    model_path = _local_model_path(raw, base_dir, out)
    if out.issues or spec is None:
        raise SpecError(out.issues, source=str(source) if source else None)
    if model_path is not None:
        spec = dataclasses.replace(spec, model=dataclasses.replace(spec.model,
                                                                    name_or_path=str(model_path)))
    object.__setattr__(spec, "source", source.resolve() if source else None)
    return spec


def _local_model_path(raw: Any, base_dir: Path, out: IssueCollector) -> Path | None:
    """The model as an absolute folder when it names a local one; None for a hub id.

    A value that starts with ./ ../ / ~ or exists relative to the study file's folder is a
    local folder (and must exist); anything else is a hub id, resolved by transformers later.
    """
    value = raw.get("model", {}).get("name_or_path") if isinstance(raw, dict) and isinstance(
        raw.get("model"), dict) else None
    if not isinstance(value, str) or not value.strip():
        return None
    candidate = (base_dir / Path(value).expanduser()).resolve()
    if value.startswith((".", "/", "~")) or candidate.exists():
        if not candidate.is_dir():
            out.error("model.name_or_path", f"model folder not found: {candidate} (relative "
                                            f"paths resolve against the study file's folder "
                                            f"{base_dir})")
            return None
        return candidate
    return None


def spec_to_dict(spec: StudySpec) -> dict[str, Any]:
    """The resolved spec as plain data (for `hpo validate`, MLflow and trial files)."""
    plain = to_plain(spec)
    plain.pop("source", None)
    plain["output"] = str(spec.output_dir)
    plain["study"]["direction"] = spec.study.resolved_direction
    return plain
