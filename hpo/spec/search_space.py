"""The search space: one ``Dimension`` per hyperparameter.

In a study file each dimension is written as one of
    learning_rate: {low: 1.0e-5, high: 1.0e-3, log: true}   # a float or int range
    scheduler: {choices: [linear, cosine]}                   # a categorical choice
    batch_size: 16                                           # fixed to one value
    warmup_ratio: null                                       # removed: the baseline value is used
Every trial passes the same parameter keys to the trainer (a removed or fixed dimension still
has its value), so runs line up column by column in the MLflow UI.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hpo.spec.errors import IssueCollector, join_path, suggest

SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant_with_warmup",
              "constant")
BALANCING = ("none", "downsample", "upsample", "weighted_loss")

# The field's usual defaults (seed text; issue 5): trial 0 of every study runs this, and a
# dimension that is removed from the search takes its value from here.
BASELINE: dict[str, Any] = {
    "learning_rate": 2e-5,
    "scheduler": "linear",
    "batch_size": 16,
    "weight_decay": 0.01,
    "balancing": "none",
    "lora_rank": 8,
    "warmup_ratio": 0.0,
    "lora_alpha": 16,
    "lora_dropout": 0.05,
    "epochs": 3,
}


@dataclass(frozen=True)
class Dimension:
    """One hyperparameter: fixed, a numeric range, or a categorical choice."""

    kind: str  # "fixed" | "float" | "int" | "categorical"
    value: Any = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def fixed(cls, value: Any) -> "Dimension":
        return cls("fixed", value=value)

    @classmethod
    def range(cls, low: float, high: float, log: bool = False, integer: bool = False,
              step: float | None = None) -> "Dimension":
        return cls("int" if integer else "float", low=low, high=high, log=log, step=step)

    @classmethod
    def categorical(cls, *choices: Any) -> "Dimension":
        return cls("categorical", choices=tuple(choices))

    @classmethod
    def from_raw(cls, raw: Any, path: str, out: IssueCollector, ctx: Any,
                 meta: Mapping[str, Any]) -> "Dimension | None":
        value_type = meta["value_type"]
        before = len(out)
        if isinstance(raw, Mapping):
            keys = set(raw)
            if "choices" in keys:
                _reject_extra(raw, {"choices"}, path, out)
                choices = raw["choices"]
                if not isinstance(choices, list) or not choices:
                    out.error(join_path(path, "choices"),
                              f"expected a non-empty list, got {choices!r}")
                    return None
                parsed = [_parse_scalar(c, join_path(path, f"choices[{i}]"), out, meta)
                          for i, c in enumerate(choices)]
                if len(set(map(repr, parsed))) != len(parsed):
                    out.error(join_path(path, "choices"), f"choices repeat a value: {choices!r}")
                dim = cls.categorical(*parsed)
            elif keys & {"low", "high"}:
                _reject_extra(raw, {"low", "high", "log", "step"}, path, out)
                if value_type is str:
                    out.error(path, "a range needs numbers; write {choices: [...]} instead")
                    return None
                for key in ("low", "high"):
                    if key not in raw:
                        out.error(join_path(path, key), "missing required key")
                if len(out) > before:
                    return None
                low = _parse_scalar(raw["low"], join_path(path, "low"), out, meta)
                high = _parse_scalar(raw["high"], join_path(path, "high"), out, meta)
                log = raw.get("log", False)
                if not isinstance(log, bool):
                    out.error(join_path(path, "log"), f"expected true or false, got {log!r}")
                step = raw.get("step")
                if len(out) > before:
                    return None
                if not low < high:
                    out.error(path, f"low must be < high, got low={low} high={high}")
                if log and low <= 0:
                    out.error(path, f"a log-scale range needs low > 0, got low={low}")
                if log and step is not None:
                    out.error(path, "step and log cannot be combined (Optuna samples either)")
                if step is not None and (isinstance(step, bool) or not isinstance(step, (int, float))
                                         or step <= 0):
                    out.error(join_path(path, "step"), f"expected a number > 0, got {step!r}")
                dim = cls.range(low, high, log=log, integer=value_type is int, step=step)
            else:
                out.error(path, "expected a value, {low: ..., high: ...} or {choices: [...]}, "
                                f"got keys {sorted(map(str, keys))}")
                return None
        elif isinstance(raw, list):
            out.error(path, f"write a choice as {{choices: {raw!r}}}; a bare list is ambiguous")
            return None
        else:
            dim = cls.fixed(_parse_scalar(raw, path, out, meta))
        return dim if len(out) == before else None

    # --- use ---------------------------------------------------------------------------------
    def suggest(self, trial: Any, name: str) -> Any:
        """Ask an Optuna trial for this dimension's value."""
        if self.kind == "fixed":
            return self.value
        if self.kind == "categorical":
            return trial.suggest_categorical(name, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(name, int(self.low), int(self.high), log=self.log,
                                     step=int(self.step or 1))
        return trial.suggest_float(name, self.low, self.high, log=self.log, step=self.step)

    def contains(self, value: Any) -> bool:
        if self.kind == "fixed":
            return value == self.value
        if self.kind == "categorical":
            return value in self.choices
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    @property
    def searched(self) -> bool:
        return self.kind != "fixed"

    def to_plain(self) -> Any:
        if self.kind == "fixed":
            return self.value
        if self.kind == "categorical":
            return {"choices": list(self.choices)}
        plain = {"low": self.low, "high": self.high, "log": self.log}
        if self.step is not None:
            plain["step"] = self.step
        return plain


def _reject_extra(raw: Mapping, allowed: set[str], path: str, out: IssueCollector) -> None:
    for key in raw:
        if key not in allowed:
            out.error(join_path(path, key),
                      f"unknown key{suggest(key, allowed)} (valid keys here: {', '.join(sorted(allowed))})")


def _parse_scalar(raw: Any, path: str, out: IssueCollector, meta: Mapping[str, Any]) -> Any:
    value_type = meta["value_type"]
    value: Any = raw
    if value_type is float:
        if isinstance(raw, str):
            try:  # YAML 1.1 reads 1e-5 as a string
                value = float(raw)
            except ValueError:
                value = None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            out.error(path, f"expected a number, got {raw!r}")
            return None
        value = float(value)
    elif value_type is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            out.error(path, f"expected an integer, got {raw!r}")
            return None
    elif value_type is str:
        if not isinstance(raw, str):
            out.error(path, f"expected a string, got {raw!r}")
            return None
    allowed = meta.get("allowed")
    if allowed is not None and value not in allowed:
        out.error(path, f"expected one of {', '.join(allowed)}, got {value!r}"
                        f"{suggest(value, allowed)}")
        return None
    for key, ok, symbol in (("ge", lambda v, b: v >= b, ">="), ("gt", lambda v, b: v > b, ">"),
                            ("le", lambda v, b: v <= b, "<="), ("lt", lambda v, b: v < b, "<")):
        if key in meta and not ok(value, meta[key]):
            out.error(path, f"must be {symbol} {meta[key]}, got {value!r}")
            return None
    return value


def _dim(default: Dimension, value_type: type, **rules: Any):
    return field(default=default, metadata={"value_type": value_type, **rules})


@dataclass(frozen=True)
class SearchSpec:
    """What each trial samples. Defaults are a small, sensible space for LoRA fine-tuning."""

    learning_rate: Dimension | None = _dim(Dimension.range(1e-5, 1e-3, log=True), float, gt=0)
    scheduler: Dimension | None = _dim(
        Dimension.categorical("linear", "cosine", "constant_with_warmup"), str, allowed=SCHEDULERS)
    batch_size: Dimension | None = _dim(Dimension.categorical(8, 16, 32), int, ge=1)
    weight_decay: Dimension | None = _dim(Dimension.range(0.0, 0.1), float, ge=0)
    balancing: Dimension | None = _dim(Dimension.categorical(*BALANCING), str, allowed=BALANCING)
    # 0 means full fine-tuning; any other value is the LoRA rank.
    lora_rank: Dimension | None = _dim(Dimension.categorical(4, 8, 16), int, ge=0)
    warmup_ratio: Dimension | None = _dim(Dimension.fixed(0.0), float, ge=0, lt=1)
    # Sampled only when lora_rank > 0 (conditional); null means alpha = 2 x rank.
    lora_alpha: Dimension | None = _dim(None, float, gt=0)
    lora_dropout: Dimension | None = _dim(Dimension.fixed(0.05), float, ge=0, lt=1)
    epochs: Dimension | None = _dim(Dimension.fixed(3), int, ge=1)

    def dimensions(self) -> dict[str, Dimension | None]:
        return {name: getattr(self, name) for name in BASELINE}

    def check(self) -> list[tuple[str, str]]:
        return []
