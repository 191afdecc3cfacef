"""Strict construction of dataclasses from parsed YAML.

Each dataclass field declares its type with an annotation and, optionally, numeric bounds in
``field(metadata=...)`` (``ge``, ``gt``, ``le``, ``lt``) and ``path_must_exist``. A dataclass
may define ``check(self) -> list[tuple[str, str]]`` for cross-field rules; the returned key is
relative to the dataclass. A type with a ``from_raw(raw, path, collector, context, metadata)`` classmethod
parses itself (used by the search-space dimensions); it also gets the field's metadata.

Unlike PEFT's configs, unknown keys are errors: a typo in a search space must not silently
change an experiment.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from hpo.spec.errors import IssueCollector, join_path, suggest


@dataclass(frozen=True)
class ParseContext:
    base_dir: Path  # relative paths in the study file resolve against its folder


def type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "list", dict: "mapping"}.get(type(value), type(value).__name__)


def _describe(value: object) -> str:
    return f"{type_name(value)} {value!r}"


def parse_dataclass(cls: type, raw: Any, path: str, out: IssueCollector, ctx: ParseContext):
    """Build ``cls`` from ``raw``; record every problem in ``out``; None when any was found."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        out.error(path, f"expected a mapping of keys, got {_describe(raw)}")
        return None
    errors_before = len(out)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in raw:
        if key not in fields:
            valid = ", ".join(fields)
            out.error(join_path(path, key),
                      f"unknown key{suggest(key, fields)} (valid keys here: {valid})")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        key_path = join_path(path, name)
        if name in raw:
            values[name] = parse_value(hints[name], raw[name], key_path, out, ctx, f.metadata)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            out.error(key_path, "missing required key")
    if len(out) > errors_before:
        return None
    obj = cls(**values)
    check = getattr(obj, "check", None)
    if check is not None:
        for key, message in check():
            out.error(join_path(path, key) if key else path, message)
    return obj if len(out) == errors_before else None


def parse_value(tp: Any, raw: Any, path: str, out: IssueCollector, ctx: ParseContext,
                meta: Mapping[str, Any] | None = None) -> Any:
    meta = meta or {}
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if raw is None:
            if type(None) in get_args(tp):
                return None
            out.error(path, f"expected {_expected(tp)}, got null")
            return None
        if len(options) == 1:
            return parse_value(options[0], raw, path, out, ctx, meta)
        # A union of several types: take the first that parses without error.
        for option in options:
            trial = IssueCollector()
            value = parse_value(option, raw, path, trial, ctx, meta)
            if not trial.issues:
                return value
        out.error(path, f"expected {_expected(tp)}, got {_describe(raw)}")
        return None
    if hasattr(tp, "from_raw"):
        return tp.from_raw(raw, path, out, ctx, meta)
    if dataclasses.is_dataclass(tp):
        return parse_dataclass(tp, raw, path, out, ctx)
    if origin is Literal:
        choices = get_args(tp)
        if raw not in choices:
            shown = ", ".join(repr(c) for c in choices)
            hint = suggest(raw, [str(c) for c in choices]) if isinstance(raw, str) else ""
            out.error(path, f"expected one of {shown}, got {raw!r}{hint}")
            return None
        return raw
    if origin is list:
        (item_type,) = get_args(tp) or (Any,)
        if not isinstance(raw, list):
            out.error(path, f"expected a list, got {_describe(raw)}")
            return None
        return [parse_value(item_type, item, join_path(path, i), out, ctx, meta)
                for i, item in enumerate(raw)]
    if origin is dict:
        if not isinstance(raw, Mapping):
            out.error(path, f"expected a mapping, got {_describe(raw)}")
            return None
        return dict(raw)
    if tp is Any:
        return raw
    if tp is bool:
        if not isinstance(raw, bool):
            out.error(path, f"expected true or false, got {_describe(raw)}")
            return None
        return raw
    if tp is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            out.error(path, f"expected an integer, got {_describe(raw)}")
            return None
        return _check_bounds(raw, path, out, meta)
    if tp is float:
        value = _as_float(raw)
        if value is None:
            out.error(path, f"expected a number, got {_describe(raw)}")
            return None
        return _check_bounds(value, path, out, meta)
    if tp is str:
        if not isinstance(raw, str):
            out.error(path, f"expected a string, got {_describe(raw)}")
            return None
        if not raw.strip():
            out.error(path, "expected a non-empty string")
            return None
        return raw
    if tp is Path:
        if not isinstance(raw, str) or not raw.strip():
            out.error(path, f"expected a path (string), got {_describe(raw)}")
            return None
        resolved = (ctx.base_dir / Path(raw).expanduser()).resolve()
        if meta.get("path_must_exist") and not resolved.exists():
            out.error(path, f"file not found: {resolved} (relative paths resolve against the "
                            f"study file's folder {ctx.base_dir})")
            return None
        return resolved
    raise TypeError(f"unsupported annotation {tp!r} at {path}")  # a bug in the schema, not input


def _as_float(raw: Any) -> float | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        # YAML 1.1 reads `1e-5` (no dot) as a string; accept it as the number users meant.
        try:
            return float(raw)
        except ValueError:
            return None
    return None


def _check_bounds(value: float, path: str, out: IssueCollector, meta: Mapping[str, Any]):
    rules = (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
             ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<"))
    for key, ok, symbol in rules:
        if key in meta and not ok(value, meta[key]):
            out.error(path, f"must be {symbol} {meta[key]}, got {value!r}")
            return None
    return value


def _expected(tp: Any) -> str:
    names = []
    for a in get_args(tp):
        if a is type(None):
            names.append("null")
        elif get_origin(a) is Literal:
            names.append(" or ".join(repr(c) for c in get_args(a)))
        else:
            names.append(getattr(a, "__name__", str(a)))
    return " or ".join(names)


def bounds(**kwargs: float) -> dict[str, Any]:
    """``field(metadata=bounds(ge=0))`` reads better than a bare metadata dict."""
    return dict(kwargs)


def to_plain(obj: Any) -> Any:
    """A dataclass tree as plain YAML/JSON-ready values (paths as strings)."""
    if hasattr(obj, "to_plain"):
        return obj.to_plain()
    if dataclasses.is_dataclass(obj):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj
